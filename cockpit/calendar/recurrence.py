"""Expanding events into occurrences: RRULE on wall-clock times in the event's own zone.

Calendar-day arithmetic, not 24-hour arithmetic: the rule runs on naive local times
(dateutil), and each instance is then placed on the UTC line by RFC 5545's rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

from dateutil.rrule import rrule, rrulestr

from cockpit.calendar.model import Event, Occurrence, Override, TimeKind
from cockpit.calendar.zones import get_zone, resolve, wall

_MARGIN = timedelta(days=2)  # the widest UTC offset spread, with room to spare
_MAX_EXPANSION = 100_000  # instances walked per query: a guard against FREQ=SECONDLY


# the order icalendar writes rule parts in, so a rule reads back exactly as it was written
_ORDER = {
    k: i
    for i, k in enumerate(
        [
            "RSCALE",
            "FREQ",
            "UNTIL",
            "COUNT",
            "INTERVAL",
            "BYSECOND",
            "BYMINUTE",
            "BYHOUR",
            "BYDAY",
            "BYWEEKDAY",
            "BYMONTHDAY",
            "BYYEARDAY",
            "BYWEEKNO",
            "BYMONTH",
            "BYSETPOS",
            "WKST",
            "SKIP",
        ]
    )
}


class RecurrenceError(ValueError):
    """An RRULE we cannot use; the message says what is wrong with it."""


def _until_to_wall(rule: str, tz: tzinfo | None) -> str:
    """RFC 5545 writes UNTIL in UTC for a zoned start; dateutil wants it like DTSTART (naive)."""
    parts = []
    for part in rule.split(";"):
        key, _, value = part.partition("=")
        if key.strip().upper() == "UNTIL":
            value = value.strip()
            if value.upper().endswith("Z"):
                try:
                    moment = datetime.strptime(value[:-1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
                except ValueError:
                    raise RecurrenceError(f"UNTIL={value}: expected YYYYMMDDTHHMMSSZ") from None
                local = wall(moment, tz) if tz is not None else moment.replace(tzinfo=None)
                value = local.strftime("%Y%m%dT%H%M%S")
            elif len(value) == 8:
                value += "T235959"  # a date: the whole day is included
            part = f"UNTIL={value}"
        parts.append(part)
    return ";".join(parts)


def parse_rule(rule: str, start: datetime, tz: tzinfo | None) -> rrule:
    """A dateutil rrule over naive wall-clock times from `start`."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text or "FREQ=" not in text.upper():
        raise RecurrenceError(f"RRULE {rule!r}: FREQ is required (e.g. FREQ=WEEKLY;BYDAY=TH)")
    if "\n" in text:
        raise RecurrenceError(f"RRULE {rule!r}: one rule per event")
    try:
        parsed = rrulestr(_until_to_wall(text, tz), dtstart=start, ignoretz=True)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecurrenceError(f"RRULE {rule!r}: {exc}") from None
    if not isinstance(parsed, rrule):
        raise RecurrenceError(f"RRULE {rule!r}: one rule per event")
    return parsed


