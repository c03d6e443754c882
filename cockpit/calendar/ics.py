"""`.ics` export and import (RFC 5545) through the icalendar library.

Export writes what Google Calendar, Apple Calendar and Thunderbird accept: UID, DTSTAMP,
DTSTART with TZID and a VTIMEZONE for every zone used (generated from zoneinfo, through
2100 at least), RRULE with UNTIL in UTC, EXDATE, and one VEVENT per edited occurrence
with its RECURRENCE-ID. Import reads our files and other calendars' (Windows zone names,
EXDATE in UTC against a zoned start); a malformed file is refused as a whole, naming the
file, the line and the component.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component, Timezone, vRecur
from icalendar import Event as VEvent
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from cockpit.calendar.model import Event, EventKind, Override, TimeKind
from cockpit.calendar.recurrence import RecurrenceError, check_rule, last_end, parse_rule
from cockpit.calendar.zones import get_zone, resolve, wall
from cockpit.errors import CockpitError

PRODID = "-//Community Cockpit//calendar//EN"
_LAST_TZ_YEAR = 2100  # VTIMEZONE transitions are listed through this year at least
_X = "X-COCKPIT-"


class IcsError(CockpitError):
    """An .ics file refused as a whole; the message names the file, line and component."""


# ------------------------------------------------------------------ export


def _zone_of(event: Event) -> ZoneInfo | None:
    return get_zone(event.tz) if event.time_kind is TimeKind.ZONED and event.tz else None


def _value(event: Event, naive: datetime) -> date | datetime:
    """A wall-clock time as the property value its kind needs (DATE, floating or TZID)."""
    if event.time_kind is TimeKind.ALL_DAY:
        return naive.date()
    tz = _zone_of(event)
    return naive.replace(tzinfo=tz) if tz is not None else naive


def _plain(naive: datetime, tz: tzinfo) -> bool:
    """A wall-clock time that occurs exactly once in its zone (not in a gap, not in a fold).

    Only such a time means the same instant to every reader: RFC 5545 says a twice-occurring
    time is the first, but ical.js (Thunderbird) reads the second, and readers differ on gaps.
    """
    return resolve(naive, tz).note is None


def _odd(event: Event, start: datetime, duration: timedelta) -> bool:
    """An instance other readers would place differently from us if written as wall clock.

    A start or end in a gap or fold, or an end with another UTC offset than the start: readers
    that add the duration on the wall clock (ical.js, ical) or read the other side of a fold
    would move it.
    """
    tz = _zone_of(event)
    if tz is None:
        return False
    begin = resolve(start, tz)
    end = begin.utc + duration
    return (
        begin.note is not None
        or begin.utc.astimezone(tz).utcoffset() != end.astimezone(tz).utcoffset()
        or not _plain(wall(end, tz), tz)
    )


def _span(
    event: Event, start: datetime, duration: timedelta
) -> tuple[date | datetime, date | datetime]:
    """DTSTART and DTEND of one instance: wall clock with TZID, or both as UTC instants when
    the instance is odd (so every reader sees the same start, end and length)."""
    tz = _zone_of(event)
    if tz is not None and _odd(event, start, duration):
        begin = resolve(start, tz).utc
        return begin, begin + duration
    return _value(event, start), _end_value(event, start, duration)


def _end_value(event: Event, start: datetime, duration: timedelta) -> date | datetime:
    """DTEND: the same exact duration for every instance (RFC 5545 3.8.5.3)."""
    if event.time_kind is TimeKind.ALL_DAY:
        return (start + duration).date()
    tz = _zone_of(event)
    if tz is None:
        return start + duration
    return (resolve(start, tz).utc + duration).astimezone(tz)


_IRREGULAR_YEARS = 10  # instances checked for DST oddities this far past the export


def _extra_date(event: Event, o: Override) -> bool:
    """An edit that stands for no rule instance and changes nothing: an RDATE."""
    return (
        o.recurrence_id == o.start
        and o.duration == event.duration
        and (o.title, o.host, o.description) == (None, None, None)
        and not _instance_of(event, o.recurrence_id)
    )


def _irregular(event: Event, stamp: datetime) -> list[datetime]:
    """Series instances (wall starts) other readers would place differently from us.

    An instance whose start is in a gap or fold, or whose exact end has another UTC offset
    than its start, is read differently by readers that add durations on the wall clock
    (ical.js, ical) or pick the other side of a fold; each gets an explicit edited VEVENT.
    """
    tz = _zone_of(event)
    if tz is None or not event.rrule:
        return []
    horizon = wall(stamp, tz) + timedelta(days=366 * _IRREGULAR_YEARS)
    edited = {o.recurrence_id for o in event.overrides}
    found: list[datetime] = []
    rule = parse_rule(event.rrule, event.start, tz)
    for count, instance in enumerate(rule.xafter(event.start, inc=True)):
        if instance > horizon or count > _MAX_INSTANCES:
            break
        if instance in event.exdates or instance in edited:
            continue
        if _odd(event, instance, event.duration):
            found.append(instance)
    return found


_MAX_INSTANCES = 100_000


def _export_rule(event: Event) -> vRecur:
    """The RRULE with UNTIL in UTC when the start has a zone (as RFC 5545 requires)."""
    assert event.rrule is not None
    rule = vRecur.from_ical(event.rrule)
    tz = _zone_of(event)
    until = rule.get("UNTIL")
    if until:
        value = until[0]
        if isinstance(value, datetime) and value.tzinfo is None and tz is not None:
            rule["UNTIL"] = [resolve(value, tz).utc]
        elif isinstance(value, datetime) and value.tzinfo is not None and tz is None:
            rule["UNTIL"] = [value.replace(tzinfo=None)]
    return rule  # type: ignore[no-any-return]


def _vevent(event: Event, stamp: datetime) -> VEvent:
    ve = VEvent()
    ve.add("UID", event.uid)
    ve.add("DTSTAMP", stamp)
    ve.add("SEQUENCE", event.sequence)
    ve.add("SUMMARY", event.title)
    if event.rrule:
        # the series keeps its zone; odd instances (the first too) get their own VEVENT
        ve.add("DTSTART", _value(event, event.start))
        if _odd(event, event.start, event.duration):
            ve.add("DURATION", event.duration)
        else:
            ve.add("DTEND", _end_value(event, event.start, event.duration))
    else:
        start, end = _span(event, event.start, event.duration)
        ve.add("DTSTART", start)
        ve.add("DTEND", end)
        if event.tz and isinstance(start, datetime) and start.tzinfo is UTC:
            ve.add(_X + "TZ", event.tz)  # written in UTC for other readers; the zone is kept
    if event.description:
        ve.add("DESCRIPTION", event.description)
    where = " ".join(x for x in (event.platform, f"#{event.channel}" if event.channel else "") if x)
    if where:
        ve.add("LOCATION", where)
    if event.rrule:
        ve.add("RRULE", _export_rule(event))
    if event.exdates:
        ve.add("EXDATE", [_value(event, x) for x in sorted(event.exdates)])
    extra = sorted(o.start for o in event.overrides if _extra_date(event, o))
    if extra:
        ve.add("RDATE", [_value(event, x) for x in extra])
    if event.kind is EventKind.SHIFT:
        ve.add("CATEGORIES", ["Moderator shift"])
        ve.add("TRANSP", "OPAQUE")
    ve.add(_X + "KIND", event.kind.value)
    ve.add(_X + "COMMUNITY", event.community)
    for key, value in (
        ("PLATFORM", event.platform),
        ("CHANNEL", event.channel),
        ("HOST", event.host),
        ("REGIONS", ",".join(event.regions)),
    ):
        if value:
            ve.add(_X + key, value)
    if event.reminders is not None:
        ve.add(_X + "REMINDERS", ",".join(str(int(r.total_seconds())) for r in event.reminders))
    return ve


def _override_vevent(event: Event, o: Override, stamp: datetime) -> VEvent:
    ve = VEvent()
    ve.add("UID", event.uid)
    ve.add("DTSTAMP", stamp)
    ve.add("SEQUENCE", event.sequence)
    ve.add("RECURRENCE-ID", _value(event, o.recurrence_id))
    ve.add("SUMMARY", o.title if o.title is not None else event.title)
    start, end = _span(event, o.start, o.duration)
    ve.add("DTSTART", start)
    ve.add("DTEND", end)
    description = o.description if o.description is not None else event.description
    if description:
        ve.add("DESCRIPTION", description)
    if o.host is not None:
        ve.add(_X + "HOST", o.host)
    return ve


def export_ics(events: Iterable[Event], stamp: datetime, name: str = "Community Cockpit") -> bytes:
    """One VCALENDAR holding the events (and shifts), their edits and their zones."""
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("X-WR-CALNAME", name)
    stamp = stamp.astimezone(UTC).replace(microsecond=0)
    zones: dict[str, tuple[date, date]] = {}
    body: list[VEvent] = []
    for event in events:
        body.append(_vevent(event, stamp))
        body.extend(
            _override_vevent(event, o, stamp) for o in event.overrides if not _extra_date(event, o)
        )
        body.extend(
            _override_vevent(event, Override(w, w, event.duration), stamp)
            for w in _irregular(event, stamp)
        )
        if event.tz and event.time_kind is TimeKind.ZONED and event.tz != "UTC":
            starts = [event.start, *(o.start for o in event.overrides)]
            first = min(starts).date() - timedelta(days=366)
            end = last_end(event)
            last_year = max(_LAST_TZ_YEAR, (end.year + 2) if end is not None else 0)
            known = zones.get(event.tz)
            lo = min(first, known[0]) if known else first
            hi = max(date(min(last_year, 9998), 1, 1), known[1]) if known else date(last_year, 1, 1)
            zones[event.tz] = (lo, hi)
    for tz_name, (lo, hi) in sorted(zones.items()):
        cal.add_component(Timezone.from_tzinfo(get_zone(tz_name), tz_name, lo, hi))
    for ve in body:
        cal.add_component(ve)
    out: bytes = cal.to_ical()
    return out


# ------------------------------------------------------------------ import


@dataclass
class IcsImport:
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Layout:
    """Where each component and property sits in the file, for error messages."""

    components: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # name -> spans
    lines: list[tuple[int, str]] = field(default_factory=list)  # (line number, unfolded)


_NAME = re.compile(r"^([A-Za-z0-9-]+)[;:]")


def _layout(text: str, origin: str) -> _Layout:
    """Unfold lines and check BEGIN/END nesting, refusing a truncated or garbled file early."""
    lay = _Layout()
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw[:1] in (" ", "\t") and lay.lines:
            n, prev = lay.lines[-1]
            lay.lines[-1] = (n, prev + raw[1:])
        elif raw.strip():
            lay.lines.append((number, raw))
    if not lay.lines or lay.lines[0][1].strip().upper() != "BEGIN:VCALENDAR":
        where = lay.lines[0][0] if lay.lines else 1
        raise IcsError(f"{origin}: line {where}: not an iCalendar file (expected BEGIN:VCALENDAR)")
    stack: list[tuple[str, int]] = []
    for number, line in lay.lines:
        key, _, value = line.partition(":")
        key = key.strip().upper()
        if key == "BEGIN":
            stack.append((value.strip().upper(), number))
        elif key == "END":
            name = value.strip().upper()
            if not stack or stack[-1][0] != name:
                expected = f"END:{stack[-1][0]}" if stack else "nothing more"
                raise IcsError(f"{origin}: line {number}: END:{name} where {expected} was due")
            comp, begun = stack.pop()
            lay.components.setdefault(comp, []).append((begun, number))
            if not stack and number != lay.lines[-1][0]:
                after = next(n for n, _ in lay.lines if n > number)
                raise IcsError(f"{origin}: line {after}: content after END:VCALENDAR")
        elif not _NAME.match(line) and stack:
            raise IcsError(f"{origin}: line {number}: not an iCalendar content line")
    if stack:
        comp, begun = stack[-1]
        raise IcsError(f"{origin}: the file ends inside {comp} (begun at line {begun}): truncated?")
    for spans in lay.components.values():
        spans.sort()
    return lay


def _prop_line(lay: _Layout, span: tuple[int, int], prop: str | None) -> int:
    if prop:
        for number, line in lay.lines:
            if span[0] <= number <= span[1] and line.upper().startswith((prop + ";", prop + ":")):
                return number
    return span[0]


def _zone_name(prop: Any, value: datetime) -> str:
    """The IANA name behind a zoned DTSTART: IANA, Windows names, or UTC."""
    tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
    tz = value.tzinfo
    if isinstance(tz, ZoneInfo) and tz.key:
        return "UTC" if tz.key in ("UTC", "Etc/UTC", "Etc/GMT", "GMT") else tz.key
    if tz is UTC or (tz is not None and tz.utcoffset(value) == timedelta(0) and not tzid):
        return "UTC"
    if tzid:
        clean = str(tzid).strip().strip("/")
        for candidate in (clean, WINDOWS_TO_OLSON.get(clean, "")):
            if candidate:
                try:
                    get_zone(candidate)
                    return candidate
                except ValueError:
                    pass
    raise ValueError(f"time zone {str(tzid or tz)!r} is neither an IANA nor a Windows zone name")


def _to_wall(value: date | datetime, tz_name: str | None, anchor: datetime) -> datetime:
    """An EXDATE or RECURRENCE-ID as a wall-clock time in the event's zone."""
    if not isinstance(value, datetime):
        return datetime.combine(value, anchor.time())
    if value.tzinfo is None:
        return value
    tz: tzinfo = get_zone(tz_name) if tz_name else UTC
    return wall(value, tz)


