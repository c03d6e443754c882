"""Time is UTC inside, the viewer's zone outside: the conversions live here."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.IGNORECASE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
# Durations and times outside these bounds are refused where they are typed: past them the
# arithmetic overflows (datetime stops at year 9999, SQLite integers at 2**63) deep inside.
MAX_DURATION = timedelta(days=36525)  # a century
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


Clock = Callable[[], datetime]  # what "now" is: utcnow, or a frozen clock in tests


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_ms(ts: datetime) -> int:
    """Milliseconds since the epoch; the store's time column."""
    if ts.tzinfo is None:
        raise ValueError("naive datetime: times must carry a zone")
    return (ts - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def iso_z(ts: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as every JSON output carries times."""
    ts = ts.astimezone(UTC)
    if ts.microsecond:
        return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 time that carries an offset (or Z); refuse naive times."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    ts = datetime.fromisoformat(text)
    if ts.tzinfo is None:
        raise ValueError(f"time {value!r} carries no zone offset")
    return _utc(ts, value)


def _utc(ts: datetime, value: str) -> datetime:
    """`ts` in UTC, or a ValueError when the conversion leaves the calendar (year 1..9999)."""
    try:
        return ts.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"time {value!r} is out of range") from None


def check_time(ts: datetime, what: str) -> datetime:
    """`ts` if it lies in the years the cockpit handles (1900-2999), else a ValueError naming `what`."""
    if not EARLIEST <= ts < LATEST:
        raise ValueError(f"{what}: out of range (expected a time between the years 1900 and 2999)")
    return ts


def parse_duration(value: str) -> timedelta:
    """'90s', '15m', '2h', '7d', '1w'."""
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"not a duration: {value!r} (expected e.g. 30s, 15m, 2h, 7d, 1w)")
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {value.strip()!r} is too long (at most 36525d, a century)")
    return timedelta(seconds=seconds)


def parse_since(value: str, now: datetime | None = None, tz: tzinfo = UTC) -> datetime:
    """A `--since` value: a duration back from now, or a date/time (local to `tz` if naive)."""
    now = now or utcnow()
    if _DURATION.match(value):
        try:
            return now - parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"--since: {exc}") from None
    try:
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--since {value!r}: expected a duration (15m, 2h, 7d) or a date/time (2024-05-01T12:00)"
        ) from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=tz)
    try:
        utc = _utc(ts, value)
    except ValueError:
        utc = LATEST  # past the calendar's end: refused just below, with the option's name
    return check_time(utc, f"--since {value!r}")


def zone(name: str) -> ZoneInfo:
    """An IANA zone by name, with an error that says which name was wrong."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: absurdly long names
        raise ValueError(
            f"unknown time zone {name!r} (expected an IANA name such as Europe/Berlin)"
        ) from None


def localize(naive: datetime, tz: tzinfo) -> datetime:
    """Attach a zone to a wall-clock time by RFC 5545's rule.

    A time that occurs twice means the first occurrence (fold=0); a time that does not
    exist is read with the offset before the gap, which is what fold=0 gives in zoneinfo.
    """
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def age(ms: int, now: int) -> str:
    """'45s', '12m', '5h', '3d': how long ago (both in ms), in at most four cells."""
    s = max(0, (now - ms) // 1000)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def format_duration(span: timedelta) -> str:
    """A duration as written in cockpit.toml: 90s, 10m, 1h30m, 7d."""
    seconds = int(span.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts[:2])