def check_rule(rule: str) -> str:
    """Validate an RRULE typed by a user or read from a file; returns it normalised."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parse_rule(text, datetime(2000, 1, 1), None)
    parts = [p.strip().upper() for p in text.split(";") if p.strip()]
    return ";".join(sorted(parts, key=lambda p: _ORDER.get(p.partition("=")[0], len(_ORDER))))


def event_zone(event: Event, viewer: tzinfo) -> tuple[tzinfo, str]:
    """The zone an event's wall clock is read in: its own, or the viewer's when floating."""
    if event.time_kind is TimeKind.ZONED and event.tz:
        return get_zone(event.tz), event.tz
    return viewer, str(viewer)


def _wall_starts(event: Event, tz: tzinfo, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """Series instances (naive wall times) that may start between `lo` and `hi`."""
    if not event.rrule:
        if lo <= event.start <= hi:
            yield event.start
        return
    rule = parse_rule(event.rrule, event.start, tz)
    for count, start in enumerate(rule.xafter(lo, inc=True)):
        if start > hi or count > _MAX_EXPANSION:
            return
        yield start


def _place(
    event: Event, wall_start: datetime, duration: timedelta, tz: tzinfo, name: str
) -> tuple[datetime, datetime, str | None]:
    """UTC start and end of an instance; an all-day end is the next midnight(s), not +24h."""
    placed = resolve(wall_start, tz, name)
    if event.time_kind is TimeKind.ALL_DAY:
        end = resolve(wall_start + duration, tz, name).utc
        return placed.utc, end, None
    return placed.utc, placed.utc + duration, placed.note


def occurrences(
    event: Event, start: datetime, end: datetime, viewer: tzinfo = UTC
) -> list[Occurrence]:
    """Instances of `event` overlapping [start, end), oldest first.

    Floating and all-day events are read in `viewer`'s zone. An instance whose start
    lands on the same instant as the one before (a skipped day such as Apia's 2011-12-30)
    is kept once.
    """
    tz, name = event_zone(event, viewer)
    lo = wall(start, tz) - event.duration - _MARGIN
    hi = wall(end, tz) + _MARGIN
    overrides = {o.recurrence_id: o for o in event.overrides}
    found: list[Occurrence] = []
    for instance in _wall_starts(event, tz, lo, hi):
        if instance in event.exdates or instance in overrides:
            continue
        s, e, note = _place(event, instance, event.duration, tz, name)
        if (e > start and s < end) or (s == e and start <= s < end):
            found.append(
                Occurrence(
                    event, instance, s, e, event.title, event.host, event.description, note=note
                )
            )
    for o in overrides.values():
        if o.recurrence_id in event.exdates:
            continue
        s, e, note = _place(event, o.start, o.duration, tz, name)
        if (e > start and s < end) or (s == e and start <= s < end):
            found.append(_edited(event, o, s, e, note))
    found.sort(key=lambda occ: (occ.start, occ.recurrence_id))
    unique: list[Occurrence] = []
    for occ in found:
        if unique and unique[-1].start == occ.start and not occ.edited:
            continue
        unique.append(occ)
    return unique


def _edited(event: Event, o: Override, s: datetime, e: datetime, note: str | None) -> Occurrence:
    return Occurrence(
        event,
        o.recurrence_id,
        s,
        e,
        o.title if o.title is not None else event.title,
        o.host if o.host is not None else event.host,
        o.description if o.description is not None else event.description,
        edited=True,
        note=note,
    )


def last_end(event: Event, viewer: tzinfo = UTC) -> datetime | None:
    """When the last instance ends (UTC, +2 days slack for floating times); None if never."""
    tz, name = event_zone(event, viewer)
    ends: list[datetime] = []
    if event.rrule:
        rule = parse_rule(event.rrule, event.start, tz)
        if not any(k in event.rrule.upper() for k in ("COUNT=", "UNTIL=")):
            return None
        last = None
        for count, instance in enumerate(rule):
            last = instance
            if count > _MAX_EXPANSION:
                return None
        if last is not None:
            ends.append(_place(event, last, event.duration, tz, name)[1])
    else:
        ends.append(_place(event, event.start, event.duration, tz, name)[1])
    for o in event.overrides:
        ends.append(_place(event, o.start, o.duration, tz, name)[1])
    if not ends:
        return None
    slack = _MARGIN if event.time_kind is not TimeKind.ZONED else timedelta(0)
    return max(ends) + slack


def first_start(event: Event, viewer: tzinfo = UTC) -> datetime:
    """When the first instance (or an earlier moved one) starts; slack for floating times."""
    tz, name = event_zone(event, viewer)
    starts = [resolve(event.start, tz, name).utc]
    starts += [resolve(o.start, tz, name).utc for o in event.overrides]
    slack = _MARGIN if event.time_kind is not TimeKind.ZONED else timedelta(0)
    return min(starts) - slack
