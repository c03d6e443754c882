"""Follow a file of newline-delimited Activities like `tail -F`.

It resumes from the byte offset stored with the records it covers. The file is held open:
when the path is renamed away (rotation by rename and create) the old file is read to its end
before the new one is read from its top, and a collector restarted after a rotation finds the
old file beside the new one by its inode. A file cut shorter than the offset (copytruncate) is
read again from its top. A line is read with a limit: one longer than `max_line` is
quarantined with a bounded raw copy, and the lines after it go on.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from pydantic import BaseModel, ConfigDict, Field

from cockpit.model import Record
from cockpit.plugin_api import Sink, SourceContext, SourceType
from cockpit.plugin_kit import CockpitError

from .lines import MAX_LINE, parse_read, read_line

log = logging.getLogger(__name__)


class JsonlSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1, description="the .jsonl file, relative to the config file")
    follow: bool = True
    poll_interval: float = Field(0.5, gt=0, le=60)
    batch: int = Field(2000, ge=1, le=100_000)
    max_line: int = Field(
        MAX_LINE, ge=1024, le=64 * 1_048_576, description="bytes of one line at most"
    )


def _parse_cursor(value: str | None) -> tuple[int | None, int, int]:
    if not value:
        return None, 0, 0
    try:
        inode, offset, line = (int(part) for part in value.split(":"))
    except ValueError:
        return None, 0, 0
    return inode, offset, line


def _read_batch(
    fh: BinaryIO,
    limit: int,
    max_line: int,
    first_line: int,
    origin: str,
    community: str,
    final: bool,
) -> tuple[list[Record], int, int, bool]:
    """Up to `limit` lines from the file's position: (records, bytes, lines, at the end).

    A partial last line is left for later unless `final` (a rotated file that will not grow).
    """
    records: list[Record] = []
    consumed = 0
    lines = 0
    while lines < limit:
        start = fh.tell()
        head, size, complete = read_line(fh, max_line)
        if not head or (not complete and not final):
            fh.seek(start)
            return records, consumed, lines, True
        lines += 1
        consumed += size
        rec = parse_read(head, size, first_line + lines, origin, community, max_line)
        if rec is not None:
            records.append(rec)
    return records, consumed, lines, False


def _find_by_inode(path: Path, dev: int, inode: int) -> Path | None:
    """The rotated file (renamed beside the path) that has this inode, if it is there."""
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return None
    for entry in entries:
        if not entry.name.startswith(path.name) or entry.name == path.name:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if st.st_ino == inode and st.st_dev == dev:
            return Path(entry.path)
    return None


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
        self._key = f"jsonl:{self.name}"

    async def run(self, sink: Sink) -> None:
        inode, offset, line = _parse_cursor(await sink.get_cursor(self._key))
        fh: BinaryIO | None = None
        try:
            while True:
                if fh is None:
                    try:
                        fh = await asyncio.to_thread(self.path.open, "rb")
                    except FileNotFoundError:
                        if not self.settings.follow:
                            raise CockpitError(
                                f"{self.path}: no such file (source {self.name!r})"
                            ) from None
                        await self._pause()
                        continue
                    st = os.fstat(fh.fileno())
                    if inode is not None and st.st_ino != inode:
                        # rotated while we were away: the old file may sit beside the new one
                        await self._drain_rotated(sink, st.st_dev, inode, offset, line)
                        offset, line = 0, 0
                    elif st.st_size < offset:
                        offset, line = 0, 0  # cut shorter: a new file from the top
                    inode = st.st_ino
                    fh.seek(offset)
                assert inode is not None  # set whenever a file is held
                offset, line, at_end = await self._read(sink, fh, inode, offset, line, False)
                if not at_end:
                    continue
                # at the end of what we hold: was the path rotated or the file truncated?
                try:
                    path_st: os.stat_result | None = await asyncio.to_thread(os.stat, self.path)
                except FileNotFoundError:
                    path_st = None
                own = os.fstat(fh.fileno())
                if path_st is None or path_st.st_ino != own.st_ino:
                    # renamed away (or removed): what was written to it before, read to its end
                    while True:
                        offset, line, at_end = await self._read(sink, fh, inode, offset, line, True)
                        if at_end:
                            break
                    fh.close()
                    fh = None
                    if path_st is None:
                        inode, offset, line = None, 0, 0  # removed: the next file from its top
                    else:
                        inode, offset, line = path_st.st_ino, 0, 0
                        await sink.write([], cursor=(self._key, f"{inode}:0:0"))
                    continue
                if own.st_size < offset:
                    log.warning(
                        "%s was truncated at byte %d (copytruncate?): reading it from its top",
                        self.path,
                        offset,
                    )
                    offset, line = 0, 0
                    fh.seek(0)
                    continue
                if not self.settings.follow:
                    return
                await self._pause()
        finally:
            if fh is not None:
                fh.close()

    async def _read(
        self, sink: Sink, fh: BinaryIO, inode: int, offset: int, line: int, final: bool
    ) -> tuple[int, int, bool]:
        records, consumed, lines, at_end = await asyncio.to_thread(
            _read_batch,
            fh,
            self.settings.batch,
            self.settings.max_line,
            line,
            self.path.name,
            self.community,
            final,
        )
        if lines:
            offset += consumed
            line += lines
            await sink.write(records, cursor=(self._key, f"{inode}:{offset}:{line}"))
        return offset, line, at_end

    async def _drain_rotated(
        self, sink: Sink, dev: int, inode: int, offset: int, line: int
    ) -> None:
        old = await asyncio.to_thread(_find_by_inode, self.path, dev, inode)
        if old is None:
            log.warning(
                "%s was replaced and the file read before is gone: reading the new one",
                self.path,
            )
            return
        log.info("%s was rotated to %s: reading it to its end first", self.path, old.name)
        with old.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size < offset:
                return
            fh.seek(offset)
            while True:
                offset, line, at_end = await self._read(sink, fh, inode, offset, line, True)
                if at_end:
                    return

    async def _pause(self) -> None:
        result = self._sleep(self.settings.poll_interval)
        if asyncio.iscoroutine(result):
            await result


def _create(settings: BaseModel, ctx: SourceContext) -> JsonlSource:
    assert isinstance(settings, JsonlSettings)
    return JsonlSource(settings, ctx)


SOURCE = SourceType("jsonl", JsonlSettings, _create)
