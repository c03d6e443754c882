"""Expanding events into occurrences: RRULE on wall-clock times in the event's own zone.

Calendar-day arithmetic, not 24-hour arithmetic: the rule runs on naive local times
(dateutil), and each instance is then placed on the UTC line by RFC 5545's rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

from dateutil.rrule import rrule, rrulestr

from cockpit.calendar.model import Event, Occurrence, Override, TimeKind
from cockpit.calendar.zones import get_zone, resolve, wall

_MARGIN = timedelta(days=2)  # the widest UTC offset spread, with room to spare
_MAX_EXPANSION = 100_000  # instances walked per query: a guard against FREQ=SECONDLY
MAX_COUNT = 10_000  # COUNT beyond this is refused: a daily rule for 27 years
MAX_INTERVAL = 1_000
FREQS = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_BYDAY = re.compile(r"^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
# RFC 5545 3.3.10: each BYxxx part's allowed values (signed parts count from the end)
_RANGES: dict[str, tuple[int, int, bool]] = {
    "BYSECOND": (0, 60, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


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


def _ints(key: str, value: str, rule: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",")]
    except ValueError:
        raise RecurrenceError(f"RRULE {rule!r}: {key}={value}: expected numbers") from None


def _check_parts(text: str, rule: str) -> dict[str, str]:
    """RFC 5545's ranges for each part, so that no rule can spin, flood or never occur.

    dateutil takes INTERVAL=0 (loops for ever), COUNT=-1 and BYMONTH=13 (never occurs),
    and walks SECONDLY rules second by second: all of these are refused here.
    """
    parts: dict[str, str] = {}
    for raw in text.split(";"):
        if not raw.strip():
            continue
        key, eq, value = raw.partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if not eq or not value:
            raise RecurrenceError(f"RRULE {rule!r}: {raw.strip()!r} is not NAME=VALUE")
        if key in parts:
            raise RecurrenceError(f"RRULE {rule!r}: {key} appears twice")
        if len(value) > 2000 or value.count(",") > 400:
            raise RecurrenceError(f"RRULE {rule!r}: {key} is too long")
        parts[key] = value
    freq = parts.get("FREQ")
    if freq in ("SECONDLY", "MINUTELY"):
        raise RecurrenceError(
            f"RRULE {rule!r}: FREQ={freq}: an event repeats at most hourly (FREQ=HOURLY)"
        )
    if freq not in FREQS:
        raise RecurrenceError(f"RRULE {rule!r}: FREQ must be one of {', '.join(FREQS)}")
    for key, low, high in (("INTERVAL", 1, MAX_INTERVAL), ("COUNT", 1, MAX_COUNT)):
        if key in parts:
            value = parts[key]
            if not value.isdigit() or not low <= int(value) <= high:
                raise RecurrenceError(
                    f"RRULE {rule!r}: {key}={value}: expected a whole number from {low} to {high}"
                )
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceError(f"RRULE {rule!r}: COUNT and UNTIL cannot both be given")
    for key, (low, high, signed) in _RANGES.items():
        if key not in parts:
            continue
        for n in _ints(key, parts[key], rule):
            if not (low <= abs(n) <= high if signed and n < 0 else low <= n <= high):
                span = f"{low} to {high}" + (f" or -{high} to -{low}" if signed else "")
                raise RecurrenceError(f"RRULE {rule!r}: {key}={parts[key]}: expected {span}")
    if "BYWEEKNO" in parts and freq != "YEARLY":
        raise RecurrenceError(f"RRULE {rule!r}: BYWEEKNO needs FREQ=YEARLY")
    if "BYYEARDAY" in parts and freq in ("DAILY", "WEEKLY", "MONTHLY"):
        raise RecurrenceError(f"RRULE {rule!r}: BYYEARDAY needs FREQ=HOURLY or YEARLY")
    if "BYMONTHDAY" in parts and freq == "WEEKLY":
        raise RecurrenceError(f"RRULE {rule!r}: BYMONTHDAY cannot go with FREQ=WEEKLY")
    for item in parts.get("BYDAY", "").split(",") if "BYDAY" in parts else []:
        m = _BYDAY.match(item)
        if not m:
            raise RecurrenceError(f"RRULE {rule!r}: BYDAY={parts['BYDAY']}: {item!r} is not a day")
        if m.group(2) is not None:
            if freq not in ("MONTHLY", "YEARLY") or "BYWEEKNO" in parts:
                raise RecurrenceError(
                    f"RRULE {rule!r}: BYDAY={item}: a numbered day needs FREQ=MONTHLY or YEARLY"
                )
            if not 1 <= int(m.group(2)) <= (5 if freq == "MONTHLY" or "BYMONTH" in parts else 53):
                raise RecurrenceError(f"RRULE {rule!r}: BYDAY={item}: the number is out of range")
    if "WKST" in parts and parts["WKST"] not in _DAYS:
        raise RecurrenceError(f"RRULE {rule!r}: WKST={parts['WKST']}: expected MO to SU")
    if "BYMONTHDAY" in parts:
        longest = max(
            _MONTH_DAYS[m - 1] for m in _ints("BYMONTH", parts.get("BYMONTH", "1,3"), rule)
        )
        if all(abs(d) > longest for d in _ints("BYMONTHDAY", parts["BYMONTHDAY"], rule)):
            raise RecurrenceError(
                f"RRULE {rule!r}: BYMONTHDAY={parts['BYMONTHDAY']} never falls in "
                f"BYMONTH={parts.get('BYMONTH')}"
            )
    if "BYSETPOS" in parts:
        per_period = 1
        for key in {
            "HOURLY": ("BYMINUTE", "BYSECOND"),
            "DAILY": ("BYHOUR", "BYMINUTE", "BYSECOND"),
        }.get(freq, ()):
            per_period *= len(parts[key].split(",")) if key in parts else 1
        if freq in ("HOURLY", "DAILY") and any(
            abs(n) > per_period for n in _ints("BYSETPOS", parts["BYSETPOS"], rule)
        ):
            raise RecurrenceError(
                f"RRULE {rule!r}: BYSETPOS={parts['BYSETPOS']}: each period has only "
                f"{per_period} instance{'s' if per_period > 1 else ''}"
            )
    return parts


def _never_occurs(parts: dict[str, str]) -> bool:
    """True when the rule's day filters match no day at all.

    Such a rule (BYYEARDAY=60;BYMONTH=1, BYWEEKNO=1;BYMONTH=6) makes dateutil walk to the
    year 9999 looking for an instance on every listing. The probe walks yearly, with the
    day numbers dropped from BYDAY, so it only ever accepts more than the rule, never less.
    """
    days = {
        k: v for k, v in parts.items() if k in ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO")
    }
    if "BYDAY" in parts:
        days["BYDAY"] = ",".join(sorted({d[-2:] for d in parts["BYDAY"].split(",")}))
    if not days:
        return False
    probe = "FREQ=YEARLY;" + ";".join(f"{k}={v}" for k, v in days.items())
    # dateutil walks to the year 9999 when nothing matches: about 0.4 s, once, at input
    first = rrulestr(probe, dtstart=datetime(2000, 1, 1))
    return next(iter(first), None) is None


def check_rule(rule: str) -> str:
    """Validate an RRULE typed by a user or read from a file; returns it normalised."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "\n" in text:
        raise RecurrenceError(f"RRULE {rule!r}: one rule per event")
    parts = _check_parts(text, rule)
    parse_rule(text, datetime(2000, 1, 1), None)
    if _never_occurs(parts):
        raise RecurrenceError(f"RRULE {rule!r}: no day ever matches it")
    ordered = [p.strip().upper() for p in text.split(";") if p.strip()]
    return ";".join(sorted(ordered, key=lambda p: _ORDER.get(p.partition("=")[0], len(_ORDER))))


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
    try:
        _check_parts(event.rrule, event.rrule)
    except RecurrenceError:
        # stored before rules were checked (INTERVAL=0 spins dateutil for ever): the first
        # instance still shows, the series is not expanded
        if lo <= event.start <= hi:
            yield event.start
        return
    rule = parse_rule(event.rrule, _anchor(event, lo), tz)
    for count, start in enumerate(rule.xafter(lo, inc=True)):
        if start > hi or count > _MAX_EXPANSION:
            return
        yield start


_STEPS = {"HOURLY": timedelta(hours=1), "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1)}


def _anchor(event: Event, lo: datetime) -> datetime:
    """A start for the rule's expansion shortly before `lo`, in whole periods from the real one.

    dateutil walks every instance from DTSTART, so an hourly rule begun years ago cost
    seconds per listing. Moving DTSTART by whole INTERVALs of a fixed-length period
    (wall-clock hours, days, weeks) keeps every instance and the rule's defaults
    (minute, hour, weekday) the same; a rule with COUNT must be walked from its start.
    """
    assert event.rrule is not None
    parts = dict(p.partition("=")[::2] for p in event.rrule.upper().split(";"))
    step = _STEPS.get(parts.get("FREQ", ""))
    if step is None or "COUNT" in parts or lo <= event.start:
        return event.start
    step *= int(parts.get("INTERVAL", "1") or 1)
    periods = (lo - event.start) // step - 1
    return event.start + step * periods if periods > 0 else event.start


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
