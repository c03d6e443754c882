"""The Calendar pane: the coming week across time zones, day and night per region, and the
planner's three questions as keys: add an event (`n`), when to hold one (`g`), who is on
duty (`v`); `e` and `d` edit and delete. The text helpers live in `calendar_text`, the
dialogs in `calendar_dialogs`.

Reads go through `CalendarRepository` in a worker every few seconds and whenever the pane is
shown; the header gets the next event. With no event and no shift stored the pane keeps
its empty state. Event titles and hosts come from imported calendars: drawn inert.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cockpit.calendar.config import CalendarSettings
from cockpit.calendar.conflicts import find_conflicts
from cockpit.calendar.editing import (
    Checked,
    EventForm,
    form_of,
    repeats_text,
    without_occurrence,
)
from cockpit.calendar.model import Event, EventKind, Occurrence
from cockpit.calendar.recurrence import event_zone
from cockpit.calendar.repository import CalendarRepository
from cockpit.calendar.shifts import on_call
from cockpit.calendar.slots import Slot, find_slots
from cockpit.calendar.zones import get_zone, resolve
from cockpit.errors import CockpitError
from cockpit.textsafe import inert_line

from .calendar_dialogs import CalendarInfo, Choice, EventScreen
from .calendar_text import (
    conflict_notes,
    coverage_text,
    day_cells,
    floor_to,
    occurrence_text,
    slot_text,
    zone_short,
)
from .context import PaneContext
from .messages import NextEvent
from .pane import Pane

REFRESH_SECONDS = 5.0
WEEK = timedelta(days=7)
LOOKAHEAD = timedelta(days=400)  # how far the header looks for a next event
MAX_LISTED = 200  # bounded list whatever a recurrence expands to


# ---------------------------------------------------------------- pure helpers


def calendar_settings(ctx: PaneContext) -> CalendarSettings:
    return ctx.calendar


def regions_of(ctx: PaneContext) -> list[str]:
    """[calendar] regions, else [cockpit] regions (as `cockpit calendar` does)."""
    return ctx.regions


# ---------------------------------------------------------------- widgets


class DayNightStrips(Widget):
    """One line per region across the next 24 h: awake (█) or asleep (░), its clock now.

    Awake follows `[calendar] awake_from/awake_until` (the slot finder's rule), so a slot
    the finder offers always falls on █ in every region.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "strips--day",
        "strips--night",
        "strips--axis",
        "strips--label",
        "strips--event",
    }

    DEFAULT_CSS = """
    DayNightStrips { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.regions: list[str] = []
        self.now: datetime | None = None
        self.viewer: tzinfo = UTC
        self.settings = CalendarSettings()
        self.starts: list[datetime] = []

    def show(
        self,
        regions: Sequence[str],
        now: datetime,
        viewer: tzinfo,
        settings: CalendarSettings,
        starts: Sequence[datetime] = (),
    ) -> None:
        self.regions = list(regions)
        self.now = now
        self.viewer = viewer
        self.settings = settings
        self.starts = list(starts)
        self.display = bool(self.regions)
        self.refresh(layout=True)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return len(self.regions) + 1 if self.regions else 0

    def render(self) -> Text:
        if not self.regions or self.now is None:
            return Text("")
        s = self.get_component_rich_style
        label_w = max(len(zone_short(r)) for r in self.regions) + 8  # name + " 16:30  "
        room = max(8, self.size.width - label_w)
        step = timedelta(minutes=30) if room >= 48 else timedelta(hours=1)
        cells = 48 if room >= 48 else min(24, room)
        first = floor_to(self.now, step)
        out = Text(end="", no_wrap=True)
        out.append_text(self._axis(label_w, cells, step, first))
        for name in self.regions:
            out.append("\n")
            local = self.now.astimezone(get_zone(name))
            out.append(f"{zone_short(name):<{label_w - 8}} {local:%H:%M}  ", s("strips--label"))
            for up in day_cells(name, self.now, cells, step, self.settings):
                out.append("█" if up else "░", s("strips--day") if up else s("strips--night"))
        return out

    def _axis(
        self,
        label_w: int,
        cells: int,
        step: timedelta,
        first: datetime,
    ) -> Text:
        """Your hours along the strips, with ◆ where an event starts."""
        chars = [" "] * cells
        marks = set()
        for start in self.starts:
            i = int((start - first) / step)
            if 0 <= i < cells:
                marks.add(i)
        i = 0
        while i < cells:
            local = (first + step * i).astimezone(self.viewer)
            if local.minute == 0 and local.hour % 6 == 0 and i + 2 <= cells:
                chars[i : i + 2] = list(f"{local.hour:02d}")
                i += 2
                continue
            i += 1
        for i in marks:
            chars[i] = "◆"
        style = self.get_component_rich_style("strips--axis")
        out = Text(end="", no_wrap=True)
        out.append(f"{'you':<{label_w}}", style)
        line = "".join(chars)
        out.append(line, style)
        event_style = self.get_component_rich_style("strips--event")
        for i in marks:
            out.stylize(event_style, label_w + i, label_w + i + 1)
        return out


@dataclass(frozen=True, slots=True)
class Week:
    """One read of the store, ready to draw."""

    events: list[Occurrence]
    shifts: list[Occurrence]
    clashes: dict[tuple[str, datetime], list[str]]
    next_event: Occurrence | None


class CalendarPane(Pane):
    pane_id = "calendar"
    title = "Calendar"
    headline = "No calendar connected yet"
    detail = (
        "Upcoming community events (AMAs, office hours, launches) will be listed here "
        "with countdowns; the next one also shows in the header."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "add", "Add event"),
        Binding("e", "edit", "Edit"),
        Binding("d", "delete", "Delete"),
        Binding("g", "suggest", "Suggest slots"),
        Binding("v", "coverage", "Coverage"),
    ]

    def __init__(self, ctx: PaneContext, *, number: int, classes: str = "") -> None:
        super().__init__(ctx, number=number, classes=classes)
        self.week: Week | None = None
        self._signature: object = None
        self._loaded_at = 0.0
        self._header_set = False
        self._relaid = False

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static("", markup=False, id="cal-summary")
        yield OptionList(id="cal-list", markup=False)
        yield DayNightStrips(id="cal-strips")

    def on_mount(self) -> None:
        self.show_empty(True)
        self.set_interval(1.0, self._tick)

    def show_empty(self, empty: bool) -> None:
        super().show_empty(empty)
        for selector in ("#cal-summary", "#cal-list", "#cal-strips"):
            self.query_one(selector).display = not empty

    def _calendar(self) -> CalendarRepository | None:
        store = self.ctx.store
        return store.calendar if store is not None and self.ctx.ready else None

    def _tick(self) -> None:
        stale = self.week is None or time.monotonic() - self._loaded_at >= REFRESH_SECONDS
        if stale and self._calendar() is not None:
            self.reload()

    def on_focus(self, event: events.Focus) -> None:
        """Shown (keys 4, tab): fresh data, and the list takes the arrow keys."""
        if self._calendar() is not None:
            self.reload()
        self._focus_list()

    # ------------------------------------------------------------ loading

    @work(exclusive=True, group="calendar-load")
    async def reload(self) -> None:
        cal = self._calendar()
        if cal is None:
            return
        app = self.ctx
        now = app.clock()
        try:
            found = await cal.occurrences(now, now + WEEK, app.tz)
            events = [o for o in found if o.event.kind is EventKind.EVENT][:MAX_LISTED]
            shifts = [o for o in found if o.event.kind is EventKind.SHIFT]
            upcoming = [o for o in events if o.end > now]
            if not upcoming:
                later = await cal.occurrences(
                    now + WEEK, now + LOOKAHEAD, app.tz, None, EventKind.EVENT
                )
                upcoming = later[:1]
        except CockpitError:
            return
        if self.gone:
            return  # the cockpit closed while we were reading
        self._loaded_at = time.monotonic()
        week = Week(
            events,
            shifts,
            conflict_notes(find_conflicts(events)),
            min(upcoming, key=lambda o: o.start) if upcoming else None,
        )
        self.week = week
        self._draw(week, now)

    def _draw(self, week: Week, now: datetime) -> None:
        app = self.ctx
        self._set_header(week.next_event)
        has_data = bool(week.events or week.shifts or week.next_event)
        self.show_empty(not has_data)
        if not has_data:
            return
        regions = regions_of(app)
        settings = calendar_settings(app)
        clashes = sum(len(v) for v in week.clashes.values()) // 2
        summary = Text(end="", no_wrap=True, overflow="ellipsis")
        summary.append(f"{len(week.events)} event{'s' * (len(week.events) != 1)} in 7 days", "bold")
        if clashes:
            summary.append(f" · {clashes} conflict{'s' * (clashes > 1)}", "bold red")
        duty = on_call(week.shifts, now)
        if week.shifts:
            summary.append(" · on call: ")
            summary.append(", ".join(inert_line(o.host or "?") for o in duty) or "nobody")
        self.query_one("#cal-summary", Static).update(summary)
        self.query_one(DayNightStrips).show(
            regions, now, app.tz, settings, [o.start for o in week.events]
        )
        listing = self.query_one("#cal-list", OptionList)
        # cut lines to the list's width (less its scrollbar) rather than wrap them
        width = listing.size.width - 2 if listing.size.width > 20 else None
        if width is None and not self._relaid:
            self._relaid = True  # laid out on the next refresh: draw again at its width
            self.call_after_refresh(self._redraw)
        elif width is not None:
            self._relaid = False
        signature = (
            [(o.uid, o.start, o.end, o.title, o.host, o.note) for o in week.events],
            sorted(week.clashes.items()),
            week.next_event.uid if week.next_event else None,
            now.astimezone(app.tz).strftime("%Y%m%d%H%M"),
            width,
        )
        if signature == self._signature:
            self._focus_list()
            return
        self._signature = signature
        highlighted = listing.highlighted_option.id if listing.highlighted_option else None
        options: list[Option] = [
            Option(
                occurrence_text(
                    o, now, app.tz, regions, week.clashes.get((o.uid, o.start), []), width
                ),
                id=f"{o.uid}|{o.start.isoformat()}",
            )
            for o in week.events
        ]
        if not options and week.next_event is not None:
            nxt = week.next_event
            options.append(
                Option(
                    Text.assemble(
                        ("Nothing this week. Next: ", "dim"),
                        occurrence_text(nxt, now, app.tz, regions, (), width),
                    ),
                    id=f"{nxt.uid}|{nxt.start.isoformat()}",
                )
            )
        listing.set_options(options)
        ids = [o.id for o in options]
        listing.highlighted = ids.index(highlighted) if highlighted in ids else 0
        self._focus_list()

    def on_resize(self, event: events.Resize) -> None:
        if self.week is not None:
            self._signature = None
            self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        if self.week is not None:
            self._draw(self.week, self.ctx.clock())

    def _focus_list(self) -> None:
        """The list takes the arrow keys once it has rows (the pane's own keys still apply)."""
        listing = self.query_one("#cal-list", OptionList)
        if self.has_focus and listing.display and listing.option_count:
            listing.focus()

    def _set_header(self, occ: Occurrence | None) -> None:
        if occ is not None:
            self.post_message(NextEvent(occ.title, occ.start))
            self._header_set = True
        elif self._header_set:
            self.post_message(NextEvent(None, None))
            self._header_set = False

    def _occurrence(self, option_id: str | None) -> Occurrence | None:
        if self.week is None or not option_id:
            return None
        pool = [*self.week.events, *([self.week.next_event] if self.week.next_event else [])]
        return next((o for o in pool if f"{o.uid}|{o.start.isoformat()}" == option_id), None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        occ = self._occurrence(event.option.id)
        if occ is None or self.week is None:
            return
        app = self.ctx
        body = occurrence_text(
            occ,
            app.clock(),
            app.tz,
            regions_of(app),
            self.week.clashes.get((occ.uid, occ.start), []),
        )
        e = occ.event
        body.append("\n\n")
        facts = [
            ("zone", e.tz or e.time_kind.value),
            ("repeats", e.rrule or "no"),
            ("where", " ".join(x for x in (e.platform, f"#{e.channel}" if e.channel else "") if x)),
            ("community", e.community),
            ("uid", e.uid),
        ]
        for label, value in facts:
            if value:
                body.append(f"{label:<10}", "dim")
                body.append(inert_line(value) + "\n")
        if occ.description:
            body.append("\n" + inert_line(occ.description))
        body.rstrip()
        self.app.push_screen(CalendarInfo(inert_line(occ.title)[:60], body))

    # ------------------------------------------------------------ actions

    def _writable(self, verb: str) -> bool:
        """Attached operators read only; the store may still be opening."""
        if self.ctx.attached:
            self.notify(
                "Read-only: attached to a store another process writes; "
                f"{verb} events with `cockpit calendar {verb}`.",
                severity="warning",
            )
            return False
        if self._calendar() is None:
            self.notify("The store is still opening; try again in a moment.", severity="warning")
            return False
        return True

    def _selected(self) -> Occurrence | None:
        listing = self.query_one("#cal-list", OptionList)
        option = listing.highlighted_option if listing.display else None
        occ = self._occurrence(option.id if option else None)
        if occ is None:
            self.notify("No event selected: pick one in the list first.", severity="warning")
        return occ

    def _open_form(
        self,
        form: EventForm,
        title: str,
        base: Event | None = None,
        recurrence_id: datetime | None = None,
    ) -> None:
        app = self.ctx
        screen = EventScreen(
            form,
            title=title,
            community=app.config.cockpit.community,
            regions=regions_of(app),
            viewer=app.tz,
            base=base,
            recurrence_id=recurrence_id,
        )
        verb = "Added" if base is None else "Saved"

        def done(checked: Checked | None) -> None:
            if checked is not None:
                self.save(checked, verb, recurrence_id)

        self.app.push_screen(screen, done)

    def action_add(self) -> None:
        if not self._writable("add"):
            return
        app = self.ctx
        zone = app.config.cockpit.timezone
        start = (app.clock().astimezone(get_zone(zone)) + timedelta(hours=1)).replace(
            minute=0, second=0, microsecond=0
        )
        form = EventForm(
            title="",
            start=start.strftime("%Y-%m-%d %H:%M"),
            zone=zone,
            duration="60",
            regions=" ".join(regions_of(app)),
        )
        self._open_form(form, "Add event")

    def action_edit(self) -> None:
        if not self._writable("edit"):
            return
        occ = self._selected()
        if occ is None:
            return
        e = occ.event
        if not e.rrule:
            self._open_form(form_of(e), "Edit event", e)
            return

        def chosen(scope: str | None) -> None:
            if scope == "one":
                when = occ.start.astimezone(self.ctx.tz)
                self._open_form(
                    form_of(e, occ),
                    f"Edit the {when:%a %d %b} occurrence",
                    e,
                    occ.recurrence_id,
                )
            elif scope == "all":
                self._open_form(form_of(e), "Edit every occurrence", e)

        self.app.push_screen(self._scope(occ, "Edit"), chosen)

    def _scope(self, occ: Occurrence, verb: str) -> Choice:
        when = occ.start.astimezone(self.ctx.tz)
        return Choice(
            f"{verb} {inert_line(occ.title)[:40]}",
            f"It repeats ({repeats_text(occ.event.rrule)}). {verb}:",
            [
                ("o", "one", f"only the occurrence of {when:%a %d %b %H:%M}"),
                ("a", "all", "every occurrence (the whole series)"),
            ],
        )

    def action_delete(self) -> None:
        if not self._writable("delete"):
            return
        occ = self._selected()
        if occ is None:
            return
        if occ.event.rrule:
            question = self._scope(occ, "Delete")
        else:
            question = Choice(
                f"Delete {inert_line(occ.title)[:40]}",
                "Delete this event? Reminders not yet sent are dropped.",
                [("y", "all", "delete it")],
            )

        def answered(scope: str | None) -> None:
            if scope is not None:
                self.delete(occ, scope)

        self.app.push_screen(question, answered)

    @work(group="calendar-save")
    async def delete(self, occ: Occurrence, scope: str) -> None:
        cal = self._calendar()
        if cal is None:
            return
        title = inert_line(occ.title)[:40]
        try:
            if scope == "one":
                await cal.save(without_occurrence(occ.event, occ.recurrence_id))
                when = occ.start.astimezone(self.ctx.tz)
                done = f"Deleted the {when:%a %d %b %H:%M} occurrence of {title}"
            else:
                await cal.delete(occ.uid)
                done = f"Deleted {title}"
        except CockpitError as exc:
            self.notify(f"Not deleted: {exc}", severity="error")
            return
        self.notify(done, title="Calendar")
        self.reload()

    @work(group="calendar-save")
    async def save(
        self, checked: Checked, verb: str = "Added", recurrence_id: datetime | None = None
    ) -> None:
        cal = self._calendar()
        if cal is None:
            return
        app = self.ctx
        e = checked.event
        wall = e.start
        if recurrence_id is not None:
            wall = next(o.start for o in e.overrides if o.recurrence_id == recurrence_id)
        try:
            await cal.save(e)
            start = resolve(wall, event_zone(e, app.tz)[0]).utc
            around = await cal.occurrences(
                start - timedelta(days=1), start + e.duration + timedelta(days=1), app.tz
            )
        except CockpitError as exc:
            self.notify(f"Not saved: {exc}", severity="error")
            return
        when = start.astimezone(app.tz)
        self.notify(
            f"{verb} {inert_line(e.title)[:40]}: {when:%a %d %b %H:%M} {when.tzname()}",
            title="Calendar",
        )
        if checked.note:
            self.notify(checked.note, severity="warning")
        for c in find_conflicts(around):
            if e.uid in (c.first.uid, c.second.uid):
                other = c.second if c.first.uid == e.uid else c.first
                self.notify(
                    f"Conflicts with {inert_line(other.title)[:40]} ({inert_line(c.reason)})",
                    severity="warning",
                )
                break
        self.reload()

    def action_suggest(self) -> None:
        if self._calendar() is None:
            self.notify("The store is still opening; try again in a moment.", severity="warning")
            return
        self.suggest()

    @work(exclusive=True, group="calendar-suggest")
    async def suggest(self) -> None:
        cal = self._calendar()
        if cal is None:
            return
        app = self.ctx
        settings = calendar_settings(app)
        regions = regions_of(app)
        community = app.config.cockpit.community
        now = app.clock()
        start = floor_to(now, timedelta(minutes=30)) + timedelta(minutes=30)
        end = start + WEEK
        try:
            if not app.attached:
                await cal.catch_up_rollup()
            presence = await cal.hour_presence(
                community, now - timedelta(days=settings.lookback_days)
            )
            busy = [
                (o.start, o.end, o.title)
                for o in await cal.occurrences(start, end, app.tz, community, EventKind.EVENT)
            ]
        except CockpitError as exc:
            self.notify(f"No suggestions: {exc}", severity="error")
            return

        def rank(include_night: bool) -> list[Slot]:
            return find_slots(
                presence,
                start,
                end,
                timedelta(hours=1),
                regions,
                settings.awake_from,
                settings.awake_until,
                busy=busy,
                include_night=include_night,
            )

        slots = rank(False)
        body = Text(end="")
        if not slots:
            slots = rank(True)
            body.append("No hour keeps every region awake; the best anyway:\n\n", "bold yellow")
        if not presence:
            body.append(
                f"No member activity stored in the last {settings.lookback_days} days: "
                "ranked by waking hours only.\n\n",
                "dim",
            )
        body.append(
            f"One hour, next 7 days, {inert_line(community)}; times in your zone, "
            "then each region:\n\n",
            "dim",
        )
        for i, slot in enumerate(slots, 1):
            body.append_text(slot_text(i, slot, app.tz))
            body.append("\n")
        body.append("\nAdd one with n.", "dim")
        self.app.push_screen(CalendarInfo("Suggested slots", body))

    def action_coverage(self) -> None:
        if self._calendar() is None:
            self.notify("The store is still opening; try again in a moment.", severity="warning")
            return
        self.show_coverage()

    @work(exclusive=True, group="calendar-coverage")
    async def show_coverage(self) -> None:
        cal = self._calendar()
        if cal is None:
            return
        app = self.ctx
        settings = calendar_settings(app)
        now = app.clock()
        start = floor_to(now, timedelta(hours=1))
        end = start + WEEK
        try:
            shifts = await cal.occurrences(start, end, app.tz, None, EventKind.SHIFT)
            presence = await cal.hour_presence(
                app.config.cockpit.community, now - timedelta(days=settings.lookback_days)
            )
        except CockpitError as exc:
            self.notify(f"No coverage: {exc}", severity="error")
            return
        body = coverage_text(shifts, start, end, app.tz, presence, now)
        self.app.push_screen(CalendarInfo("Moderator coverage, next 7 days", body))
