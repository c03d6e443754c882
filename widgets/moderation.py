"""Acting from the cockpit: `a` on a feed row (or a member) opens the Act dialog; `C` the
case log. The dialog offers only what the target's platform supports, says exactly what
will happen on which platform, asks for a reason (presets complete as you type) and, for
temporary actions, a duration; nothing runs until Enter. The request goes through
`cockpit.moderation.service`, as `cockpit mod` does, and the outcome shows when the token
holder has answered. An attached cockpit submits through a short write of its own.
"""

from __future__ import annotations

import contextlib
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from cockpit.errors import CockpitError
from cockpit.moderation import service
from cockpit.moderation.repository import Case, CaseQuery
from cockpit.moderation.targets import Plan, capabilities, resolve
from cockpit.plugin_api import TEMPORARY
from cockpit.registry import Registry
from cockpit.store import open_store
from cockpit.store.base import Store
from cockpit.textsafe import inert_line

from .context import PaneContext

CHOICES = (
    ("delete", "delete this message"),
    ("warn", "warn the author (a reply)"),
    ("timeout", "time out the author"),
    ("ban", "ban the author"),
    ("kick", "kick the author"),
    ("purge", "purge the author's recent messages here"),
    ("lock", "lock the channel"),
    ("slowmode", "slow mode in the channel"),
)
DEFAULT_FOR = {"timeout": "1h", "lock": "30m", "slowmode": "30m"}


def outcome_text(case: Case) -> Text:
    text = Text(f"case {case.number}: {case.action} {case.label}: {case.state}\n", "bold")
    for s in case.steps:
        style = {"done": "green", "failed": "red", "unknown": "yellow"}.get(s.status, "")
        text.append(f"  {s.target.platform:<10} {s.status:<9} ", style)
        text.append(inert_line(s.detail) + "\n")
    return text


