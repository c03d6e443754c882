"""The Rules view (key R, or the palette): every alert rule with its kind, scope, severity,
state, last fire, fires in 24 h and 7 days, route and actions; turn a rule on or off,
change its settings after a backtest of the change on the stored history.

Rules are read from cockpit.toml each time (what is on disk is what a collector runs); a
change goes through `cockpit.alerts.rule_edit.change_rule`, as `cockpit rules set` does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Static

from cockpit.alerts.backtest import Backtest, RuleReport, backtest
from cockpit.alerts.config import AnyRule
from cockpit.alerts.display import actions_text
from cockpit.alerts.records import RuleStats
from cockpit.alerts.rule_edit import (
    Edit,
    change_rule,
    edited_rule,
    parse_assignment,
    split_assignments,
)
from cockpit.config import Config, load_config
from cockpit.errors import CockpitError
from cockpit.registry import Registry
from cockpit.textsafe import inert_line
from cockpit.timeutil import age, from_ms, to_ms

from .context import PaneContext

BACKTEST_DAYS = 7
COLUMNS = ("rule", "kind", "sev", "state", "last", "24h", "7d", "route")
READ_ONLY = (
    "Read-only: attached to a store another process writes; change rules with "
    "`cockpit rules set` where the collector runs."
)


@dataclass(frozen=True, slots=True)
class RuleLine:
    """One row of the view: the rule as configured and how it has behaved."""

    rule: AnyRule
    stats: RuleStats | None

    @property
    def state(self) -> str:
        if not self.rule.enabled:
            return "disabled"
        if self.stats is None or self.stats.open_state is None:
            return "inactive"
        return "silenced" if self.stats.silenced else self.stats.open_state


def scope_text(rule: AnyRule) -> str:
    """Where a rule looks: its communities, platforms and channels ('everywhere')."""
    parts = [
        f"{label} {', '.join(values)}"
        for label, values in (
            ("community", rule.communities),
            ("platform", rule.platforms),
            ("channel", rule.channels),
        )
        if values
    ]
    return "; ".join(parts) or "everywhere"


def settings_text(rule: AnyRule) -> str:
    """The rule's own thresholds, as `rules set` takes them (KEY=VALUE)."""
    common = {
        "name", "kind", "severity", "labels", "annotations", "communities", "platforms",
        "channels", "notify", "enabled", "runbook", "actions", "mode", "auto_cap",
    }  # fmt: skip
    out = []
    for key, value in rule.model_dump(by_alias=True).items():
        if key in common:
            continue
        if isinstance(value, timedelta):
            value = _duration(value)
        out.append(f"{key}={value}")
    return " ".join(out)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _duration(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def report_text(name: str, before: RuleReport | None, after: RuleReport | None) -> Text:
    out = Text(end="")
    out.append(
        f"Backtest of {inert_line(name)}, last {BACKTEST_DAYS} days (nothing sent)\n", "bold"
    )
    for label, r in (("as it is", before), ("as edited", after)):
        if r is None:
            continue
        if not r.replayable:
            out.append("not replayable: it reads the sources' health, which is not kept\n")
            break
        people = f"{len(r.members)} member{'s' * (len(r.members) != 1)}"
        out.append(f"{label:>10}: {r.fires} fire{'s' * (r.fires != 1)}, {people}\n")
    shown = after or before
    for example in shown.examples if shown else []:
        out.append(f"  e.g. {inert_line(example)[:70]}\n", "dim")
    return out


class RulesScreen(ModalScreen[None]):
    """The rules, their state and history; space toggles, e edits, b backtests."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("space", "switch", "On/off"),
        Binding("e", "edit", "Edit"),
        Binding("b", "backtest", "Backtest"),
    ]

    def __init__(self, ctx: PaneContext, registry: Registry) -> None:
        super().__init__()
        self.ctx = ctx
        self.registry = registry
        self.lines: list[RuleLine] = []
        self._pending: tuple[str, str] | None = None  # (rule, edit) backtested, not saved

    def compose(self) -> ComposeResult:
        with Vertical(id="rules-box") as box:
            box.border_title = "Alert rules"
            yield Static(Text("Loading…", "dim"), markup=False, id="rules-status")
            table: DataTable[Text] = DataTable(
                id="rules-table", cursor_type="row", zebra_stripes=True
            )
            table.add_columns(*COLUMNS)
            yield table
            yield Static("", markup=False, id="rules-detail")
            yield Input(
                placeholder="KEY=VALUE ... (Enter: backtest, then Enter again: save)",
                id="rules-edit",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rules-edit", Input).display = False
        self.reload()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#rules-table", DataTable)

    @property
    def current(self) -> RuleLine | None:
        i = self.table.cursor_row
        return self.lines[i] if 0 <= i < len(self.lines) else None

    # ------------------------------------------------------------ reading

    @work(exclusive=True, group="rules-load")
    async def reload(self) -> None:
        store = self.ctx.store
        try:
            config = await asyncio.to_thread(self._read_config)
            stats = await store.alerts.rule_stats(to_ms(self.ctx.clock())) if store else {}
        except CockpitError as exc:
            self.query_one("#rules-status", Static).update(Text(inert_line(str(exc)), "bold red"))
            return
        if not self.is_attached:
            return
        self.lines = [RuleLine(r, stats.get(r.name)) for r in config.rules]
        self._draw(config)

    def _read_config(self) -> Config:
        """The rules as on disk now (what a collector runs), not as this cockpit started."""
        path = self.ctx.config.path
        return load_config(path, self.registry) if path is not None else self.ctx.config

    def _draw(self, config: Config) -> None:
        now = to_ms(self.ctx.clock())
        table = self.table
        keep = table.cursor_row
        table.clear()
        for line in self.lines:
            r, s = line.rule, line.stats
            state_style = {"firing": "bold red", "pending": "yellow", "disabled": "dim"}.get(
                line.state, ""
            )
            table.add_row(
                Text(_cut(inert_line(r.name), 20), "dim" if not r.enabled else ""),
                Text(_cut(r.kind, 10)),
                Text(r.severity[:4]),
                Text(line.state, state_style),
                Text(age(s.last_fired, now) if s and s.last_fired else "—"),
                Text(str(s.fires_24h if s else 0), justify="right"),
                Text(str(s.fires_7d if s else 0), justify="right"),
                Text(_cut(inert_line(", ".join(r.notify)), 10)),
            )
        if self.lines:
            table.move_cursor(row=min(max(keep, 0), len(self.lines) - 1))
        where = config.path.name if config.path else "defaults"
        on = sum(1 for line in self.lines if line.rule.enabled)
        status = f"{len(self.lines)} rules, {on} on · {inert_line(where)}"
        if self.ctx.read_only:
            status += " · read-only"
        self.query_one("#rules-status", Static).update(Text(status, end=""))
        self._show_detail()

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()

    def _show_detail(self) -> None:
        line = self.current
        detail = Text(end="", no_wrap=False)
        if line is not None:
            r = line.rule
            detail.append("scope: ", "bold")
            detail.append(inert_line(scope_text(r)))
            detail.append("\nsettings: ", "bold")
            detail.append(inert_line(settings_text(r)) or "—")
            detail.append("\nactions: ", "bold")
            detail.append(inert_line(actions_text(r)))
            if line.stats and line.stats.last_fired:
                when = from_ms(line.stats.last_fired).astimezone(self.ctx.tz)
                detail.append(f"\nlast fired {when:%a %d %b %H:%M}", "dim")
        self.query_one("#rules-detail", Static).update(detail)

    # ------------------------------------------------------------ writing

    def _writable_path(self) -> Path | None:
        if self.ctx.read_only or self.ctx.store is None:
            self.notify(READ_ONLY, severity="warning")
            return None
        path = self.ctx.config.path
        if path is None:
            self.notify("No config file: rules live in cockpit.toml.", severity="warning")
        return path

    def action_switch(self) -> None:
        line = self.current
        if line is not None and self._writable_path() is not None:
            self._save(Edit(line.rule.name, enabled=not line.rule.enabled))

    def action_edit(self) -> None:
        line = self.current
        if line is None or self._writable_path() is None:
            return
        box = self.query_one("#rules-edit", Input)
        box.value = ""
        box.display = True
        box.border_title = f"Edit {line.rule.name}"
        self._pending = None
        box.focus()

    @on(Input.Submitted, "#rules-edit")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        line = self.current
        if line is None:
            return
        text = event.value.strip()
        if not text:
            self._close_edit()
            return
        try:
            values = tuple(parse_assignment(part) for part in split_assignments(text))
            edited = edited_rule(line.rule, values)
        except CockpitError as exc:
            self.notify(inert_line(str(exc)), severity="error")
            return
        if self._pending == (line.rule.name, text):  # backtested already: this Enter saves
            self._close_edit()
            self._save(Edit(line.rule.name, values=values))
            return
        self._pending = (line.rule.name, text)
        self._backtest(line.rule, edited)

    def _close_edit(self) -> None:
        box = self.query_one("#rules-edit", Input)
        box.display = False
        self.table.focus()

    def action_backtest(self) -> None:
        line = self.current
        if line is not None:
            self._backtest(line.rule, None)

    @work(exclusive=True, group="rules-backtest")
    async def _backtest(self, rule: AnyRule, edited: AnyRule | None) -> None:
        store = self.ctx.store
        if store is None:
            return
        detail = self.query_one("#rules-detail", Static)
        detail.update(
            Text(f"Backtesting {inert_line(rule.name)} on the last {BACKTEST_DAYS} days…", "dim")
        )
        now = self.ctx.clock()
        start, end = to_ms(now - timedelta(days=BACKTEST_DAYS)), to_ms(now)
        settings = self.ctx.config.alerting
        try:
            before: Backtest = await backtest(store.alerts, [rule], settings, start, end)
            after = await backtest(store.alerts, [edited], settings, start, end) if edited else None
        except CockpitError as exc:
            detail.update(Text(inert_line(str(exc)), "bold red"))
            return
        if not self.is_attached:
            return
        text = report_text(
            rule.name,
            before.reports.get(rule.name),
            after.reports.get(rule.name) if after else None,
        )
        if edited is not None:
            text.append("Enter again to save, Escape to cancel", "bold")
        detail.update(text)

    @work(group="rules-write")
    async def _save(self, edit: Edit) -> None:
        path, store = self.ctx.config.path, self.ctx.store
        if path is None or store is None:
            return
        try:
            changes = await change_rule(
                path, edit, self.registry, store.alerts, to_ms(self.ctx.clock())
            )
        except CockpitError as exc:
            self.notify(inert_line(str(exc)), severity="error", timeout=10)
            return
        if changes:
            self.notify(f"{edit.rule}: {'; '.join(changes)} (saved; the collector picks it up)")
        else:
            self.notify(f"{edit.rule}: unchanged")
        self.reload()

    def key_escape(self) -> None:
        box = self.query_one("#rules-edit", Input)
        if box.display:
            self._close_edit()
        else:
            self.dismiss()