def _dates(comp: Component, name: str) -> list[date | datetime]:
    found = comp.get(name)
    if found is None:
        return []
    lists = found if isinstance(found, list) else [found]
    return [d.dt for item in lists for d in item.dts]


def _master(comp: Component, community: str, calendar_tz: str | None = None) -> Event:
    start_prop = comp.get("DTSTART")
    if start_prop is None:
        raise ValueError("no DTSTART")
    start = start_prop.dt
    tz_name: str | None = None
    if (
        calendar_tz
        and isinstance(start, datetime)
        and start.tzinfo is None
        and not start_prop.params.get("TZID")
    ):
        # Google Calendar writes floating times and names their zone in X-WR-TIMEZONE: a
        # weekly 18:00 Berlin event stays 18:00 in Berlin across DST
        start = start.replace(tzinfo=get_zone(calendar_tz))
    if isinstance(start, datetime):
        if start.tzinfo is not None:
            tz_name = _text(comp, _X + "TZ") or _zone_name(start_prop, start)
            kind = TimeKind.ZONED
            wall_start = wall(start, get_zone(tz_name))
        elif start_prop.params.get("TZID"):
            raise ValueError(f"unknown time zone {start_prop.params['TZID']!r} (no VTIMEZONE)")
        else:
            kind, wall_start = TimeKind.FLOATING, start
    elif isinstance(start, date):
        kind, wall_start = TimeKind.ALL_DAY, datetime.combine(start, time())
    else:
        raise ValueError("DTSTART is neither a date nor a date-time")
    duration = _duration(comp, start, kind, calendar_tz if kind is TimeKind.ZONED else None)
    rules = comp.get("RRULE")
    if isinstance(rules, list):
        raise ValueError("more than one RRULE")
    rule = check_rule(rules.to_ical().decode()) if rules is not None else None
    if rule and kind is TimeKind.ZONED and "UNTIL=" in rule:
        until = rules["UNTIL"][0] if rules is not None else None
        if isinstance(until, datetime) and until.tzinfo is None:
            raise ValueError("RRULE UNTIL must be in UTC (…Z) when DTSTART has a zone")
    exdates = frozenset(_to_wall(x, tz_name, wall_start) for x in _dates(comp, "EXDATE"))
    # RDATE: extra instances, kept as edits that stand for no rule instance
    extra = tuple(
        Override(d, d, duration)
        for d in sorted({_to_wall(x, tz_name, wall_start) for x in _dates(comp, "RDATE")})
        if d != wall_start and d not in exdates
    )
    regions = tuple(r for r in str(comp.get(_X + "REGIONS", "")).split(",") if r)
    for r in regions:
        get_zone(r)
    reminders_raw = comp.get(_X + "REMINDERS")
    reminders = (
        tuple(timedelta(seconds=int(s)) for s in str(reminders_raw).split(",") if s.strip())
        if reminders_raw is not None
        else None
    )
    platform = _text(comp, _X + "PLATFORM")
    channel = _text(comp, _X + "CHANNEL")
    kind_x = _text(comp, _X + "KIND")
    return Event(
        uid=str(comp.get("UID")),
        title=_text(comp, "SUMMARY") or "(no title)",
        start=wall_start,
        duration=duration,
        tz=tz_name,
        time_kind=kind,
        kind=EventKind.SHIFT if kind_x == EventKind.SHIFT.value else EventKind.EVENT,
        rrule=rule,
        exdates=exdates,
        community=_text(comp, _X + "COMMUNITY") or community,
        platform=platform,
        channel=channel,
        host=_text(comp, _X + "HOST"),
        regions=regions,
        description=_text(comp, "DESCRIPTION") or "",
        reminders=reminders,
        sequence=int(comp.get("SEQUENCE", 0)),
        overrides=extra,
    )


