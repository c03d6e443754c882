"""Moderator shifts: recurring duty in the moderator's own zone, coverage, who is on call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from cockpit.calendar.model import Event, EventKind, Occurrence, TimeKind, new_uid
from cockpit.calendar.slots import hour_of_week
from cockpit.calendar.zones import get_zone

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_SETS = {"weekdays": "MO,TU,WE,TH,FR", "weekends": "SA,SU", "daily": ",".join(DAYS)}


def parse_days(text: str) -> list[str]:
    """'weekdays', 'daily', 'MO,WE,FR' -> RFC 5545 BYDAY codes."""
    raw = _DAY_SETS.get(text.strip().lower(), text)
    days = [d.strip().upper()[:2] for d in raw.split(",") if d.strip()]
    bad = [d for d in days if d not in DAYS]
    if bad or not days:
        raise ValueError(f"days {text!r}: expected weekdays, weekends, daily or e.g. MO,WE,FR")
    return days


def parse_hours(text: str) -> tuple[time, time]:
    """'09:00-17:00' (an end at or before the start runs past midnight)."""
    try:
        a, b = (part.strip() for part in text.split("-", 1))
        start, end = time.fromisoformat(a), time.fromisoformat("00:00" if b == "24:00" else b)
    except ValueError:
        raise ValueError(f"hours {text!r}: expected HH:MM-HH:MM, e.g. 09:00-17:00") from None
    return start, end


def shift_event(
    moderator: str,
    tz: str,
    hours: str,
    days: str,
    since: date,
    community: str = "default",
    uid: str | None = None,
) -> Event:
    """A weekly recurring shift: `hours` on `days`, wall-clock in the moderator's zone."""
    get_zone(tz)
    start_t, end_t = parse_hours(hours)
    codes = parse_days(days)
    first = since
    while DAYS[first.weekday()] not in codes:
        first += timedelta(days=1)
    start = datetime.combine(first, start_t)
    end = datetime.combine(first, end_t)
    if end <= start:
        end += timedelta(days=1)
    # the duration is the wall-clock span on a normal day; a DST night is an hour off, as in life
    return Event(
        uid=uid or new_uid(),
        title=f"On call: {moderator}",
        start=start,
        duration=end - start,
        tz=tz,
        time_kind=TimeKind.ZONED,
        kind=EventKind.SHIFT,
        rrule="FREQ=WEEKLY;BYDAY=" + ",".join(codes),
        community=community,
        host=moderator,
    )


def on_call(shifts: Sequence[Occurrence], now: datetime) -> list[Occurrence]:
    """Shift occurrences running at `now` (who escalation can page)."""
    return [o for o in shifts if o.event.kind is EventKind.SHIFT and o.start <= now < o.end]


@dataclass(frozen=True, slots=True)
class CoverageHour:
    start: datetime  # UTC
    moderators: tuple[str, ...]  # on duty during some part of the hour
    covered: float  # share of the hour with at least one moderator on duty
    members: int  # members usually active in this hour of the week


def gaps(
    shifts: Sequence[Occurrence], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Intervals in [start, end) when nobody is on duty."""
    spans = sorted(
        (max(o.start, start), min(o.end, end)) for o in shifts if o.end > start and o.start < end
    )
    out: list[tuple[datetime, datetime]] = []
    cursor = start
    for s, e in spans:
        if s > cursor:
            out.append((cursor, s))
        cursor = max(cursor, e)
    if cursor < end:
        out.append((cursor, end))
    return out


def coverage(
    shifts: Sequence[Occurrence],
    start: datetime,
    hours: int = 168,
    presence: dict[int, int] | None = None,
) -> list[CoverageHour]:
    """One row per hour from `start`: who is on duty and how many members are usually about.

    `presence` maps hour of week (Monday 00:00 UTC = 0) to a bitset of members.
    """
    end = start + timedelta(hours=hours)
    uncovered = gaps(shifts, start, end)
    rows: list[CoverageHour] = []
    for i in range(hours):
        h0 = start + timedelta(hours=i)
        h1 = h0 + timedelta(hours=1)
        names = sorted({o.host or "?" for o in shifts if o.start < h1 and o.end > h0})
        gap = sum(
            ((min(e, h1) - max(s, h0)).total_seconds() for s, e in uncovered if s < h1 and e > h0),
            0.0,
        )
        bits = (presence or {}).get(hour_of_week(h0), 0)
        rows.append(CoverageHour(h0, tuple(names), round(1 - gap / 3600, 3), bits.bit_count()))
    return rows
