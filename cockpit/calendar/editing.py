"""The event form a planner fills in (the Calendar pane's add/edit dialog), checked into events.

Every field is text as typed, so one function can refuse a bad field with one line naming it,
whatever the surface. The start may be typed in any zone: a series keeps that zone as its own
(so its wall clock repeats there), and a one-occurrence edit is converted into the series' zone
(RFC 5545 keeps RECURRENCE-ID and the new start in the event's zone).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from cockpit.calendar.model import Event, EventKind, Occurrence, Override, TimeKind, new_uid
from cockpit.calendar.recurrence import RecurrenceError, check_rule
from cockpit.calendar.zones import get_zone, resolve
from cockpit.timeutil import parse_duration

START_FORMAT = "%Y-%m-%d %H:%M"
MAX_DURATION = timedelta(days=7)
FLOATING = "floating"  # typed in the zone field: the same wall clock everywhere
ALL_DAY = "all-day"

# Words a planner types instead of an RRULE; shown back as the word when the rule is one of them.
REPEAT_WORDS: dict[str, str] = {
    "daily": "FREQ=DAILY",
    "weekdays": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "weekly": "FREQ=WEEKLY",
    "fortnightly": "FREQ=WEEKLY;INTERVAL=2",
    "monthly": "FREQ=MONTHLY",
}


@dataclass(frozen=True, slots=True)
class Keep:
    """Keep what the event had (for fields where None is a value of its own)."""


KEEP = Keep()


@dataclass(frozen=True, slots=True)
class EventForm:
    """The dialog's fields, verbatim."""

    title: str
    start: str  # YYYY-MM-DD HH:MM (a date alone when the zone is all-day)
    zone: str  # an IANA zone, "floating" or "all-day"
    duration: str  # minutes, or 90m / 2h / 1d
    repeats: str = ""  # empty, one of REPEAT_WORDS, or an RRULE
    where: str = ""  # "discord #ama", "#ama" or "discord"
    host: str = ""
    regions: str = ""  # IANA zones separated by spaces or commas


@dataclass(frozen=True, slots=True)
class Checked:
    """A form that passed: the event to save and the gap/overlap note about its start."""

    event: Event
    note: str | None


def _kind(zone: str) -> TimeKind:
    word = zone.strip().lower()
    return {FLOATING: TimeKind.FLOATING, ALL_DAY: TimeKind.ALL_DAY}.get(word, TimeKind.ZONED)


def _zone(name: str, field: str = "zone") -> str:
    name = name.strip()
    try:
        get_zone(name)
    except (ValueError, OSError):
        raise ValueError(
            f"{field} {name[:60]!r}: not an IANA zone (e.g. Europe/Berlin), "
            f"{FLOATING!r} or {ALL_DAY!r}"
            if field == "zone"
            else f"{field} {name[:60]!r}: not an IANA zone (e.g. Asia/Tokyo)"
        ) from None
    return name


def _start(text: str, kind: TimeKind) -> datetime:
    raw = text.strip()
    if kind is TimeKind.ALL_DAY:
        try:
            return datetime.combine(date.fromisoformat(raw[:10]), time())
        except ValueError:
            raise ValueError(
                f"start {raw[:40]!r}: expected YYYY-MM-DD for an all-day event"
            ) from None
    try:
        return datetime.strptime(raw, START_FORMAT)
    except ValueError:
        raise ValueError(f"start {raw[:40]!r}: expected YYYY-MM-DD HH:MM") from None


def _duration(text: str, kind: TimeKind) -> timedelta:
    raw = text.strip()
    value: timedelta | None = None
    if raw.isascii() and raw.isdigit():
        value = timedelta(minutes=int(raw[:9]))
    else:
        with contextlib.suppress(ValueError):
            value = parse_duration(raw)
    if value is None or not timedelta(0) < value <= MAX_DURATION:
        raise ValueError(f"duration {raw[:20]!r}: minutes (e.g. 90) or 30m, 2h, 1d; at most 7 days")
    if kind is TimeKind.ALL_DAY and value % timedelta(days=1):
        raise ValueError(f"duration {raw[:20]!r}: an all-day event lasts whole days (1d, 2d)")
    return value


def _repeats(text: str) -> str | None:
    raw = text.strip()
    if not raw:
        return None
    rule = REPEAT_WORDS.get(raw.lower(), raw)
    try:
        return check_rule(rule)
    except (RecurrenceError, ValueError) as exc:
        words = ", ".join(REPEAT_WORDS)
        raise ValueError(f"repeats {raw[:40]!r}: {exc} (or one of: {words})") from None


def _where(text: str) -> tuple[str | None, str | None]:
    platform: str | None = None
    channel: str | None = None
    for word in text.split():
        if word.startswith("#") and len(word) > 1 and channel is None:
            channel = word[1:]
        elif not word.startswith("#") and platform is None:
            platform = word.lower()
        else:
            raise ValueError(f"where {text.strip()[:40]!r}: expected e.g. 'discord #ama'")
    return platform, channel


def _regions(text: str) -> tuple[str, ...]:
    names = [n for n in text.replace(",", " ").split() if n]
    return tuple(dict.fromkeys(_zone(n, "region") for n in names))


def _one_line(text: str, field: str) -> str:
    if "\n" in text or "\r" in text:
        raise ValueError(f"{field}: one line only")
    return text.strip()


