"""Follow a file of newline-delimited Activities like `tail -f`.

It resumes from the byte offset stored with the records it covers, and starts the file
afresh when it was rotated or truncated.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cockpit.model import Record
from cockpit.plugin_api import Sink, SourceContext, SourceType
from cockpit.plugin_kit import CockpitError

from .lines import parse_line

_CHUNK = 4 * 1024 * 1024


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


SOURCE = SourceType("jsonl", JsonlSettings, _create)
