"""The documented JSON shape of an Activity, in and out (jsonl files, `--json` output)."""

from __future__ import annotations

from typing import Any

from cockpit.model import Activity, Kind
from cockpit.timeutil import parse_iso

_KNOWN = {
    "platform", "id", "kind", "ts", "channel", "channel_id", "author", "author_id",
    "author_handle", "text", "reply_to", "thread", "mentions", "attachments", "reactions",
    "edited_ts", "is_bot", "community", "extras", "deleted",
}  # fmt: skip
INT_MAX = 2**63 - 1  # what every store can hold
_KINDS = ", ".join(k.value for k in Kind)


def _str(obj: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ValueError(f"missing {key!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{key!r} must be a string, not {type(value).__name__}")
    return str(value)


def _int(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key!r} must be a non-negative integer")
    if value > INT_MAX:
        raise ValueError(f"{key!r} is out of range (at most {INT_MAX})")
    return value


def activity_from_json(obj: Any, community: str = "") -> Activity:
    """Build an Activity from its JSON shape; ValueError says what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    kind_text = _str(obj, "kind", required=True) or ""
    try:
        kind = Kind(kind_text)
    except ValueError:
        raise ValueError(f"unknown kind {kind_text!r} (expected one of {_KINDS})") from None
    ts_text = _str(obj, "ts", required=True) or ""
    try:
        ts = parse_iso(ts_text)
    except ValueError as exc:
        raise ValueError(f"'ts': {exc}") from None
    edited_text = _str(obj, "edited_ts")
    try:
        edited = parse_iso(edited_text) if edited_text else None
    except ValueError as exc:
        raise ValueError(f"'edited_ts': {exc}") from None
    mentions = obj.get("mentions") or []
    if not isinstance(mentions, list) or not all(isinstance(m, str | int) for m in mentions):
        raise ValueError("'mentions' must be a list of ids")
    extras = obj.get("extras") or {}
    if not isinstance(extras, dict):
        raise ValueError("'extras' must be an object")
    unknown = {k: v for k, v in obj.items() if k not in _KNOWN}
    if unknown:
        extras = {**extras, **unknown}
    text = _str(obj, "text") or ""
    author_id = _str(obj, "author_id", required=True) or ""
    channel = _str(obj, "channel") or _str(obj, "channel_id") or ""
    return Activity(
        platform=_str(obj, "platform", required=True) or "",
        source_id=_str(obj, "id", required=True) or "",
        kind=kind,
        ts=ts,
        channel=channel,
        channel_id=_str(obj, "channel_id") or channel,
        author=_str(obj, "author") or author_id,
        author_id=author_id,
        author_handle=_str(obj, "author_handle"),
        text=text,
        community=_str(obj, "community") or community,
        reply_to=_str(obj, "reply_to"),
        thread=_str(obj, "thread"),
        mentions=tuple(str(m) for m in mentions),
        attachments=_int(obj, "attachments"),
        reactions=_int(obj, "reactions"),
        edited_ts=edited,
        is_bot=bool(obj.get("is_bot", False)),
        extras=extras,
    )
