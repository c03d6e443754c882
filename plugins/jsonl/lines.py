"""One line of a .jsonl file as a record (the Activity JSON shape of `feed --json`)."""

from __future__ import annotations

import orjson

from cockpit.model import Quarantined, Record
from cockpit.plugin_kit import activity_from_json, raw_bytes

PLATFORM = "jsonl"


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
    return Quarantined(PLATFORM, origin, f"line {lineno}", reason, raw_bytes(stripped))