def _text(comp: Component, name: str) -> str | None:
    value = comp.get(name)
    return str(value) if value is not None and str(value) != "" else None


def _duration(
    comp: Component, start: date | datetime, kind: TimeKind, floating_zone: str | None = None
) -> timedelta:
    end_prop = comp.get("DTEND")
    if end_prop is not None:
        end = end_prop.dt
        if (
            floating_zone
            and isinstance(end, datetime)
            and end.tzinfo is None
            and isinstance(start, datetime)
            and start.tzinfo is not None
        ):
            end = end.replace(tzinfo=get_zone(floating_zone))  # X-WR-TIMEZONE, as the start
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise ValueError("DTSTART and DTEND are not both dates or both date-times")
        if isinstance(start, datetime) and isinstance(end, datetime):
            if (start.tzinfo is None) != (end.tzinfo is None):
                raise ValueError("DTSTART and DTEND mix floating and zoned times")
            delta = (
                end - start if start.tzinfo is None else end.astimezone(UTC) - start.astimezone(UTC)
            )
        else:
            delta = timedelta(days=(end - start).days)
        if delta < timedelta(0):
            raise ValueError("DTEND is before DTSTART")
        return delta
    dur = comp.get("DURATION")
    if dur is not None:
        value = dur.dt
        if not isinstance(value, timedelta) or value < timedelta(0):
            raise ValueError("DURATION is not a positive duration")
        return value
    return timedelta(days=1) if kind is TimeKind.ALL_DAY else timedelta(0)