def check_form(form: EventForm, community: str, base: Event | None = None) -> Checked:
    """The form as an event (a new one, or `base` changed); ValueError with one line otherwise."""
    title = _one_line(form.title, "title")
    if not title:
        raise ValueError("title: empty")
    kind = _kind(form.zone)
    start = _start(form.start, kind)
    tz_name = _zone(form.zone) if kind is TimeKind.ZONED else None
    duration = _duration(form.duration, kind)
    rule = _repeats(form.repeats)
    platform, channel = _where(form.where)
    event = assemble(
        base,
        community,
        title=title,
        start=start,
        duration=duration,
        tz=tz_name,
        time_kind=kind,
        rrule=rule,
        platform=platform,
        channel=channel,
        host=_one_line(form.host, "host") or None,
        regions=_regions(form.regions),
    )
    note = resolve(start, get_zone(tz_name), tz_name).note if tz_name else None
    return Checked(event, note)


def assemble(
    base: Event | None,
    community: str,
    *,
    title: str,
    start: datetime,
    duration: timedelta,
    tz: str | None,
    time_kind: TimeKind,
    rrule: str | None,
    platform: str | None,
    channel: str | None,
    host: str | None,
    regions: tuple[str, ...],
    description: str | None = None,
    reminders: tuple[timedelta, ...] | Keep | None = KEEP,
) -> Event:
    """A new event, or `base` changed: the one rule for the TUI's form and the CLI alike.

    A series keeps its one-occurrence edits and skipped dates only while its rule and its
    start stay the same (a new rule or start makes other occurrences, so they would point
    at dates that no longer occur); what is not given is kept from `base`.
    """
    keep_series = (
        base is not None and rrule is not None and rrule == base.rrule and base.start == start
    )
    return Event(
        uid=base.uid if base else new_uid(),
        title=title,
        start=start,
        duration=duration,
        tz=tz,
        time_kind=time_kind,
        kind=base.kind if base else EventKind.EVENT,
        rrule=rrule,
        exdates=base.exdates if base and keep_series else frozenset(),
        overrides=base.overrides if base and keep_series else (),
        community=base.community if base else community,
        platform=platform,
        channel=channel,
        host=host,
        regions=regions,
        description=description if description is not None else (base.description if base else ""),
        reminders=(base.reminders if base else None) if isinstance(reminders, Keep) else reminders,
        sequence=base.sequence if base else 0,
    )


def check_occurrence(form: EventForm, base: Event, recurrence_id: datetime) -> Checked:
    """One occurrence of a series changed (title, start, duration, host) as an override.

    The start may be typed in another zone; it is stored as the wall clock in the series' zone.
    """
    title = _one_line(form.title, "title")
    if not title:
        raise ValueError("title: empty")
    kind = _kind(form.zone)
    if kind is not base.time_kind:
        raise ValueError(f"zone {form.zone.strip()[:40]!r}: an occurrence keeps its series' kind")
    start = _start(form.start, kind)
    note = None
    if kind is TimeKind.ZONED and base.tz:
        typed = _zone(form.zone)
        at = resolve(start, get_zone(typed), typed)
        note = at.note
        start = at.utc.astimezone(get_zone(base.tz)).replace(tzinfo=None, fold=0)
    old = next((o for o in base.overrides if o.recurrence_id == recurrence_id), None)
    edit = Override(
        recurrence_id=recurrence_id,
        start=start,
        duration=_duration(form.duration, kind),
        title=None if title == base.title else title,
        host=_one_line(form.host, "host") or None,
        description=old.description if old else None,
    )
    return Checked(with_override(base, edit), note)


def with_override(event: Event, edit: Override) -> Event:
    """The series with one occurrence replaced by `edit` (an earlier edit of it dropped)."""
    kept = tuple(o for o in event.overrides if o.recurrence_id != edit.recurrence_id)
    return replace(event, overrides=(*kept, edit))


def without_occurrence(event: Event, recurrence_id: datetime) -> Event:
    """The series with one occurrence skipped (EXDATE) and any edit of it dropped."""
    kept = tuple(o for o in event.overrides if o.recurrence_id != recurrence_id)
    return replace(event, exdates=event.exdates | {recurrence_id}, overrides=kept)


def repeats_text(rule: str | None) -> str:
    if not rule:
        return ""
    words = {check_rule(v): k for k, v in REPEAT_WORDS.items()}
    try:
        return words.get(check_rule(rule), rule)
    except (RecurrenceError, ValueError):
        return rule


def form_of(event: Event, occurrence: Occurrence | None = None) -> EventForm:
    """The form prefilled from a stored event, or from one of its occurrences."""
    start = event.start
    duration = event.duration
    title = event.title
    host = event.host or ""
    if occurrence is not None:
        title, host = occurrence.title, occurrence.host or ""
        duration = occurrence.end - occurrence.start
        if event.time_kind is TimeKind.ZONED and event.tz:
            start = occurrence.start.astimezone(get_zone(event.tz)).replace(tzinfo=None)
        else:  # a wall clock with no zone of its own: the edit's, or the series instance's
            rid = occurrence.recurrence_id
            edited = next((o for o in event.overrides if o.recurrence_id == rid), None)
            start = edited.start if edited else rid
    zone = {TimeKind.FLOATING: FLOATING, TimeKind.ALL_DAY: ALL_DAY}.get(
        event.time_kind, event.tz or "UTC"
    )
    where = " ".join(
        x for x in (event.platform or "", f"#{event.channel}" if event.channel else "") if x
    )
    minutes = duration // timedelta(minutes=1)
    shown = (
        f"{duration // timedelta(days=1)}d" if event.time_kind is TimeKind.ALL_DAY else str(minutes)
    )
    return EventForm(
        title=title,
        start=start.strftime("%Y-%m-%d" if event.time_kind is TimeKind.ALL_DAY else START_FORMAT),
        zone=zone,
        duration=shown,
        repeats=repeats_text(event.rrule),
        where=where,
        host=host,
        regions=" ".join(event.regions),
    )
