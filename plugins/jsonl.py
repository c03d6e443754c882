"""Newline-delimited Activities: the universal adapter for anything not supported yet.

As an importer it reads a `.jsonl` file once; as a source it follows the file like
`tail -f`, resuming from the byte offset stored with the records it covers.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
from pydantic import BaseModel, ConfigDict, Field

from cockpit.errors import CockpitError, ImportRefused
from cockpit.jsonshape import activity_from_json
from cockpit.model import Quarantined, Record
from cockpit.plugin_api import ImportContext, Plugin, Sink, SourceContext, SourceType

_RAW_LIMIT = 4096
_CHUNK = 4 * 1024 * 1024


def parse_line(raw: bytes, lineno: int, origin: str, community: str) -> Record | None:
    """One line to a record; blank lines are skipped, bad ones quarantined."""
    stripped = raw.strip()
    if not stripped:
        return None
    try:
        return activity_from_json(orjson.loads(stripped), community)
    except orjson.JSONDecodeError as exc:
        reason = f"not valid JSON: {exc}"
    except ValueError as exc:
        reason = str(exc)
    text = stripped[:_RAW_LIMIT].decode("utf-8", "replace")
    return Quarantined("jsonl", origin, f"line {lineno}", reason, text)


class JsonlImporter:
    name = "jsonl"
    platform = "jsonl"
    description = "newline-delimited Activity JSON (.jsonl)"

    def sniff(self, path: Path, head: bytes) -> bool:
        if not path.is_file():
            return False
        for line in head.splitlines()[:5]:
            line = line.strip()
            if not line:
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                return False
            return isinstance(obj, dict) and "platform" in obj and "kind" in obj and "ts" in obj
        return False

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        origin = path.name
        with path.open("rb") as fh:
            offset = 0
            for lineno, raw in enumerate(fh, start=1):
                complete = raw.endswith(b"\n")
                rec = parse_line(raw, lineno, origin, ctx.community)
                if not complete and isinstance(rec, Quarantined):
                    raise ImportRefused(
                        "file ends in the middle of a record (truncated?)",
                        f"line {lineno}, byte {offset}",
                    )
                offset += len(raw)
                if rec is not None:
                    yield rec


class JsonlSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1, description="the .jsonl file, relative to the config file")
    follow: bool = True
    poll_interval: float = Field(0.5, gt=0, le=60)
    batch: int = Field(2000, ge=1, le=100_000)


def _parse_cursor(value: str | None) -> tuple[int | None, int, int]:
    if not value:
        return None, 0, 0
    try:
        inode, offset, line = (int(part) for part in value.split(":"))
    except ValueError:
        return None, 0, 0
    return inode, offset, line


def _read_lines(path: Path, offset: int, limit: int) -> tuple[list[bytes], int]:
    """Complete lines from `offset` on, at most about `limit` bytes; returns them and bytes consumed."""
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read(limit)
    end = data.rfind(b"\n")
    if end < 0:
        return [], 0
    return data[: end + 1].splitlines(keepends=True), end + 1


class JsonlSource:
    """Follows a file of Activities; the cursor is `inode:offset:line` of what is stored."""

    def __init__(
        self,
        settings: JsonlSettings,
        ctx: SourceContext,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.name = ctx.name
        self.settings = settings
        self.community = ctx.community
        path = Path(settings.path).expanduser()
        self.path = path if path.is_absolute() else ctx.config_dir / path
        self._sleep = sleep or asyncio.sleep

    async def run(self, sink: Sink) -> None:
        key = f"jsonl:{self.name}"
        inode, offset, line = _parse_cursor(await sink.get_cursor(key))
        while True:
            try:
                st = await asyncio.to_thread(os.stat, self.path)
            except FileNotFoundError:
                if not self.settings.follow:
                    raise CockpitError(
                        f"{self.path}: no such file (source {self.name!r})"
                    ) from None
                await self._pause()
                continue
            if inode is not None and (st.st_ino != inode or st.st_size < offset):
                offset, line = 0, 0  # rotated or truncated: start the new file from the top
            inode = st.st_ino
            if st.st_size > offset:
                lines, consumed = await asyncio.to_thread(_read_lines, self.path, offset, _CHUNK)
                if consumed:
                    records: list[Record] = []
                    for raw in lines:
                        line += 1
                        offset += len(raw)
                        rec = parse_line(raw, line, self.path.name, self.community)
                        if rec is not None:
                            records.append(rec)
                        if len(records) >= self.settings.batch:
                            await sink.write(records, cursor=(key, f"{inode}:{offset}:{line}"))
                            records = []
                    await sink.write(records, cursor=(key, f"{inode}:{offset}:{line}"))
                    continue
            if not self.settings.follow:
                return
            await self._pause()

    async def _pause(self) -> None:
        result = self._sleep(self.settings.poll_interval)
        if asyncio.iscoroutine(result):
            await result


def _create(settings: BaseModel, ctx: SourceContext) -> JsonlSource:
    assert isinstance(settings, JsonlSettings)
    return JsonlSource(settings, ctx)


plugin = Plugin(
    name="jsonl",
    description="newline-delimited Activities: import a file, or follow one like tail -f",
    importers=[JsonlImporter()],
    sources={"jsonl": SourceType("jsonl", JsonlSettings, _create)},
)