def _override(comp: Component, master: Event) -> Override | None:
    """An edited occurrence; None when it cancels the occurrence (an EXDATE then)."""
    rid = _to_wall(comp.get("RECURRENCE-ID").dt, master.tz, master.start)
    if str(comp.get("STATUS", "")).upper() == "CANCELLED":
        return None
    start_prop = comp.get("DTSTART")
    start_value = start_prop.dt if start_prop is not None else None
    if start_value is None:
        start = rid
    elif isinstance(start_value, datetime) and start_value.tzinfo is not None:
        start = wall(start_value, get_zone(master.tz) if master.tz else UTC)
    else:
        start = _to_wall(start_value, master.tz, master.start)
    duration = (
        _duration(comp, start_value, master.time_kind)
        if start_value is not None
        else master.duration
    )
    if start_value is not None and comp.get("DTEND") is None and comp.get("DURATION") is None:
        duration = master.duration
    title, description = _text(comp, "SUMMARY"), _text(comp, "DESCRIPTION")
    return Override(
        recurrence_id=rid,
        start=start,
        duration=duration,
        title=None if title == master.title else title,  # the same as the series: inherited
        host=_text(comp, _X + "HOST"),
        description=None if (description or "") == master.description else description,
    )


def _instance_of(event: Event, wall_start: datetime) -> bool:
    """Whether the series' rule itself makes an instance at this wall-clock start."""
    if not event.rrule:
        return wall_start == event.start
    tz = _zone_of(event)
    rule = parse_rule(event.rrule, event.start, tz)
    return bool(rule.between(wall_start, wall_start, inc=True))


