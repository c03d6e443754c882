"""One line of a .jsonl file as a record (the Activity JSON shape of `feed --json`)."""

from __future__ import annotations

from typing import BinaryIO

import orjson

from cockpit.model import Quarantined, Record
from cockpit.plugin_kit import activity_from_json, raw_bytes

PLATFORM = "jsonl"
BOM = b"\xef\xbb\xbf"
MAX_LINE = 1_048_576  # bytes of one record; a longer line is quarantined, never held whole
_SKIP = 65_536


def parse_line(raw: bytes, lineno: int, origin: str, community: str) -> Record | None:
    """One line to a record; blank lines are skipped, bad ones quarantined."""
    stripped = raw.strip()
    if lineno == 1 and stripped.startswith(BOM):
        stripped = stripped[len(BOM) :].strip()
    if not stripped:
        return None
    try:
        return activity_from_json(orjson.loads(stripped), community)
    except orjson.JSONDecodeError as exc:
        reason = f"not valid JSON: {exc}"
    except ValueError as exc:
        reason = str(exc)
    return Quarantined(PLATFORM, origin, f"line {lineno}", reason, raw_bytes(stripped))


def read_line(fh: BinaryIO, max_line: int = MAX_LINE) -> tuple[bytes, int, bool]:
    """The next line with at most `max_line + 1` bytes of it held: (head, bytes, complete).

    `complete` is False when the file ends before a newline (nothing to consume yet). A head
    longer than `max_line` that does not end in a newline is an over-long line, read past in
    bounded chunks; `too_long` tells it.
    """
    head = fh.readline(max_line + 1)
    size = len(head)
    if not head or head.endswith(b"\n"):
        return head, size, bool(head)
    if size <= max_line:
        return head, size, False
    while True:
        chunk = fh.readline(_SKIP)
        size += len(chunk)
        if chunk.endswith(b"\n"):
            return head, size, True
        if not chunk:
            return head, size, False


def too_long(head: bytes, max_line: int = MAX_LINE) -> bool:
    return len(head) > max_line and not head.endswith(b"\n")


def overlong_record(head: bytes, size: int, lineno: int, origin: str, max_line: int) -> Quarantined:
    return Quarantined(
        PLATFORM,
        origin,
        f"line {lineno}",
        f"line of {size} bytes is longer than the limit of {max_line} bytes",
        raw_bytes(head),
    )


def parse_read(
    head: bytes, size: int, lineno: int, origin: str, community: str, max_line: int = MAX_LINE
) -> Record | None:
    """A line from `read_line` as a record (an over-long one quarantined)."""
    if too_long(head, max_line):
        return overlong_record(head, size, lineno, origin, max_line)
    return parse_line(head, lineno, origin, community)
