"""Import a file of newline-delimited Activities once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from cockpit.model import Quarantined, Record
from cockpit.plugin_api import ImportContext
from cockpit.plugin_kit import ImportRefused

from .lines import BOM, MAX_LINE, PLATFORM, parse_read, read_line


class JsonlImporter:
    name = "jsonl"
    platform = PLATFORM
    description = "newline-delimited Activity JSON (.jsonl)"

    def sniff(self, path: Path, head: bytes) -> bool:
        if not path.is_file():
            return False
        if head.startswith(BOM):
            head = head[len(BOM) :]
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
            lineno = 0
            while True:
                head, size, complete = read_line(fh, MAX_LINE)
                if not head:
                    return
                lineno += 1
                rec = parse_read(head, size, lineno, origin, ctx.community, MAX_LINE)
                if not complete and isinstance(rec, Quarantined):
                    raise ImportRefused(
                        "file ends in the middle of a record (truncated?)",
                        f"line {lineno}, byte {offset}",
                    )
                offset += size
                if rec is not None:
                    yield rec
