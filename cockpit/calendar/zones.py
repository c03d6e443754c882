"""Wall-clock times in IANA zones, resolved by RFC 5545's rules, and told when they are odd."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from cockpit.timeutil import localize, zone


@dataclass(frozen=True, slots=True)
class Resolved:
    """A wall-clock time placed on the UTC line, with a note when it was not plain."""

    utc: datetime
    note: str | None = None


@lru_cache(maxsize=512)
def get_zone(name: str) -> ZoneInfo:
    """A cached IANA zone; ValueError naming the zone when it is unknown."""
    return zone(name)


def resolve(naive: datetime, tz: tzinfo, tz_name: str = "") -> Resolved:
    """Place a wall-clock time: twice-occurring means the first, missing means the offset before.

    The note says what happened so the planner can be told (a nonexistent time moves).
    """
    utc = localize(naive, tz)
    back = utc.astimezone(tz).replace(tzinfo=None)
    name = tz_name or str(tz)
    if back != naive:
        return Resolved(
            utc,
            f"{naive:%Y-%m-%d %H:%M} does not exist in {name} (the clocks skip it); "
            f"read with the offset before the gap: {back:%Y-%m-%d %H:%M}",
        )
    first = naive.replace(tzinfo=tz, fold=0).utcoffset()
    second = naive.replace(tzinfo=tz, fold=1).utcoffset()
    if first != second:
        return Resolved(
            utc,
            f"{naive:%Y-%m-%d %H:%M} occurs twice in {name} (the clocks go back); "
            f"the first one is meant (UTC{_offset(first)})",
        )
    return Resolved(utc)


def wall(utc: datetime, tz: tzinfo) -> datetime:
    """The naive wall-clock time an instant shows in a zone."""
    return utc.astimezone(tz).replace(tzinfo=None)


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def offset_label(utc: datetime, tz: tzinfo) -> str:
    """'UTC+05:45' for the offset a zone has at an instant."""
    return "UTC" + _offset(utc.astimezone(tz).utcoffset())


def day_marker(local_day: date, reference_day: date) -> str:
    """'+1' / '-1' when a local date differs from the reference date ('' when it is the same)."""
    diff = (local_day - reference_day).days
    return "" if diff == 0 else f"{diff:+d}"


def local_label(utc: datetime, tz: tzinfo, reference: tzinfo = UTC) -> str:
    """'Thu 17:00' or 'Fri 02:00 (+1)' against the day the instant has in `reference`."""
    local = utc.astimezone(tz)
    marker = day_marker(local.date(), utc.astimezone(reference).date())
    return f"{local:%a %H:%M}" + (f" ({marker})" if marker else "")


def region_name(tz_name: str) -> str:
    """'America/Los_Angeles' -> 'Los Angeles' for compact columns."""
    return tz_name.rsplit("/", 1)[-1].replace("_", " ")
