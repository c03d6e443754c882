"""The Calendar pane: the coming week across time zones, day and night per region, and the
planner's three questions as keys: add an event (`n`), when to hold one (`g`), who is on
duty (`v`).

Reads go through `CalendarStore` in a worker every few seconds and whenever the pane is
shown; the header gets the next event. With no event and no shift stored the pane keeps
its empty state. Event titles and hosts come from imported calendars: drawn inert.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from cockpit.calendar.config import CalendarSettings
from cockpit.calendar.conflicts import Conflict, find_conflicts
from cockpit.calendar.editing import (
    Checked,
    EventForm,
    check_form,
    check_occurrence,
    form_of,
    repeats_text,
    without_occurrence,
)
from cockpit.calendar.model import Event, EventKind, Occurrence, TimeKind
from cockpit.calendar.recurrence import event_zone
from cockpit.calendar.shifts import coverage, gaps, on_call
from cockpit.calendar.slots import Slot, find_slots
from cockpit.calendar.zones import day_marker, get_zone, resolve
from cockpit.errors import CockpitError
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_calendar import CalendarStore
from cockpit.textsafe import inert_line

from .common import countdown
from .header import PulseHeader, short_zone
from .pane import Pane

if TYPE_CHECKING:
    from cockpit.app import CockpitApp

REFRESH_SECONDS = 5.0
WEEK = timedelta(days=7)
LOOKAHEAD = timedelta(days=400)  # how far the header looks for a next event
MAX_LISTED = 200  # bounded list whatever a recurrence expands to


# ---------------------------------------------------------------- pure helpers


def calendar_settings(app: CockpitApp) -> CalendarSettings:
    value = app.config.section("calendar")
    return value if isinstance(value, CalendarSettings) else CalendarSettings()


def regions_of(app: CockpitApp) -> list[str]:
    """[calendar] regions, else [cockpit] regions (as `cockpit calendar` does)."""
    return list(calendar_settings(app).regions or app.config.cockpit.regions)


def zone_short(name: str) -> str:
    return short_zone(name)[1]


def region_times(
    utc: datetime, regions: Sequence[str], viewer: tzinfo, width: int | None = None
) -> Text:
    """'LA 07:00 · BER 16:00 · JAK 21:00 +1': each region's clock, days against the viewer's.

    Tighter separators when `width` is short, so five regions still fit a tiled pane.
    """
    reference = utc.astimezone(viewer).date()
    parts: list[tuple[str, str, str]] = []
    for name in regions:
        local = utc.astimezone(get_zone(name))
        parts.append((zone_short(name), f"{local:%H:%M}", day_marker(local.date(), reference)))
    out = Text(end="")
    for sep in (" · ", " "):
        out = Text(end="")
        for i, (label, clock, marker) in enumerate(parts):
            if i:
                out.append(sep, "dim")
            out.append(f"{label} ", "dim")
            out.append(clock)
            if marker:
                out.append(f" {marker}", "bold")
        if width is None or out.cell_len <= width:
            break
    return out


def conflict_notes(conflicts: Sequence[Conflict]) -> dict[tuple[str, datetime], list[str]]:
    """(uid, start) -> 'Other title (same host alice)' for each clash it is part of."""
    out: dict[tuple[str, datetime], list[str]] = {}
    for c in conflicts:
        out.setdefault((c.first.uid, c.first.start), []).append(
            f"{inert_line(c.second.title)} ({inert_line(c.reason)})"
        )
        out.setdefault((c.second.uid, c.second.start), []).append(
            f"{inert_line(c.first.title)} ({inert_line(c.reason)})"
        )
    return out


def occurrence_text(
    occ: Occurrence,
    now: datetime,
    viewer: tzinfo,
    regions: Sequence[str],
    clashes: Sequence[str] = (),
    width: int | None = None,
) -> Text:
    """Line one: when (viewer's zone), title, countdown; then regions, odd times, clashes.

    With a `width` every line is cut to it (an ellipsis shows the cut) instead of wrapping.
    """
    s, e = occ.start.astimezone(viewer), occ.end.astimezone(viewer)
    head = Text(end="")
    if clashes:
        head.append("! ", "bold red")
    if occ.event.time_kind is TimeKind.ALL_DAY:
        head.append(f"{s:%a %d} all day ", "bold")
    else:
        head.append(f"{s:%a %d %H:%M}", "bold")
        head.append(f"–{e:%H:%M} ", "dim")
    head.append(inert_line(occ.title))
    if occ.start <= now < occ.end:
        head.append("  now", "bold green")
    elif now < occ.start <= now + timedelta(days=1):
        head.append("  " + countdown((occ.start - now).total_seconds()), "green")
    if occ.host:
        head.append(f"  host {inert_line(occ.host)}", "dim")
    lines = [head]
    zones = list(dict.fromkeys([*occ.event.regions, *regions]))
    if zones and occ.event.time_kind is TimeKind.ZONED:
        lines.append(
            Text("  ", end="")
            + region_times(occ.start, zones, viewer, None if width is None else width - 2)
        )
    if occ.note:
        lines.append(Text("  note: " + occ.note, "italic", end=""))
    lines.extend(Text("  ! conflicts with " + clash, "red", end="") for clash in clashes)
    if width is not None:
        for line in lines:
            if line.cell_len > width:
                line.truncate(max(1, width - 1))
                line.append("…")
    return Text("\n", end="").join(lines)


def day_cells(
    name: str, now: datetime, cells: int, step: timedelta, settings: CalendarSettings
) -> list[bool]:
    """Whether the region is awake in each cell from the current `step` on."""
    tz = get_zone(name)
    first = floor_to(now, step)
    out = []
    for i in range(cells):
        local = (first + step * i).astimezone(tz)
        out.append(settings.awake(local.hour + local.minute / 60))
    return out


def floor_to(ts: datetime, step: timedelta) -> datetime:
    seconds = int(step.total_seconds())
    epoch = int(ts.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def slot_text(rank: int, slot: Slot, viewer: tzinfo) -> Text:
    s = slot.start.astimezone(viewer)
    out = Text(end="")
    out.append(f"{rank}. {s:%a %d %b %H:%M}", "bold")
    out.append(f"  {slot.share:.0%}", "bold")
    out.append(f" of active members usually about ({slot.attendees}/{slot.active})")
    out.append("\n   ")
    reference = s.date()
    for i, r in enumerate(slot.regions):
        if i:
            out.append(" · ", "dim")
        out.append(f"{zone_short(r.region)} ", "dim")
        out.append(f"{r.local:%H:%M}", "" if r.awake else "red")
        marker = day_marker(r.local.date(), reference)
        if marker:
            out.append(f" {marker}", "bold")
        if not r.awake:
            out.append(" asleep", "red")
    if slot.busy:
        out.append("\n   busy: " + ", ".join(inert_line(b) for b in slot.busy), "yellow")
    return out


def coverage_text(
    shifts: Sequence[Occurrence],
    start: datetime,
    end: datetime,
    viewer: tzinfo,
    presence: dict[int, int],
    now: datetime,
) -> Text:
    """Who is on call now and every stretch of the coming week with no moderator."""
    out = Text(end="")
    if not shifts:
        out.append("No moderator shifts yet.\n", "bold")
        out.append("Add them with: cockpit calendar shifts add NAME --tz ZONE --hours 09:00-17:00")
        return out
    duty = on_call(shifts, now)
    out.append("On call now: ", "bold")
    if duty:
        out.append(
            ", ".join(
                f"{inert_line(o.host or '?')} until {o.end.astimezone(viewer):%H:%M}" for o in duty
            )
        )
    else:
        out.append("nobody", "bold red")
    holes = gaps(shifts, start, end)
    hours = int((end - start).total_seconds() // 3600)
    rows = coverage(shifts, start, hours, presence)
    out.append("\n\n")
    if not holes:
        out.append("Every hour of the coming week has a moderator on duty.", "green")
        return out
    out.append(f"{len(holes)} gap{'s' * (len(holes) > 1)} with no moderator:\n", "bold")
    for s, e in holes:
        busy = max((r.members for r in rows if s <= r.start < e), default=0)
        out.append(f"  {s.astimezone(viewer):%a %d %H:%M} – {e.astimezone(viewer):%a %d %H:%M}")
        out.append(f"  {(e - s).total_seconds() / 3600:.0f} h, ≤{busy} members about\n", "dim")
    out.rstrip()
    return out


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


class CalendarInfo(ModalScreen[None]):
    """A read-only answer (slots, coverage, one occurrence) over the cockpit."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, title: str, body: Text) -> None:
        super().__init__()
        self.heading = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="cal-info-box") as box:
            box.border_title = self.heading
            with VerticalScroll(id="cal-info-scroll"):
                yield Static(self.body, markup=False, id="cal-info-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cal-info-scroll").focus()


