"""Progress of a long import on a terminal: bytes read, activities per second, time left.

Shown only when stderr is a terminal (a pipe or a log gets nothing), on one line redrawn
at most a few times a second. The bytes come from the operating system: the read offset of
the file in this process or its parsing child (Linux /proc), so no importer has to report.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

_REDRAW = 0.25  # seconds between redraws


def read_offset(path: Path, pid: int | None = None) -> int | None:
    """How far this process (or one of its children) has read into `path`; None if unknown."""
    target = os.path.realpath(path)
    pids = [pid or os.getpid()]
    try:
        for task in os.listdir(f"/proc/{pids[0]}/task"):
            with open(f"/proc/{pids[0]}/task/{task}/children", encoding="ascii") as fh:
                pids += [int(p) for p in fh.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            fds = os.listdir(f"/proc/{p}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{p}/fd/{fd}") != target:
                    continue
                with open(f"/proc/{p}/fdinfo/{fd}", encoding="ascii") as fh:
                    for line in fh:
                        if line.startswith("pos:"):
                            return int(line.split()[1])
            except (OSError, ValueError):
                continue
    return None


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _left(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class ImportProgress:
    """`update(path, records)` after each batch; `done()` clears the line."""

    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], float] = time.monotonic,
        offset: Callable[[Path], int | None] = read_offset,
    ) -> None:
        self.stream = stream
        self.on = bool(getattr(stream, "isatty", lambda: False)())
        self.clock, self.offset = clock, offset
        self._path: Path | None = None
        self._began = clock()  # the first file begins now; each next one when it appears
        self._drawn = 0.0
        self._width = 0

    def update(self, path: Path, records: int) -> None:
        if not self.on:
            return
        now = self.clock()
        if path != self._path:
            if self._path is not None:
                self._began = now
            self._path, self._drawn = path, 0.0
        if now - self._drawn < _REDRAW and self._drawn:
            return
        self._drawn = now
        elapsed = max(now - self._began, 1e-6)
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        done = self.offset(path)
        parts = [f"{path.name}:"]
        if done is not None and size:
            parts.append(f"{_size(done)} of {_size(size)} ({done / size:.0%}),")
        parts.append(f"{records:,} activities, {records / elapsed:,.0f}/s")
        if done and size and done < size:
            parts[-1] += ","
            parts.append(f"{_left(elapsed * (size - done) / done)} left")
        line = " ".join(parts)
        self.stream.write("\r" + line + " " * max(0, self._width - len(line)))
        self.stream.flush()
        self._width = len(line)

    def done(self) -> None:
        if self.on and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