class ActScreen(ModalScreen[None]):
    """Choose an action, read the plan, give a reason (and a duration), confirm."""

    DEFAULT_CSS = """
    ActScreen { align: center middle; }
    ActScreen > Vertical { width: 76; height: auto; max-height: 22; border: round $accent;
        background: $surface; padding: 0 1; }
    ActScreen #act-plan { height: auto; max-height: 6; }
    ActScreen Input { margin: 0; border: none; height: 1; padding: 0 1; background: $boost; }
    ActScreen Input:focus { background: $accent 30%; border: none; }
    ActScreen Input:disabled { display: none; }
    ActScreen OptionList { height: auto; max-height: 8; border: none; padding: 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Cancel")]

    def __init__(self, ctx: PaneContext, registry: Registry, target: str, title: str) -> None:
        super().__init__()
        self.ctx = ctx
        self.registry = registry
        self.target = target
        self.heading = title
        self.plan: Plan | None = None
        self.action_name: str | None = None

    def compose(self) -> ComposeResult:
        platform = self.target.partition(":")[0]
        caps = capabilities(self.registry, self.ctx.config).get(platform, frozenset())
        options = [Option(label, id=name) for name, label in CHOICES if name in caps]
        with Vertical():
            yield Static(Text(self.heading, "bold"), id="act-title")
            if options:
                yield OptionList(*options, id="act-choice")
            else:
                yield Static(f"{platform} cannot act from the cockpit (no actions offered)")
            yield Static("", id="act-plan")
            presets = self.ctx.config.moderation.reasons
            yield Input(
                placeholder="reason (" + " · ".join(presets[:3]) + " …)",
                id="act-reason",
                suggester=SuggestFromList(presets, case_sensitive=False),
                disabled=True,
            )
            yield Input(
                placeholder="for (e.g. 10m, 1d; empty: permanent)", id="act-for", disabled=True
            )
            yield Static("", id="act-status")
        yield Footer()

    @on(OptionList.OptionSelected, "#act-choice")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.action_name = event.option.id
        self.make_plan()

    @work(exclusive=True, group="act-plan")
    async def make_plan(self) -> None:
        store, name = self.ctx.store, self.action_name
        if store is None or name is None:
            return
        status = self.query_one("#act-status", Static)
        try:
            plan = await resolve(store, self.registry, self.ctx.config, name, self.target)
        except CockpitError as exc:
            status.update(Text(str(exc), "red"))
            return
        self.plan = plan
        lines = Text("Will do:\n", "bold")
        for step in plan.steps:
            lines.append(f"  {step.target.platform:<10} {step.line}\n", "")
        for why in plan.protected:
            lines.append(f"  ⚠ {why}: refused (use `cockpit mod --force`)\n", "yellow")
        self.query_one("#act-plan", Static).update(lines)
        reason = self.query_one("#act-reason", Input)
        reason.disabled = False
        duration = self.query_one("#act-for", Input)
        duration.disabled = name not in TEMPORARY
        duration.value = DEFAULT_FOR.get(name, "")
        status.update(Text("Enter to confirm · Esc to cancel · → takes the suggestion", "dim"))
        reason.focus()

    @on(Input.Submitted)
    def _confirmed(self) -> None:
        self.submit()

    @work(exclusive=True, group="act-submit")
    async def submit(self) -> None:
        plan, status = self.plan, self.query_one("#act-status", Static)
        if plan is None:
            return
        config = self.ctx.config
        reason = self.query_one("#act-reason", Input).value
        duration = self.query_one("#act-for", Input).value.strip() or None
        now = self.ctx.now()
        store = self.ctx.store
        own: Store | None = None
        try:
            until = service.duration_until(
                plan.action, duration, now, [s.target.platform for s in plan.steps]
            )
            text = reason if plan.action in ("warn", "say") else None
            if store is None or not store.writable:
                # attached: a short write of our own; the token holder carries it out
                if self.ctx.store_target is None:
                    raise CockpitError("this cockpit cannot write to the store")
                own = store = await open_store(self.ctx.store_target)
            operator = service.operator_name(config)
            case = await service.submit(
                store,
                config,
                plan,
                reason=reason,
                operator=operator,
                now=now,
                until=until,
                text=text,
            )
            status.update(Text(f"case {case.number} submitted; waiting for the platform…"))
            for field in self.query(Input):
                field.disabled = True
            case = await service.wait_for_outcome(
                store, case.number, config.moderation.wait, operator
            )
            status.update(outcome_text(case))
            self.app.notify(
                f"case {case.number}: {case.action} {inert_line(case.label)}: {case.state}",
                severity="information" if case.state == "done" else "warning",
            )
        except CockpitError as exc:
            status.update(Text(str(exc), "red"))
        finally:
            if own is not None:
                with contextlib.suppress(Exception):
                    await own.close()


class CasesScreen(ModalScreen[None]):
    """The shared case log, newest first, live: every operator sees outcomes as they land."""

    DEFAULT_CSS = """
    CasesScreen { background: $background; }
    CasesScreen DataTable { height: 1fr; }
    CasesScreen #case-detail { height: auto; max-height: 10; border-top: solid $accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close")]
    COLUMNS = ("#", "when", "state", "action", "target", "reason", "by")

    def __init__(self, ctx: PaneContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.cases: list[Case] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("Cases · Enter: details · Esc: close", "bold"))
        table: DataTable[Text] = DataTable(cursor_type="row", id="cases")
        table.add_columns(*self.COLUMNS)
        yield table
        yield Static("", id="case-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.load()
        self.set_interval(2.0, self.load)

    @work(exclusive=True, group="cases")
    async def load(self) -> None:
        store = self.ctx.store
        if store is None or not self.ctx.ready:
            return
        try:
            cases = await store.moderation.cases(CaseQuery(limit=200))
        except CockpitError as exc:
            self.query_one("#case-detail", Static).update(Text(str(exc), "red"))
            return
        if [(c.number, c.state, len(c.events)) for c in cases] == [
            (c.number, c.state, len(c.events)) for c in self.cases
        ]:
            return
        self.cases = cases
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        tz = self.ctx.tz
        for c in cases:
            style = {"done": "green", "failed": "red", "partial": "yellow", "unknown": "yellow"}
            table.add_row(
                Text(str(c.number), justify="right"),
                Text(c.created.astimezone(tz).strftime("%d %b %H:%M")),
                Text(c.state, style.get(c.state, "dim")),
                Text(c.action),
                Text(inert_line(c.label)[:24]),
                Text(inert_line(c.reason)[:22]),
                Text(inert_line(c.operator)[:10]),
            )
        if cases:
            table.move_cursor(row=min(row, len(cases) - 1))

    @on(DataTable.RowSelected)
    @on(DataTable.RowHighlighted)
    def _show(self, event: DataTable.RowSelected | DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.cases):
            c = self.cases[event.cursor_row]
            text = outcome_text(c)
            for e in c.events[-4:]:
                when = e.at.astimezone(self.ctx.tz).strftime("%H:%M:%S")
                text.append(f"  {when} {e.kind} {inert_line(e.who)} {inert_line(e.text)}\n", "dim")
            self.query_one("#case-detail", Static).update(text)
