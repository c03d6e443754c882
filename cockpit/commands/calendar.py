"""`cockpit calendar`: upcoming events across zones; add, edit, delete, export, import, suggest,
moderator shifts and reminders."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path

from cockpit.calendar.config import CalendarSettings
from cockpit.calendar.conflicts import find_conflicts
from cockpit.calendar.editing import KEEP, assemble, with_override, without_occurrence
from cockpit.calendar.ics import export_ics, import_ics
from cockpit.calendar.model import Event, EventKind, Override, TimeKind
from cockpit.calendar.recurrence import RecurrenceError, check_rule, occurrences
from cockpit.calendar.reminders import Reminders
from cockpit.calendar.repository import CalendarRepository
from cockpit.calendar.shifts import coverage, gaps, on_call, shift_event
from cockpit.calendar.slots import find_slots
from cockpit.calendar.views import (
    conflicts_by_occurrence,
    coverage_json,
    occurrence_json,
    occurrence_lines,
    slot_json,
    slot_line,
)
from cockpit.calendar.zones import get_zone, resolve
from cockpit.commands.context import Context, count, option_zone
from cockpit.commands.options import Subparsers, community_choice, community_filter, json_output
from cockpit.errors import CockpitError
from cockpit.moderation import service
from cockpit.moderation.announcements import Announcer
from cockpit.textsafe import inert_line
from cockpit.timeutil import check_time, iso_z, natural_time, parse_duration, utcnow

# A listing covers at most ten years; a slot search at most a year (it scores every quarter hour).
MAX_LIST_DAYS = 3660
MAX_SUGGEST_DAYS = 366


def _event_options(p: argparse.ArgumentParser, adding: bool) -> None:
    p.add_argument(
        "--start",
        required=adding,
        help="start: 2024-06-13 15:00 (wall-clock in --tz), an ISO time with offset, or a date",
    )
    p.add_argument(
        "--tz", dest="start_tz", help="the zone the start is typed in (default: cockpit.timezone)"
    )
    p.add_argument("--duration", help="how long: 30m, 1h, 2d (default 1h; all-day: 1d)")
    p.add_argument("--title", help="the title" if not adding else argparse.SUPPRESS)
    p.add_argument("--rrule", help="recurrence, RFC 5545: FREQ=WEEKLY;BYDAY=TH;COUNT=10")
    p.add_argument("--all-day", action="store_true", help="a whole day (the start is a date)")
    p.add_argument("--floating", action="store_true", help="the same wall clock in every zone")
    p.add_argument("--platform", help="where it happens: discord, telegram, ...")
    p.add_argument("--channel", help="the channel it happens in")
    p.add_argument("--host", help="who hosts it (conflicts are flagged per host)")
    p.add_argument(
        "--region", action="append", default=None, help="a target region's IANA zone (repeatable)"
    )
    p.add_argument("--description", help="free text")
    p.add_argument(
        "--reminder", action="append", default=None, help="an offset before start (repeatable)"
    )
    json_output(p)


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "calendar",
        help="upcoming events and shifts across time zones",
        description="Upcoming events, shown in your zone and in each target region's.",
    )
    p.add_argument("--from", dest="from_", help="first day (YYYY-MM-DD, default today)")
    p.add_argument(
        "--days", type=count("--days", MAX_LIST_DAYS), default=7, help="how many days (default 7)"
    )
    p.add_argument("--tz", help="show times in this IANA zone (default: cockpit.timezone)")
    community_filter(p)
    p.add_argument("--shifts", action="store_true", help="list moderator shifts too")
    json_output(p)
    p.set_defaults(run=run_list)
    cs = p.add_subparsers(
        dest="calendar_command",
        metavar="[add | edit | delete | export FILE.ics | import FILE.ics | suggest | shifts | remind]",
    )

    add = cs.add_parser("add", help="add an event", description="Add an event.")
    add.add_argument("title", help="the title")
    _event_options(add, adding=True)
    community_choice(add, "its community (default: cockpit.community)")
    add.set_defaults(run=run_add)

    edit = cs.add_parser("edit", help="change an event, or one occurrence of it")
    edit.add_argument("uid", help="the event's UID (or a unique prefix)")
    _event_options(edit, adding=False)
    edit.add_argument(
        "--occurrence", help="edit only the occurrence that starts at this wall-clock time"
    )
    edit.add_argument("--no-rrule", action="store_true", help="make it a single event")
    edit.set_defaults(run=run_edit)

    delete = cs.add_parser("delete", help="delete an event, or one occurrence of it")
    delete.add_argument("uid", help="the event's UID (or a unique prefix)")
    delete.add_argument("--occurrence", help="delete only the occurrence starting at this time")
    delete.set_defaults(run=run_delete)

    export = cs.add_parser("export", help="write events and shifts to an .ics file")
    export.add_argument("file", help="the .ics file to write ('-' for stdout)")
    community_filter(export)
    export.set_defaults(run=run_export)

    imp = cs.add_parser("import", help="read events from an .ics file (ours or another calendar's)")
    imp.add_argument("file", help="the .ics file")
    community_choice(imp, "their community (default: cockpit.community)")
    imp.set_defaults(run=run_import)

    sug = cs.add_parser(
        "suggest",
        help="rank slots by how many active members can attend",
        description="Rank start times in a window by the members usually active then, "
        "keeping every target region inside its waking hours.",
    )
    sug.add_argument("--duration", default="1h", help="how long (default 1h)")
    sug.add_argument("--from", dest="from_", help="first day (default today)")
    sug.add_argument(
        "--days",
        type=count("--days", MAX_SUGGEST_DAYS),
        default=7,
        help="window length in days (default 7)",
    )
    sug.add_argument("--region", action="append", default=None, help="a target zone (repeatable)")
    sug.add_argument("--limit", type=count("--limit"), default=5, help="how many slots (default 5)")
    sug.add_argument("--include-night", action="store_true", help="also slots at night somewhere")
    sug.add_argument("--tz", dest="show_tz", help="show times in this zone")
    community_choice(sug, "whose members (default: cockpit.community)")
    json_output(sug)
    sug.set_defaults(run=run_suggest)

    sh = cs.add_parser("shifts", help="moderator shifts: list, add, delete, coverage, now")
    json_output(sh)
    sh.set_defaults(run=run_shifts_list)
    shs = sh.add_subparsers(dest="shifts_command", metavar="[add | delete | coverage | now]")
    sa = shs.add_parser("add", help="a weekly shift: --hours 09:00-17:00 --days weekdays")
    sa.add_argument("moderator", help="the moderator's name or handle")
    sa.add_argument("--tz", dest="shift_tz", required=True, help="the moderator's IANA zone")
    sa.add_argument("--hours", required=True, help="local hours, e.g. 09:00-17:00")
    sa.add_argument("--days", default="weekdays", help="weekdays, weekends, daily or MO,WE,FR")
    sa.add_argument("--since", help="first day (default today)")
    community_choice(sa, "its community (default: cockpit.community)")
    json_output(sa)
    sa.set_defaults(run=run_shift_add)
    sd = shs.add_parser("delete", help="delete a shift")
    sd.add_argument("uid", help="the shift's UID (or a unique prefix)")
    sd.set_defaults(run=run_delete)
    sc = shs.add_parser("coverage", help="hours of the week with no moderator, vs member activity")
    sc.add_argument("--from", dest="from_", help="first day (default today)")
    sc.add_argument("--tz", dest="show_tz", help="show times in this zone")
    community_filter(sc)
    json_output(sc)
    sc.set_defaults(run=run_coverage)
    sn = shs.add_parser("now", help="who is on call now")
    community_filter(sn)
    json_output(sn)
    sn.set_defaults(run=run_on_call)

    rem = cs.add_parser("remind", help="send the reminders that are due now, once each")
    rem.set_defaults(run=run_remind)
    ann = cs.add_parser(
        "announce",
        help="announce an event in its community channels through the bots",
        description="Post the next occurrence's announcement, with its time in the regions, "
        "in the event's channel and [calendar] announce_in, through whoever holds the tokens.",
    )
    ann.add_argument("uid", metavar="UID", help="the event (a unique prefix of its uid)")
    ann.add_argument("--now", action="store_true", required=True, help="at once")
    ann.add_argument("--wait", type=float, default=None, metavar="SECONDS", help="wait this long")
    json_output(ann)
    ann.set_defaults(run=run_announce)


# ------------------------------------------------------------------ helpers


def _settings(ctx: Context) -> CalendarSettings:
    value = ctx.config.calendar
    assert isinstance(value, CalendarSettings)
    return value


def _regions(ctx: Context) -> list[str]:
    return list(_settings(ctx).regions or ctx.config.cockpit.regions)


def _viewer(ctx: Context, name: str | None) -> tzinfo:
    return (
        option_zone(name) if name else option_zone(ctx.config.cockpit.timezone, "cockpit.timezone")
    )


def _day_start(text: str | None, tz: tzinfo, option: str = "--from") -> datetime:
    if not text:
        return (
            datetime.combine(utcnow().astimezone(tz).date(), time())
            .replace(tzinfo=tz)
            .astimezone(UTC)
        )
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise CockpitError(f"{option} {text!r}: expected a date, YYYY-MM-DD") from None
    return resolve(_in_range(datetime.combine(day, time()), f"{option} {text!r}"), tz).utc


def _in_range(wall: datetime, what: str) -> datetime:
    """A typed wall-clock time inside the years the calendar handles, or a line naming it."""
    try:
        check_time(wall.replace(tzinfo=UTC) if wall.tzinfo is None else wall, what)
    except ValueError as exc:
        raise CockpitError(str(exc)) from None
    return wall


def _duration(text: str, option: str = "--duration") -> timedelta:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise CockpitError(f"{option}: {exc}") from None
    if value <= timedelta(0):
        raise CockpitError(f"{option} {text!r}: must be positive")
    return value


def _zone_name(name: str, option: str) -> str:
    try:
        get_zone(name)
    except ValueError as exc:
        raise CockpitError(f"{option}: {exc}") from None
    return name


def _start(text: str, tz_name: str | None, kind: TimeKind) -> tuple[datetime, str | None]:
    """A typed start as (wall-clock time, zone name); an ISO offset is converted to the zone."""
    raw = text.strip()
    try:  # "thu 15:00", "tomorrow"-like phrases: the next such moment, in the event's zone
        natural = natural_time(raw, utcnow(), get_zone(tz_name or "UTC"), ahead=True)
    except ValueError as exc:
        raise CockpitError(f"--start {exc}") from None
    if natural is not None:
        wall = natural.astimezone(get_zone(tz_name or "UTC")).replace(tzinfo=None, fold=0)
        if kind is TimeKind.ALL_DAY:
            return datetime.combine(wall.date(), time()), None
        return wall, tz_name
    try:
        if kind is TimeKind.ALL_DAY:
            day = datetime.combine(date.fromisoformat(raw[:10]), time())
            return _in_range(day, f"--start {text!r}"), None
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise CockpitError(
            f"--start {text!r}: expected e.g. 2024-06-13 15:00, 2024-06-13T15:00+02:00, "
            "thu 15:00 or a date"
        ) from None
    _in_range(value, f"--start {text!r}")
    if kind is TimeKind.FLOATING:
        return value.replace(tzinfo=None), None
    if value.tzinfo is not None:
        name = tz_name or "UTC"
        return value.astimezone(get_zone(name)).replace(tzinfo=None, fold=0), name
    return value, tz_name


def _reminders(values: list[str] | None) -> tuple[timedelta, ...] | None:
    if values is None:
        return None
    return tuple(sorted((_duration(v, "--reminder") for v in values), reverse=True))


def _rule(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return check_rule(text)
    except RecurrenceError as exc:
        raise CockpitError(f"--rrule: {exc}") from None


def _regions_arg(values: list[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(_zone_name(v, "--region") for v in values)


def _report(ctx: Context, cal: CalendarRepository, event: Event, status: str) -> None:
    """What was stored, where it falls in each region, odd times and conflicts."""
    now = utcnow()
    tz = _viewer(ctx, None)
    upcoming = (
        occurrences(event, now, now + timedelta(days=3650), tz)[:1]
        or occurrences(event, _first(event), _first(event) + timedelta(days=3650), tz)[:1]
    )
    if ctx.args.json:
        ctx.print_json(
            [
                {
                    "status": status,
                    "uid": event.uid,
                    **({"next": occurrence_json(upcoming[0], _regions(ctx))} if upcoming else {}),
                }
            ]
        )
        return
    print(f"{status}: {event.uid}", file=ctx.out)
    for occ in upcoming:
        for line in occurrence_lines(occ, tz, _regions(ctx)):
            print(line, file=ctx.out)


def _first(event: Event) -> datetime:
    from cockpit.calendar.recurrence import first_start

    return first_start(event)


async def _warn_conflicts(ctx: Context, cal: CalendarRepository, event: Event) -> None:
    start = max(utcnow(), _first(event))
    end = start + timedelta(days=90)
    occs = await cal.occurrences(start, end, _viewer(ctx, None), event.community)
    for c in find_conflicts(occs):
        if event.uid in (c.first.uid, c.second.uid):
            other = c.second if c.first.uid == event.uid else c.first
            ctx.warn(
                f"conflict on {iso_z(c.first.start)}: {inert_line(other.title)} [{other.uid[:8]}] ({c.reason})"
            )
            return


# ------------------------------------------------------------------ commands


async def run_list(ctx: Context) -> int:
    a = ctx.args
    if a.days < 1:
        raise CockpitError(f"--days {a.days}: expected a positive number")
    tz = _viewer(ctx, a.tz)
    start = _day_start(a.from_, tz)
    end = start + timedelta(days=a.days)
    store = await ctx.open_store(readonly=True)
    cal = store.calendar
    try:
        occs = await cal.occurrences(start, end, tz, a.community)
    finally:
        await store.close()
    if not a.shifts:
        occs = [o for o in occs if o.event.kind is EventKind.EVENT]
    clashes = conflicts_by_occurrence(find_conflicts(occs))
    regions = _regions(ctx)
    if a.json:
        ctx.print_json(
            [occurrence_json(o, regions, clashes.get((o.uid, o.start), [])) for o in occs]
        )
        return 0
    for o in occs:
        for line in occurrence_lines(o, tz, regions, clashes.get((o.uid, o.start), [])):
            print(line, file=ctx.out)
    if not occs:
        print("nothing scheduled in this window", file=ctx.err)
    return 0


def _build(ctx: Context, base: Event | None) -> Event:
    """An event from the options, on top of `base` when editing."""
    a = ctx.args
    if a.all_day and a.floating:
        raise CockpitError("--all-day and --floating: choose one")
    kind = (
        TimeKind.ALL_DAY
        if a.all_day
        else TimeKind.FLOATING
        if a.floating
        else (base.time_kind if base and not a.start_tz else TimeKind.ZONED)
    )
    tz_name = a.start_tz or (base.tz if base else None) or ctx.config.cockpit.timezone
    tz_name = _zone_name(tz_name, "--tz")
    if a.start:
        start, zone_used = _start(a.start, tz_name, kind)
    elif base is not None:
        start, zone_used = base.start, tz_name
    else:
        raise CockpitError("--start is required")
    zone_used = (zone_used or tz_name) if kind is TimeKind.ZONED else None
    default_duration = timedelta(days=1) if kind is TimeKind.ALL_DAY else timedelta(hours=1)
    duration = (
        _duration(a.duration) if a.duration else (base.duration if base else default_duration)
    )
    if kind is TimeKind.ALL_DAY and duration % timedelta(days=1):
        raise CockpitError(f"--duration {a.duration}: an all-day event lasts whole days")
    rule = (
        None
        if getattr(a, "no_rrule", False)
        else (_rule(a.rrule) if a.rrule else (base.rrule if base else None))
    )
    title = a.title if a.title is not None else (base.title if base else "")
    if not title.strip():
        raise CockpitError("the title is empty")
    try:
        return assemble(
            base,
            a.community or ctx.config.cockpit.community,
            title=title,
            start=start,
            duration=duration,
            tz=zone_used,
            time_kind=kind,
            rrule=rule,
            platform=a.platform if a.platform is not None else (base.platform if base else None),
            channel=a.channel if a.channel is not None else (base.channel if base else None),
            host=a.host if a.host is not None else (base.host if base else None),
            regions=_regions_arg(a.region) or (base.regions if base else ()),
            description=a.description,
            reminders=_reminders(a.reminder) if a.reminder is not None else KEEP,
        )
    except ValueError as exc:
        raise CockpitError(str(exc)) from None


def _notes(ctx: Context, event: Event) -> None:
    if event.time_kind is TimeKind.ZONED and event.tz:
        note = resolve(event.start, get_zone(event.tz), event.tz).note
        if note:
            ctx.warn(note)


async def run_add(ctx: Context) -> int:
    event = _build(ctx, None)
    _notes(ctx, event)
    store = await ctx.open_store(readonly=False)
    cal = store.calendar
    try:
        status = await cal.save(event)
        await _warn_conflicts(ctx, cal, event)
    finally:
        await store.close()
    _report(ctx, cal, event, status)
    return 0


def _occurrence_key(event: Event, text: str) -> datetime:
    """The wall-clock start (in the event's zone) that names one occurrence."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CockpitError(f"--occurrence {text!r}: expected e.g. 2024-06-13 15:00") from None
    _in_range(value, f"--occurrence {text!r}")
    if value.tzinfo is not None:
        tz = get_zone(event.tz) if event.tz else UTC
        value = value.astimezone(tz).replace(tzinfo=None)
    if event.time_kind is TimeKind.ALL_DAY:
        value = datetime.combine(value.date(), time())
    window = occurrences(
        event,
        resolve(value, UTC).utc - timedelta(days=3),
        resolve(value, UTC).utc + timedelta(days=3),
    )
    if not any(o.recurrence_id == value for o in window):
        raise CockpitError(
            f"--occurrence {text!r}: {event.title!r} has no occurrence starting then"
        )
    return value


async def run_edit(ctx: Context) -> int:
    a = ctx.args
    store = await ctx.open_store(readonly=False)
    cal = store.calendar
    try:
        base = await cal.find(a.uid)
        if a.occurrence:
            if not base.rrule:
                raise CockpitError("--occurrence: this event does not repeat; edit it as a whole")
            rid = _occurrence_key(base, a.occurrence)
            old = next((o for o in base.overrides if o.recurrence_id == rid), None)
            tz = base.tz if base.time_kind is TimeKind.ZONED else None
            start = (
                _start(a.start, tz, base.time_kind)[0] if a.start else (old.start if old else rid)
            )
            edit = Override(
                recurrence_id=rid,
                start=start,
                duration=_duration(a.duration)
                if a.duration
                else (old.duration if old else base.duration),
                title=a.title if a.title is not None else (old.title if old else None),
                host=a.host if a.host is not None else (old.host if old else None),
                description=a.description
                if a.description is not None
                else (old.description if old else None),
            )
            event = with_override(base, edit)
        else:
            event = _build(ctx, base)
            _notes(ctx, event)
        status = await cal.save(event)
        await _warn_conflicts(ctx, cal, event)
    finally:
        await store.close()
    _report(ctx, cal, event, status)
    return 0


async def run_delete(ctx: Context) -> int:
    a = ctx.args
    store = await ctx.open_store(readonly=False)
    cal = store.calendar
    try:
        event = await cal.find(a.uid)
        occurrence = getattr(a, "occurrence", None)
        if occurrence:
            if not event.rrule:
                raise CockpitError("--occurrence: this event does not repeat; delete it as a whole")
            rid = _occurrence_key(event, occurrence)
            await cal.save(without_occurrence(event, rid))
            print(f"deleted the occurrence {rid:%Y-%m-%d %H:%M} of {event.uid}", file=ctx.out)
        else:
            await cal.delete(event.uid)
            print(f"deleted {event.uid}", file=ctx.out)
    finally:
        await store.close()
    return 0


async def run_export(ctx: Context) -> int:
    a = ctx.args
    store = await ctx.open_store(readonly=True)
    cal = store.calendar
    try:
        events = await cal.events(community=a.community)
    finally:
        await store.close()
    data = export_ics(events, utcnow())
    if a.file == "-":
        ctx.out.write(data.decode())
        return 0
    path = Path(a.file)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CockpitError(f"{path}: cannot write: {exc.strerror}") from None
    print(f"{path}: {len(events)} events and shifts written", file=ctx.err)
    return 0


async def run_import(ctx: Context) -> int:
    a = ctx.args
    path = Path(a.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CockpitError(f"{path}: cannot read: {exc.strerror}") from None
    result = import_ics(data, str(path), a.community or ctx.config.cockpit.community)
    for warning in result.warnings:
        ctx.warn(warning)
    counts = {"new": 0, "updated": 0, "unchanged": 0}
    store = await ctx.open_store(readonly=False)
    cal = store.calendar
    try:
        for event in result.events:
            counts[await cal.save(event)] += 1
    finally:
        await store.close()
    print(
        f"{path}: {counts['new']} new, {counts['updated']} updated, {counts['unchanged']} unchanged",
        file=ctx.out,
    )
    return 0


def _length(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    h, m = divmod(minutes, 60)
    return f"{h} h {m:02d} min" if h and m else (f"{h} h" if h else f"{m} min")


async def run_suggest(ctx: Context) -> int:
    a = ctx.args
    settings = _settings(ctx)
    if a.days < 1 or a.limit < 1:
        raise CockpitError("--days and --limit: expected positive numbers")
    duration = _duration(a.duration)
    tz = _viewer(ctx, a.show_tz)
    regions = [_zone_name(r, "--region") for r in a.region] if a.region else _regions(ctx)
    start = _day_start(a.from_, tz)
    end = start + timedelta(days=a.days)
    now = utcnow()
    if end <= now:
        raise CockpitError(f"--from {a.from_}: the window has passed (slots start from now on)")
    community = a.community or ctx.config.cockpit.community
    store = await ctx.open_store(readonly=False)
    cal = store.calendar
    try:
        await cal.catch_up_rollup()
        presence = await cal.hour_presence(
            community, utcnow() - timedelta(days=settings.lookback_days)
        )
        busy = [
            (o.start, o.end, o.title)
            for o in await cal.occurrences(start, end, tz, community, EventKind.EVENT)
        ]
    finally:
        await store.close()
    slots = find_slots(
        presence,
        start,
        end,
        duration,
        regions,
        settings.awake_from,
        settings.awake_until,
        busy=busy,
        limit=a.limit,
        include_night=a.include_night,
        not_before=now,
    )
    if a.json:
        ctx.print_json([slot_json(s) for s in slots])
        return 0
    first = max(start, now).astimezone(tz)
    awake = (
        ""
        if a.include_night
        else (
            f", keeping {', '.join(regions)} awake "
            f"({settings.awake_from:02d}:00-{settings.awake_until:02d}:00 local)"
        )
    )
    print(
        f"{_length(duration)} slots from {first:%a %d %b %H:%M} to "
        f"{end.astimezone(tz):%a %d %b %H:%M} ({tz}){awake}, ranked by how many of the "
        f"members active in the last {settings.lookback_days} days usually post at that hour of "
        "the week; one line per time of day, free of other events first:",
        file=ctx.out,
    )
    for s in slots:
        print(slot_line(s, tz), file=ctx.out)
    if not slots:
        print(
            "no slot keeps every region awake in this window (try --include-night or more --days)",
            file=ctx.err,
        )
    return 0


async def run_shifts_list(ctx: Context) -> int:
    store = await ctx.open_store(readonly=True)
    cal = store.calendar
    try:
        shifts = await cal.events(kind=EventKind.SHIFT)
    finally:
        await store.close()
    if ctx.args.json:
        ctx.print_json(
            [
                {
                    "uid": s.uid,
                    "moderator": s.host,
                    "tz": s.tz,
                    "start": s.start.isoformat(),
                    "duration_s": int(s.duration.total_seconds()),
                    "rrule": s.rrule,
                    "community": s.community,
                }
                for s in shifts
            ]
        )
        return 0
    for s in shifts:
        end = (s.start + s.duration).strftime("%H:%M")
        print(
            f"[{s.uid[:8]}] {inert_line(s.host or '?')}: {s.start:%H:%M}-{end} {s.tz} {s.rrule or ''}",
            file=ctx.out,
        )
    if not shifts:
        print(
            "no shifts yet (cockpit calendar shifts add NAME --tz ZONE --hours 09:00-17:00)",
            file=ctx.err,
        )
    return 0


async def run_shift_add(ctx: Context) -> int:
    a = ctx.args
    tz_name = _zone_name(a.shift_tz, "--tz")
    since = utcnow().astimezone(get_zone(tz_name)).date()
    if a.since:
        try:
            since = date.fromisoformat(a.since)
        except ValueError:
            raise CockpitError(f"--since {a.since!r}: expected YYYY-MM-DD") from None
    try:
        event = shift_event(
            a.moderator,
            tz_name,
            a.hours,
            a.days,
            since,
            a.community or ctx.config.cockpit.community,
        )
    except ValueError as exc:
        raise CockpitError(str(exc)) from None
    store = await ctx.open_store(readonly=False)
    cal = store.calendar
    try:
        status = await cal.save(event)
    finally:
        await store.close()
    _report(ctx, cal, event, status)
    return 0


async def run_coverage(ctx: Context) -> int:
    a = ctx.args
    tz = _viewer(ctx, a.show_tz)
    start = _day_start(a.from_, tz)
    end = start + timedelta(days=7)
    community = a.community or ctx.config.cockpit.community
    settings = _settings(ctx)
    store = await ctx.open_store(readonly=False)
    cal = store.calendar
    try:
        await cal.catch_up_rollup()
        shifts = await cal.occurrences(start, end, tz, a.community, EventKind.SHIFT)
        presence = await cal.hour_presence(
            community, utcnow() - timedelta(days=settings.lookback_days)
        )
    finally:
        await store.close()
    rows = coverage(shifts, start, 168, presence)
    if a.json:
        ctx.print_json([coverage_json(r) for r in rows])
        return 0
    holes = gaps(shifts, start, end)
    for s, e in holes:
        busy = max((r.members for r in rows if s <= r.start < e), default=0)
        print(
            f"no moderator {s.astimezone(tz):%a %Y-%m-%d %H:%M} – {e.astimezone(tz):%a %H:%M}"
            f"  (up to {busy} members usually active)",
            file=ctx.out,
        )
    if not holes:
        print("every hour of the week has a moderator on duty", file=ctx.out)
    return 0


async def run_on_call(ctx: Context) -> int:
    now = utcnow()
    store = await ctx.open_store(readonly=True)
    cal = store.calendar
    try:
        shifts = await cal.occurrences(
            now - timedelta(days=2),
            now + timedelta(minutes=1),
            UTC,
            ctx.args.community,
            EventKind.SHIFT,
        )
    finally:
        await store.close()
    duty = on_call(shifts, now)
    if ctx.args.json:
        ctx.print_json(
            [
                {"moderator": o.host, "uid": o.uid, "until": iso_z(o.end), "tz": o.event.tz}
                for o in duty
            ]
        )
        return 0
    for o in duty:
        print(
            f"{inert_line(o.host or '?')} until {o.end.astimezone(get_zone(o.event.tz or 'UTC')):%H:%M} {o.event.tz}",
            file=ctx.out,
        )
    if not duty:
        print("nobody is on call now", file=ctx.out)
    return 0


async def run_announce(ctx: Context) -> int:
    config = ctx.config
    operator = service.operator_name(config)
    store = await ctx.open_store(readonly=False)
    try:
        cases = await Announcer(store, ctx.registry, config).now(ctx.args.uid)
        wait = ctx.args.wait if ctx.args.wait is not None else config.moderation.wait
        cases = [await service.wait_for_outcome(store, c.number, wait, operator) for c in cases]
    finally:
        await store.close()
    if ctx.args.json:
        ctx.print_json([c.to_json() for c in cases])
    else:
        for c in cases:
            detail = "; ".join(inert_line(s.detail or s.status) for s in c.steps)
            print(f"case {c.number}: {inert_line(c.label)}: {c.state} ({detail})", file=ctx.out)
    return 0 if all(c.state == "done" for c in cases) else 1


async def run_remind(ctx: Context) -> int:
    settings = _settings(ctx)
    if not settings.receivers:
        raise CockpitError(
            f"{ctx.config.path or 'config'}: calendar.receivers is empty: nowhere to send reminders"
        )
    store = await ctx.open_store(readonly=False)
    cal = store.calendar
    try:
        sent = await Reminders(cal, settings, ctx.config.cockpit.regions, utcnow).tick()
    finally:
        await store.close()
    for s in sent:
        state = "sent" if s.ok else f"failed: {s.error}"
        print(
            f"{s.uid[:8]} {iso_z(s.occurrence)} -{s.offset} to receiver {s.receiver}: {state}",
            file=ctx.out,
        )
    if not sent:
        print("no reminders due", file=ctx.out)
    return 0 if all(s.ok for s in sent) else 1