def _unchanged(master: Event, edit: Override) -> bool:
    """An edited instance that says exactly what the series says (our export writes one for
    each instance whose wall clock other readers would misplace)."""
    if (edit.title, edit.host, edit.description) != (None, None, None):
        return False
    if not _instance_of(master, edit.recurrence_id):
        return False  # an extra date (RDATE), not a spelled-out instance
    if edit.duration != master.duration:
        return False
    if edit.start == edit.recurrence_id:
        return True
    tz = _zone_of(master)
    return tz is not None and resolve(edit.start, tz).utc == resolve(edit.recurrence_id, tz).utc


def import_ics(data: bytes, origin: str, community: str) -> IcsImport:
    """Events (with their edits) from an .ics file, or IcsError naming what and where."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IcsError(f"{origin}: not UTF-8 text (byte {exc.start})") from None
    lay = _layout(text, origin)
    try:
        cal = Calendar.from_ical(text)
    except ValueError as exc:
        line = _find_bad_line(lay, str(exc))
        raise IcsError(f"{origin}: line {line}: {exc}") from None
    if isinstance(cal, list):
        raise IcsError(f"{origin}: more than one VCALENDAR in one file")
    calendar_tz = _text(cal, "X-WR-TIMEZONE")
    if calendar_tz:
        try:
            calendar_tz = _zone_name(None, datetime(2000, 1, 1, tzinfo=get_zone(calendar_tz)))
        except ValueError:
            clean = WINDOWS_TO_OLSON.get(calendar_tz.strip())
            if clean is None:
                raise IcsError(
                    f"{origin}: X-WR-TIMEZONE {calendar_tz!r} is neither an IANA nor a Windows zone"
                ) from None
            calendar_tz = clean
    result = IcsImport()
    spans = lay.components.get("VEVENT", [])
    vevents = list(cal.walk("VEVENT"))
    masters: dict[str, Event] = {}
    order: list[str] = []
    pending: list[tuple[Component, tuple[int, int]]] = []
    for index, comp in enumerate(vevents):
        span = spans[index] if index < len(spans) else (1, 1)
        uid = str(comp.get("UID", "")).strip()
        where = f"{origin}: line {span[0]}: VEVENT {index + 1}" + (f" ({uid})" if uid else "")
        if comp.errors:
            prop, message = comp.errors[0]
            line = _prop_line(lay, span, prop)
            what = f"VEVENT {index + 1}" + (f" {prop}" if prop else "")
            raise IcsError(f"{origin}: line {line}: {what}: {message}")
        if not uid:
            raise IcsError(f"{where}: no UID")
        if comp.get("RECURRENCE-ID") is not None:
            pending.append((comp, span))
            continue
        try:
            event = _master(comp, community, calendar_tz)
        except (ValueError, RecurrenceError) as exc:
            raise IcsError(f"{where}: {exc}") from None
        if uid in masters:
            raise IcsError(f"{where}: UID {uid!r} appears twice without RECURRENCE-ID")
        masters[uid] = event
        order.append(uid)
    for comp, span in pending:
        uid = str(comp.get("UID")).strip()
        where = f"{origin}: line {span[0]}: VEVENT ({uid}, RECURRENCE-ID)"
        master = masters.get(uid)
        if master is None:
            result.warnings.append(
                f"{where}: an edited occurrence of an event not in the file; skipped"
            )
            continue
        try:
            edit = _override(comp, master)
        except (ValueError, AttributeError) as exc:
            raise IcsError(f"{where}: {exc}") from None
        if edit is None:
            rid = _to_wall(comp.get("RECURRENCE-ID").dt, master.tz, master.start)
            masters[uid] = replace(master, exdates=master.exdates | {rid})
        elif _unchanged(master, edit):
            continue  # an instance spelled out for other readers (a DST oddity), not an edit
        else:
            kept = tuple(o for o in master.overrides if o.recurrence_id != edit.recurrence_id)
            masters[uid] = replace(master, overrides=(*kept, edit))
    result.events = [masters[u] for u in order]
    return result


def _find_bad_line(lay: _Layout, message: str) -> int:
    """The line a library error is about, found by the value it quotes (else line 1)."""
    for token in re.findall(r"[+-]?\d{4,}|'[^']+'", message):
        needle = token.strip("'")
        for number, line in lay.lines:
            if needle and needle in line:
                return number
    return 1


def events_sorted(events: Sequence[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.start, e.uid))