class Choice(ModalScreen[str | None]):
    """A one-key question (which occurrences, really delete?); Escape answers None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, question: str, answers: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.heading = title
        self.question = question
        self.answers = list(answers)  # (key, value, label)

    def compose(self) -> ComposeResult:
        body = Text(self.question + "\n\n", end="")
        for key, _, label in self.answers:
            body.append(f" {key} ", "bold reverse")
            body.append(f" {label}\n")
        body.append(" esc ", "bold reverse")
        body.append(" cancel")
        with Vertical(id="cal-choice-box") as box:
            box.border_title = self.heading
            yield Static(body, markup=False, id="cal-choice-body")

    def on_key(self, event: events.Key) -> None:
        for key, value, _ in self.answers:
            if event.key == key:
                event.stop()
                self.dismiss(value)
                return


FIELDS: tuple[tuple[str, str], ...] = (
    ("title", "Title"),
    ("start", "Start"),
    ("zone", "Zone"),
    ("duration", "Minutes"),
    ("repeats", "Repeats"),
    ("where", "Where"),
    ("host", "Host"),
    ("regions", "Regions"),
)
SERIES_ONLY = ("repeats", "where", "regions")
PLACEHOLDERS = {
    "title": "Community AMA",
    "start": "YYYY-MM-DD HH:MM, wall clock in the zone",
    "zone": "IANA zone (America/New_York), floating or all-day",
    "duration": "90, or 30m / 2h / 1d",
    "repeats": "empty, daily, weekdays, weekly, fortnightly, monthly or an RRULE",
    "where": "discord #ama",
    "host": "who runs it",
    "regions": "target zones: Asia/Tokyo Europe/London",
}


class EventScreen(ModalScreen[Checked | None]):
    """Add or edit an event, or one occurrence of a series; the start may be typed in any zone.

    Where the start falls in each region, and whether the clocks skip or repeat it, shows
    while typing; a bad field is named in one line and nothing is saved.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(
        self,
        form: EventForm,
        *,
        title: str,
        community: str,
        regions: Sequence[str],
        viewer: tzinfo,
        base: Event | None = None,
        recurrence_id: datetime | None = None,
    ) -> None:
        super().__init__()
        self.form = form
        self.heading = title
        self.community = community
        self.regions = list(regions)
        self.viewer = viewer
        self.base = base
        self.recurrence_id = recurrence_id

    def compose(self) -> ComposeResult:
        one = self.recurrence_id is not None
        with Vertical(id="cal-add-box") as box:
            box.border_title = self.heading
            for name, label in FIELDS:
                with Horizontal(classes="cal-field"):
                    yield Label(label)
                    yield Input(
                        getattr(self.form, name),
                        placeholder=PLACEHOLDERS[name],
                        id=f"add-{name}",
                        compact=True,
                        disabled=one and name in SERIES_ONLY,
                    )
            yield Static("", markup=False, id="add-note")
            yield Static("", markup=False, id="add-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#add-title", Input).focus()
        self._preview()

    def values(self) -> EventForm:
        return EventForm(
            **{name: self.query_one(f"#add-{name}", Input).value for name, _ in FIELDS}
        )

    def check(self, form: EventForm) -> Checked:
        if self.base is not None and self.recurrence_id is not None:
            return check_occurrence(form, self.base, self.recurrence_id)
        return check_form(form, self.community, self.base)

    def _preview(self) -> None:
        note = self.query_one("#add-note", Static)
        form = self.values()
        try:
            checked = self.check(replace(form, title=form.title or "-"))
        except ValueError:
            note.update("")
            return
        e = checked.event
        wall = e.start
        if self.recurrence_id is not None:
            wall = next(o.start for o in e.overrides if o.recurrence_id == self.recurrence_id)
        utc = resolve(wall, event_zone(e, self.viewer)[0]).utc
        text = Text(end="")
        text.append("You: ", "dim")
        text.append(f"{utc.astimezone(self.viewer):%a %d %b %H:%M}")
        if e.rrule and self.recurrence_id is None:
            text.append(f"  repeats {repeats_text(e.rrule)}", "dim")
        regions = list(e.regions) or self.regions  # the event's audience, else the cockpit's
        if regions:
            text.append("\n")
            text.append_text(region_times(utc, regions, self.viewer))
        if checked.note:
            text.append("\n" + checked.note, "bold yellow")
        note.update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#add-error", Static).update("")
        if event.input.id != "add-title":
            self._preview()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        try:
            checked = self.check(self.values())
        except ValueError as exc:
            self.query_one("#add-error", Static).update(Text(str(exc), "bold red"))
            return
        self.dismiss(checked)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class Week:
    """One read of the store, ready to draw."""

    events: list[Occurrence]
    shifts: list[Occurrence]
    clashes: dict[tuple[str, datetime], list[str]]
    next_event: Occurrence | None


