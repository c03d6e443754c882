"""The Calendar pane's dialogs: a read-only answer, a one-key question, the event form.

The event form is `cockpit.calendar.editing` on screen: every field as typed, checked with
one line naming a bad field, and where the start falls in each region shown while typing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static

from cockpit.calendar.editing import (
    Checked,
    EventForm,
    check_form,
    check_occurrence,
    repeats_text,
)
from cockpit.calendar.model import Event
from cockpit.calendar.recurrence import event_zone
from cockpit.calendar.zones import resolve

from .calendar_text import region_times


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
