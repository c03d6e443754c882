"""Acting from the cockpit: `a` on a feed row (or a member) opens the Act dialog; `C` the
case log. The dialog offers only what the target's platform supports, says exactly what
will happen on which platform, asks for a reason (presets complete as you type) and, for
temporary actions, a duration; nothing runs until Enter. The request goes through
`cockpit.moderation.service`, as `cockpit mod` does, and the outcome shows when the token
holder has answered. An attached cockpit submits through a short write of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
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
from .member_cases import NoteScreen

MESSAGE_CHOICES = (
    ("delete", "delete this message"),
    ("warn", "warn the author (a reply)"),
    ("timeout", "time out the author"),
    ("ban", "ban the author"),
    ("kick", "kick the author"),
    ("purge", "purge the author's recent messages here"),
    ("lock", "lock the channel"),
    ("unlock", "unlock the channel"),
    ("slowmode", "slow mode in the channel"),
)
MEMBER_CHOICES = (
    ("timeout", "time out"),
    ("ban", "ban"),
    ("kick", "kick"),
    ("unban", "unban"),
)
ALERT_CHOICES = (
    ("delete+timeout", "delete its messages and time out their authors"),
    ("delete+ban", "delete its messages and ban their authors"),
    ("delete", "delete its messages"),
    ("timeout", "time out its authors"),
    ("ban", "ban its authors"),
    ("warn", "warn its authors (a reply to each)"),
)
DEFAULT_FOR = {"timeout": "1h", "lock": "30m", "slowmode": "30m"}


def outcome_text(case: Case) -> Text:
    text = Text(f"case {case.number}: {case.action} {case.label}: {case.state}\n", "bold")
    for s in case.steps:
        style = {"done": "green", "failed": "red", "unknown": "yellow"}.get(s.status, "")
        text.append(f"  {s.target.platform:<10} {s.status:<9} ", style)
        text.append(inert_line(s.detail) + "\n")
    return text


def plan_text(plans: list[Plan]) -> Text:
    """Exactly what will happen, on which platform; what is left out, and why."""
    lines = Text("Will do:\n", "bold")
    for plan in plans:
        for step in plan.steps:
            lines.append(f"  {step.target.platform:<10} {step.line}\n", "")
        for why in plan.protected:
            lines.append(f"  ⚠ {why}: refused (use `cockpit mod --force`)\n", "yellow")
        for why in plan.skipped:
            lines.append(f"  – {why}\n", "dim")
    return lines


@contextlib.asynccontextmanager
async def writable_store(ctx: PaneContext) -> AsyncIterator[Store]:
    """The store to write a request to: ours, or (attached) a short connection of our own;
    the token holder carries the request out."""
    store = ctx.store
    if store is not None and store.writable and not ctx.attached:
        yield store
        return
    if ctx.store_target is None:
        raise CockpitError("this cockpit cannot write to the store")
    own = await open_store(ctx.store_target)
    try:
        yield own
    finally:
        with contextlib.suppress(Exception):
            await own.close()


class ActScreen(ModalScreen[None]):
    """Choose an action, read the plan, give a reason (and a duration), confirm."""

    DEFAULT_CSS = """
    ActScreen { align: center middle; }
    ActScreen > Vertical { width: 76; height: auto; max-height: 22; border: round $accent;
        background: $surface; padding: 0 1; }
    ActScreen #act-plan { height: auto; max-height: 7; }
    ActScreen Input { margin: 0; border: none; height: 1; padding: 0 1; background: $boost; }
    ActScreen Input:focus { background: $accent 30%; border: none; }
    ActScreen Input:disabled { display: none; }
    ActScreen OptionList { height: auto; max-height: 7; border: none; padding: 0; }
    ActScreen OptionList:focus { border: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Cancel")]

    def __init__(
        self,
        ctx: PaneContext,
        registry: Registry,
        target: str,
        title: str,
        *,
        kind: str = "message",
        platforms: tuple[str, ...] = (),
        everywhere: bool = False,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.registry = registry
        self.target = target
        self.heading = title
        self.kind = kind
        self.platforms = platforms or (target.partition(":")[0],)
        self.everywhere = everywhere
        self.plans: list[Plan] = []
        self.action_name: str | None = None

    def choices(self) -> list[Option]:
        """What the target's platforms can do (an alert's are checked when planned)."""
        if self.kind == "alert":
            return [Option(label, id=name) for name, label in ALERT_CHOICES]
        caps = capabilities(self.registry, self.ctx.config)
        offered = frozenset().union(*(caps.get(p, frozenset()) for p in self.platforms))
        listed = MEMBER_CHOICES if self.kind == "member" else MESSAGE_CHOICES
        return [Option(label, id=name) for name, label in listed if name in offered]

    def compose(self) -> ComposeResult:
        options = self.choices()
        with Vertical():
            yield Static(Text(self.heading, "bold"), id="act-title")
            if options:
                yield OptionList(*options, id="act-choice")
            else:
                where = ", ".join(self.platforms)
                yield Static(f"{where} cannot act from the cockpit (no actions offered)")
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
        plans: list[Plan] = []
        try:
            for part in name.split("+"):
                plans.append(
                    await resolve(
                        store,
                        self.registry,
                        self.ctx.config,
                        part,
                        self.target,
                        everywhere=self.everywhere,
                    )
                )
        except CockpitError as exc:
            status.update(Text(str(exc), "red"))
            self.plans = []
            return
        self.plans = plans
        self.query_one("#act-plan", Static).update(plan_text(plans))
        reason = self.query_one("#act-reason", Input)
        reason.disabled = False
        temporary = [p.action for p in plans if p.action in TEMPORARY]
        duration = self.query_one("#act-for", Input)
        duration.disabled = not temporary
        duration.value = DEFAULT_FOR.get(temporary[0], "") if temporary else ""
        status.update(Text("Enter to confirm · Esc to cancel · → takes the suggestion", "dim"))
        reason.focus()

    @on(Input.Submitted)
    def _confirmed(self) -> None:
        self.submit()

    @work(exclusive=True, group="act-submit")
    async def submit(self) -> None:
        plans, status = self.plans, self.query_one("#act-status", Static)
        if not plans:
            return
        config = self.ctx.config
        reason = self.query_one("#act-reason", Input).value
        duration = self.query_one("#act-for", Input).value.strip() or None
        now = self.ctx.now()
        operator = service.operator_name(config)
        try:
            service.authorize(config, operator)
            service.check_reason(reason)
            untils = [
                service.duration_until(
                    p.action,
                    duration if p.action in TEMPORARY else None,
                    now,
                    [s.target.platform for s in p.steps],
                )
                for p in plans
            ]
            async with writable_store(self.ctx) as store:
                cases = []
                for plan, until in zip(plans, untils, strict=True):
                    cases.append(
                        await service.submit(
                            store,
                            config,
                            plan,
                            reason=reason,
                            operator=operator,
                            now=now,
                            until=until,
                            text=reason if plan.action in ("warn", "say") else None,
                        )
                    )
                numbers = ", ".join(str(c.number) for c in cases)
                status.update(Text(f"case {numbers} submitted; waiting for the platform…"))
                self.plans = []  # submitted: Enter again does nothing
                for field in self.query(Input):
                    field.disabled = True
                outcome = Text()
                for case in cases:
                    done = await service.wait_for_outcome(
                        store, case.number, config.moderation.wait, operator
                    )
                    outcome.append_text(outcome_text(done))
                    self.app.notify(
                        f"case {done.number}: {done.action} {inert_line(done.label)}: {done.state}",
                        severity="information" if done.state == "done" else "warning",
                    )
                status.update(outcome)
        except CockpitError as exc:
            status.update(Text(str(exc), "red"))


class CasesScreen(ModalScreen[None]):
    """The shared case log, newest first, live: every operator sees outcomes as they land."""

    DEFAULT_CSS = """
    CasesScreen { background: $background; }
    CasesScreen DataTable { height: 1fr; }
    CasesScreen #case-detail { height: auto; max-height: 10; border-top: solid $accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("r", "revert", "Revert"),
        Binding("n", "note", "Note"),
        Binding("p", "posts", "Posts"),
    ]
    COLUMNS = ("#", "when", "state", "action", "target", "reason", "by")

    def __init__(self, ctx: PaneContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.cases: list[Case] = []
        self.posts = False  # `p`: also what rules post or reward (welcomes, announcements, roles)

    def compose(self) -> ComposeResult:
        yield Static(
            Text("Cases · Enter details · r revert · n note · p posts · Esc close", "bold"),
            id="cases-title",
        )
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
            cases = await store.moderation.cases(CaseQuery(limit=200, posts=self.posts))
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

    def action_posts(self) -> None:
        self.posts = not self.posts
        self.notify(
            "Showing welcomes, announcements and role rewards" if self.posts else "Moderation only"
        )
        self.load()

    def current(self) -> Case | None:
        row = self.query_one(DataTable).cursor_row
        return self.cases[row] if 0 <= row < len(self.cases) else None

    def action_revert(self) -> None:
        """Undo the case under the cursor (unban, lift a timeout, unlock), as `cockpit cases
        revert N` does: a new case, carried out by the token holder."""
        case = self.current()
        if case is None:
            return
        if service.REVERSE.get(case.action) is None:
            self.notify(f"case {case.number} ({case.action}) cannot be undone", severity="warning")
            return
        if case.closed:
            self.notify(f"case {case.number} is {case.closed} already", severity="warning")
            return

        def go(reason: str | None) -> None:
            if reason is not None:
                self.revert(case.number, reason.strip() or f"revert case {case.number}")

        self.app.push_screen(
            NoteScreen(
                case.label,
                heading=f"Revert case {case.number}: {case.action} {inert_line(case.label)}",
                placeholder=f"why (empty: 'revert case {case.number}')",
                hint=f"Enter: {service.REVERSE[case.action]} where it took effect · Esc cancels",
            ),
            go,
        )

    @work(group="cases-write")
    async def revert(self, number: int, reason: str) -> None:
        config = self.ctx.config
        operator = service.operator_name(config)
        detail = self.query_one("#case-detail", Static)
        try:
            async with writable_store(self.ctx) as store:
                new = await service.revert(store, config, number, reason, operator, self.ctx.now())
                detail.update(Text(f"case {new.number} submitted; waiting for the platform…"))
                done = await service.wait_for_outcome(
                    store, new.number, config.moderation.wait, operator
                )
        except CockpitError as exc:
            detail.update(Text(str(exc), "red"))
            return
        detail.update(outcome_text(done))
        self.notify(
            f"case {done.number}: {done.action} {inert_line(done.label)}: {done.state}",
            severity="information" if done.state == "done" else "warning",
        )
        self.load()

    def action_note(self) -> None:
        case = self.current()
        if case is None:
            return

        def save(text: str | None) -> None:
            if text is not None and text.strip():
                self.note(case.number, text)

        self.app.push_screen(
            NoteScreen(
                case.label,
                heading=f"Note on case {case.number}: {case.action} {inert_line(case.label)}",
                hint="Enter saves (on the case and its member's record) · Esc cancels",
            ),
            save,
        )

    @work(group="cases-write")
    async def note(self, number: int, text: str) -> None:
        config = self.ctx.config
        try:
            async with writable_store(self.ctx) as store:
                await service.case_event(
                    store,
                    config,
                    number,
                    "note",
                    text,
                    service.operator_name(config),
                    self.ctx.now(),
                )
        except CockpitError as exc:
            self.notify(f"Note not saved: {exc}", severity="error")
            return
        self.notify(f"Note saved on case {number}", title="Cases")
        self.load()
