"""A member's moderation record in the member view: what restricts them now on each
platform, their latest cases and the notes moderators left, across every linked account.
It reads the shared case log, so an outcome another operator caused shows here too."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from cockpit.errors import CockpitError
from cockpit.moderation.record import MemberRecord, member_record, restriction_line
from cockpit.textsafe import inert_line

from .context import PaneContext

CASES_SHOWN = 3
NOTES_SHOWN = 2


def _at(ts: datetime, tz: tzinfo) -> str:
    return ts.astimezone(tz).strftime("%d %b %H:%M")


def record_text(record: MemberRecord, tz: tzinfo) -> Text:
    """The record in a few lines: restrictions first (what an on-call person needs)."""
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    out.append("Moderation  ", "bold")
    cases, notes = record.cases, record.notes
    if not (record.restrictions or cases or notes):
        out.append("no cases, no notes", "dim")
        return out
    if record.restrictions:
        out.append(" · ".join(restriction_line(r, tz) for r in record.restrictions), "bold red")
    else:
        out.append("not restricted anywhere", "green")
    for c in cases[:CASES_SHOWN]:
        out.append(f"\n  case {c.number} {_at(c.created, tz)} {c.action} ")
        style = {"done": "green", "failed": "red", "partial": "yellow", "unknown": "yellow"}
        out.append(c.state, style.get(c.state, "dim"))
        out.append(f" · {inert_line(c.operator)}: {inert_line(c.reason)}", "dim")
    if len(cases) > CASES_SHOWN:
        out.append("\n  … more in the case log (C)", "dim")
    for n in notes[:NOTES_SHOWN]:
        out.append(f"\n  note {_at(n.at, tz)} {inert_line(n.who)}: ", "italic")
        out.append(inert_line(n.text))
    return out


class ModerationRecord(Static):
    """The record of a member's accounts; `show` reads and redraws it."""

    def __init__(self, ctx: PaneContext, *, id: str | None = None) -> None:
        super().__init__("", markup=False, id=id)
        self.ctx = ctx
        self.member_ids: tuple[int, ...] = ()
        self.seen: tuple[object, ...] = ()

    async def show(self, member_ids: Sequence[int]) -> None:
        store = self.ctx.store
        if store is None:
            return
        self.member_ids = tuple(member_ids)
        try:
            record = await member_record(
                store, list(self.member_ids), self.ctx.now(), cases=CASES_SHOWN + 1
            )
        except CockpitError as exc:
            self.update(Text(f"Moderation record unavailable: {exc}", "dim"))
            return
        seen = (
            record.restrictions,
            tuple((c.number, c.state, len(c.events)) for c in record.cases),
            record.notes,
        )
        if seen != self.seen:
            self.seen = seen
            self.update(record_text(record, self.ctx.tz))


class NoteScreen(ModalScreen[str | None]):
    """One line of free text (a note on a member or a case, a revert's reason); Enter saves,
    Esc cancels."""

    DEFAULT_CSS = """
    NoteScreen { align: center middle; }
    NoteScreen > Vertical { width: 70; height: auto; border: round $accent;
        background: $surface; padding: 0 1; }
    NoteScreen Input { border: none; height: 1; padding: 0 1; background: $boost; }
    NoteScreen Input:focus { border: none; background: $accent 30%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Cancel")]

    def __init__(
        self,
        name: str,
        *,
        heading: str | None = None,
        placeholder: str = "what the next moderator should know",
        hint: str = "Enter saves (with your name and the time) · Esc cancels",
    ) -> None:
        super().__init__()
        self.member_name = name
        self.heading = heading or f"Note on {inert_line(name)}"
        self.placeholder = placeholder
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.heading, "bold"))
            yield Input(placeholder=self.placeholder, id="note-text")
            yield Static(Text(self.hint, "dim"))
        yield Footer()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)