class CalendarPane(Pane):
    number = 4
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

    def __init__(self, *, id: str | None = None, classes: str = "") -> None:
        super().__init__(id=id, classes=classes)
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

    @property
    def cockpit(self) -> CockpitApp:
        return cast("CockpitApp", self.app)

    def _calendar(self) -> CalendarStore | None:
        store = getattr(self.app, "store", None)
        if not getattr(self.app, "ready", False) or not isinstance(store, SQLiteStore):
            return None
        return CalendarStore(store, self.cockpit.clock)

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
        app = self.cockpit
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
        app = self.cockpit
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
            self._draw(self.week, self.cockpit.clock())

    def _focus_list(self) -> None:
        """The list takes the arrow keys once it has rows (the pane's own keys still apply)."""
        listing = self.query_one("#cal-list", OptionList)
        if self.has_focus and listing.display and listing.option_count:
            listing.focus()

    def _set_header(self, occ: Occurrence | None) -> None:
        header = self.screen.query(PulseHeader)
        if not header:
            return
        if occ is not None:
            header.first().set_next_event(occ.title, occ.start)
            self._header_set = True
        elif self._header_set:
            header.first().clear_next_event()
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
        app = self.cockpit
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
        app.push_screen(CalendarInfo(inert_line(occ.title)[:60], body))

    # ------------------------------------------------------------ actions

    def _writable(self, verb: str) -> bool:
        """Attached operators read only; the store may still be opening."""
        if self.cockpit.attach:
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
        app = self.cockpit
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

        app.push_screen(screen, done)

    def action_add(self) -> None:
        if not self._writable("add"):
            return
        app = self.cockpit
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
                when = occ.start.astimezone(self.cockpit.tz)
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
        when = occ.start.astimezone(self.cockpit.tz)
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
                when = occ.start.astimezone(self.cockpit.tz)
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
        app = self.cockpit
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
        app = self.cockpit
        settings = calendar_settings(app)
        regions = regions_of(app)
        community = app.config.cockpit.community
        now = app.clock()
        start = floor_to(now, timedelta(minutes=30)) + timedelta(minutes=30)
        end = start + WEEK
        try:
            if not app.attach:
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
        app.push_screen(CalendarInfo("Suggested slots", body))

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
        app = self.cockpit
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
        app.push_screen(CalendarInfo("Moderator coverage, next 7 days", body))
