"""Time is UTC inside, the viewer's zone outside: the conversions live here."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DURATION = re.compile(
    r"^\s*(?:\d+(?:\.\d+)?\s*(?:sec|min|s|m|h|d|w)\s*)+$", re.IGNORECASE
)  # one or more parts: "90s", "1h30m", "2d 4h"
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(sec|min|s|m|h|d|w)", re.IGNORECASE)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WHEN = re.compile(
    r"^\s*(today|yesterday|tomorrow|(mon|tue|wed|thu|fri|sat|sun)[a-z]*)(?:\s+(\d{1,2})(?::(\d{2}))?)?\s*$",
    re.IGNORECASE,
)
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
    """'90s', '15m', '2h', '7d', '1w', and sums of them: '1h30m', '2d 4h'."""
    if not _DURATION.match(value):
        raise ValueError(f"not a duration: {value!r} (expected e.g. 30s, 15m, 2h, 1h30m, 7d)")
    seconds = sum(float(n) * _UNITS[u.lower()] for n, u in _PART.findall(value))
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {value.strip()!r} is too long (at most 36525d, a century)")
    return timedelta(seconds=seconds)


def natural_time(value: str, now: datetime, tz: tzinfo, ahead: bool) -> datetime | None:
    """What people type for a moment: 'today', 'yesterday', 'tomorrow 9:00', 'thu', 'thu 15:00' (in `tz`):
    the start of that day (or that time on it), the last one past (`ahead`: the next one
    to come). Calendar arithmetic in the zone is pendulum's (week and day starts across a
    DST change). None when `value` is not such a phrase."""
    import pendulum

    match = _WHEN.match(value)
    if match is None:
        return None
    word, day, hour, minute = match.groups()
    h, m = int(hour or 0), int(minute or 0)
    if h > 23 or m > 59:
        raise ValueError(f"{value!r}: {h:02d}:{m:02d} is not a time of day")
    name = getattr(tz, "key", None) or "UTC"
    local = pendulum.instance(now).in_timezone(name)
    word = word.lower()
    if word == "today":
        base = local
    elif word == "yesterday":
        base = local.subtract(days=1)
    elif word == "tomorrow":
        base = local.add(days=1)
    else:
        if day.lower() not in _DAYS or word not in _DAY_NAMES[day.lower()]:
            return None
        shift = (_DAYS.index(day.lower()) - local.weekday()) % 7
        base = local.add(days=shift)
        at = base.start_of("day").replace(hour=h, minute=m)
        if ahead and at <= local:
            base = base.add(days=7)
        elif not ahead and at > local:
            base = base.subtract(days=7)
    at = base.start_of("day").replace(hour=h, minute=m)
    return datetime.fromtimestamp(at.timestamp(), UTC)


_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NAMES = {d: {d, full, full[:4], full[:5]} for d, full in zip(_DAYS, _FULL, strict=True)}


def parse_since(value: str, now: datetime | None = None, tz: tzinfo = UTC) -> datetime:
    """A `--since` value: a duration back from now ('1h30m'), a day ('yesterday', 'mon',
    'thu 15:00', local to `tz`), or a date/time (local to `tz` if naive)."""
    now = now or utcnow()
    if _DURATION.match(value):
        try:
            return now - parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"--since: {exc}") from None
    try:
        natural = natural_time(value, now, tz, ahead=False)
    except ValueError as exc:
        raise ValueError(f"--since {exc}") from None
    if natural is not None:
        return natural
    try:
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--since {value!r}: expected a duration (15m, 1h30m, 7d), a day (yesterday, "
            "thu 15:00) or a date/time (2024-05-01T12:00)"
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
