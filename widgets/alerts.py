"""The Alerts pane: open alerts by severity, recently resolved ones, and the operator's hands on them.

Everything is read through `AlertRepository` on the app's store in workers, every few seconds
and whenever the pane is shown. Acks, silences and manual resolves go through the store's
writer; attached to a store another process writes, the pane says it is read-only instead.
Labels, summaries and activities are untrusted text: rendered as `Text(inert_line(...))`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from cockpit.alerts import operations
from cockpit.alerts.display import age
from cockpit.alerts.events import Event
from cockpit.alerts.records import AlertRow, Matcher, SilenceRow
from cockpit.alerts.repository import AlertRepository
from cockpit.errors import CockpitError
from cockpit.moderation import service
from cockpit.moderation.repository import CaseQuery
from cockpit.store.base import Store
from cockpit.textsafe import inert, inert_line
from cockpit.timeutil import from_ms, parse_duration, to_ms

from .common import fit, platform_badge
from .context import PaneContext
from .detail import ActivityDetail
from .messages import ActOn, AlertCounts
from .moderation import writable_store
from .pane import Pane

REFRESH_SECONDS = 5.0
LIMIT = 200
DETAIL_ACTIVITIES = 50
SEVERITIES = ("critical", "warning", "info")
# a symbol per severity, so the list reads without colour (NO_COLOR, monochrome terminals)
SYMBOLS = {"critical": "✖", "warning": "▲", "info": "●"}
SHORT = {"critical": "crit", "warning": "warn", "info": "info"}
# a resolved alert stays listed (dimmed) this long, so an operator who looked away sees it;
# older ones are behind `h`
RECENT_RESOLVED = timedelta(hours=1)
READ_ONLY = "Read-only: attached to a store another process writes (use `cockpit alerts` there)"


def shown_state(a: AlertRow) -> str:
    """The state an operator cares about: a firing alert that is acked or silenced says so."""
    if a.state == "resolved":
        return "resolved"
    if a.silenced_by:
        return "silenced"
    if a.acked_at is not None:
        return "acked"
    return a.state


def since(a: AlertRow) -> int:
    """When the shown state began."""
    if a.state == "resolved" and a.resolved_at is not None:
        return a.resolved_at
    return a.fired_at or a.active_at


def summary_of(a: AlertRow) -> str:
    return inert_line(a.annotations.get("summary") or a.summary or a.rule)


def recently_resolved(a: AlertRow, now: int) -> bool:
    """Resolved within `RECENT_RESOLVED` of `now`."""
    if a.state != "resolved":
        return False
    return now - (a.resolved_at or 0) <= RECENT_RESOLVED.total_seconds() * 1000


def header_counts(counts: dict[str, int], rules: int) -> dict[str, int]:
    """Firing alerts by severity for the header; empty (drawn as —) when nothing is configured."""
    out = {sev: counts.get(sev, 0) for sev in SEVERITIES}
    if not any(out.values()) and not rules and not counts:
        return {}
    return out


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One read of everything the pane shows."""

    alerts: list[AlertRow]
    counts: dict[str, int]
    silences: list[SilenceRow]
    problems: tuple[int, int, str | None]
    now: int
    proposed: dict[int, list[str]] | None = None  # alert id -> what its rule proposes


@dataclass(frozen=True, slots=True)
class SilenceRequest:
    matchers: tuple[Matcher, ...]
    duration: timedelta
    comment: str


def _time(ms: int | None, tz: tzinfo) -> str:
    return from_ms(ms).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if ms is not None else "—"


class AlertTable(DataTable[Text]):
    """The alert list; Enter opens the detail, Home and End go to the first and last alert."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Detail"),
        Binding("home", "scroll_top", "Top", show=False),
        Binding("end", "scroll_bottom", "Bottom", show=False),
    ]

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor (an alert id), None when the table is empty."""
        if self.row_count == 0 or not 0 <= self.cursor_row < self.row_count:
            return None
        return self.ordered_rows[self.cursor_row].key.value


class AlertsPane(Pane):
    pane_id = "alerts"
    title = "Alerts"
    headline = "No alert rules configured yet"
    detail = (
        "Open alerts will be listed here by severity (keyword hits, join floods, "
        "unanswered questions, quiet channels); the header counts them."
    )

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "alerts--critical",
        "alerts--warning",
        "alerts--info",
        "alerts--muted",
        "alerts--resolved",
        "alerts--problem",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "ack", "Ack"),
        Binding("s", "silence", "Silence"),
        Binding("r", "resolve", "Resolve"),
        Binding("v", "silences", "Silences"),
        Binding("h", "toggle_resolved", "Old resolved"),
        Binding("A", "act_on_alert", "Act"),
        Binding("y", "decide(True)", "Confirm", show=False),
        Binding("n", "decide(False)", "Reject", show=False),
    ]

    def __init__(self, ctx: PaneContext, *, number: int, classes: str = "") -> None:
        super().__init__(ctx, number=number, classes=classes)
        self.snapshot: Snapshot | None = None
        self.error: str | None = None
        self._loaded_at = 0.0
        self._reading = False  # a read is under way
        self._again = False  # and another was asked for meanwhile
        self._width = 0
        self.show_old_resolved = False  # `h`: list resolved alerts older than RECENT_RESOLVED
        self.shown: dict[str, AlertRow] = {}  # the listed alerts by row key (their id)

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static("", markup=False, id="alerts-status")
        yield Static("", markup=False, id="alerts-problems")
        table = AlertTable(
            id="alerts-table", cursor_type="row", cell_padding=0, zebra_stripes=False
        )
        yield table

    def on_mount(self) -> None:
        self._set_data(False)
        self.set_interval(1.0, self._tick)

    # ------------------------------------------------------------ plumbing

    @property
    def table(self) -> AlertTable:
        return self.query_one(AlertTable)

    def alert_store(self) -> AlertRepository | None:
        store = self.ctx.store
        return store.alerts if store is not None and self.ctx.ready else None

    def now(self) -> datetime:
        return self.ctx.clock()

    def tz(self) -> tzinfo:
        return self.ctx.tz

    def rule_count(self) -> int:
        return len([r for r in self.ctx.rules if getattr(r, "enabled", True)])

    def read_only(self) -> bool:
        return self.ctx.read_only

    def _set_data(self, has_data: bool) -> None:
        """Table and status while there is something to show; the untouched empty state otherwise."""
        self.show_empty(not has_data)
        for widget in (self.query_one("#alerts-status"), self.table):
            widget.display = has_data
        if not has_data:
            self.query_one("#alerts-problems").display = False
            if self.table.has_focus:
                self.focus()
        elif self.has_focus:
            self.table.focus()

    # ------------------------------------------------------------ loading

    def _tick(self) -> None:
        if time.monotonic() - self._loaded_at >= REFRESH_SECONDS:
            self.reload()

    def on_show(self) -> None:
        self.reload()

    def on_focus(self, event: events.Focus) -> None:
        if self.table.display:
            self.table.focus()
        self.reload()

    def reload(self) -> None:
        """Read again; a read already under way finishes first and is then repeated once.

        Never cancelled by the next one: on a slow box a read longer than the refresh
        interval would otherwise be cancelled for ever and the pane would never update.
        """
        if self._reading:
            self._again = True
            return
        self._reading = True
        self._read()

    @work(group="alerts-load")
    async def _read(self) -> None:
        try:
            await self._read_once()
        finally:
            self._reading = False
            if self._again and not self.gone:
                self._again = False
                self.reload()

    async def _read_once(self) -> None:
        store = self.alert_store()
        if store is None:
            return
        self._loaded_at = time.monotonic()
        now = to_ms(self.now())
        try:
            snap = Snapshot(
                await store.alerts(limit=LIMIT, now=now),
                await store.counts(),
                await store.silences(active_at=now),
                await store.outbox_problems(),
                now,
                await self._proposals(),
            )
        except CockpitError as exc:
            if self.gone:
                return
            self.error = f"Cannot read alerts: {exc}"
            self._show_error()
            return
        if self.gone:
            return  # the cockpit closed while we were reading
        self.error = None
        self.snapshot = snap
        self._render_snapshot()
        self._update_header(snap)

    async def _proposals(self) -> dict[int, list[str]]:
        """What rules propose and wait for a person to confirm, by alert."""
        store = self.ctx.store
        if store is None:
            return {}
        out: dict[int, list[str]] = {}
        for case in await store.moderation.cases(CaseQuery(states=("proposed",), limit=200)):
            if case.alert_id is not None:
                out.setdefault(case.alert_id, []).insert(0, case.action)
        return out

    def _update_header(self, snap: Snapshot) -> None:
        self.post_message(AlertCounts(header_counts(snap.counts, self.rule_count())))

    def _show_error(self) -> None:
        self._set_data(True)
        self.query_one("#alerts-status", Static).update(
            Text(inert_line(self.error or ""), style=self._style("problem"), end="")
        )

    def _style(self, name: str) -> Any:
        return self.get_component_rich_style(f"alerts--{name}")

    def _render_snapshot(self) -> None:
        snap = self.snapshot
        if snap is None:
            return
        rules = self.rule_count()
        failed, retrying, _ = snap.problems
        if not (snap.alerts or snap.silences or failed or retrying or rules):
            self._set_data(False)
            return
        self._set_data(True)
        self._status(snap, rules)
        self._fill_table(snap)

    def _status(self, snap: Snapshot, rules: int) -> None:
        firing = snap.counts.get("firing", 0)
        pending = snap.counts.get("pending", 0)
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        if firing or pending:
            line.append(f"{firing} firing", "bold" if firing else "")
            line.append(f" · {pending} pending")
        else:
            line.append(f"All quiet · {rules} rule{'s' * (rules != 1)} watching")
        if snap.silences:
            n = len(snap.silences)
            line.append(f" · {n} silence{'s' * (n != 1)} (v)")
        old = sum(a.state == "resolved" and not recently_resolved(a, snap.now) for a in snap.alerts)
        if old:
            line.append(
                f" · {old} older resolved " + ("(h hides)" if self.show_old_resolved else "(h)"),
                self._style("muted"),
            )
        if self.read_only():
            line.append(" · read-only", self._style("muted"))
        self.query_one("#alerts-status", Static).update(line)
        failed, retrying, last_error = snap.problems
        problems = self.query_one("#alerts-problems", Static)
        problems.display = bool(failed or retrying)
        if failed or retrying:
            text = Text(no_wrap=True, overflow="ellipsis", end="")
            text.append(
                f"⚠ notifications: {failed} failed, {retrying} retrying · "
                + inert_line(last_error or "no error recorded"),
                self._style("problem"),
            )
            problems.update(text)

    def _widths(self) -> tuple[int, bool]:
        width = max(30, self.table.scrollable_content_region.width or self.size.width - 1)
        wide = width >= 90
        fixed = 7 + 9 + 5 + 5 + (21 if wide else 0)
        return max(10, width - fixed), wide

    def listed(self, snap: Snapshot) -> list[AlertRow]:
        """Open alerts, recently resolved ones, and older resolved ones when `h` asked for them."""
        return [
            a
            for a in snap.alerts
            if a.state != "resolved" or self.show_old_resolved or recently_resolved(a, snap.now)
        ]

    def _fill_table(self, snap: Snapshot) -> None:
        """Fill the table again; the cursor stays on the alert it was on, wherever it moved
        (if that alert is no longer listed, on the same row)."""
        table = self.table
        keep = table.cursor_key
        keep_row = table.cursor_row
        summary_w, wide = self._widths()
        self._width = summary_w
        table.clear(columns=True)
        table.add_column("sev", width=7, key="sev")
        table.add_column("state", width=9, key="state")
        table.add_column("age", width=5, key="age")
        table.add_column("n", width=5, key="n")
        if wide:
            table.add_column("rule", width=21, key="rule")
        table.add_column("summary", width=summary_w, key="summary")
        listed = self.listed(snap)
        self.shown = {str(a.id): a for a in listed}
        for a in listed:
            table.add_row(*self._cells(a, snap.now, wide, summary_w), key=str(a.id))
        if not listed:
            return
        row = min(max(keep_row, 0), len(listed) - 1)
        if keep is not None and keep in self.shown:
            row = table.get_row_index(keep)
        table.move_cursor(row=row, animate=False, scroll=True)

    def _cells(self, a: AlertRow, now: int, wide: bool, summary_w: int) -> list[Text]:
        state = shown_state(a)
        sev = a.severity if a.severity in SEVERITIES else "info"
        muted = state in ("resolved", "silenced", "acked")
        base = self._style("resolved") if state == "resolved" else None
        sev_style = base or (self._style("muted") if muted else self._style(sev))
        count = str(a.count) if a.count < 10_000 else "9999+"
        cells = [
            Text(
                f"{SYMBOLS.get(a.severity, '?')} {SHORT.get(a.severity, inert_line(a.severity)[:4])}",
                sev_style,
            ),
            Text(state, base or ("bold" if state == "firing" else "")),
            Text(age(since(a), now).rjust(4), base or ""),
            Text(count.rjust(4), base or ""),
        ]
        if wide:
            cells.append(Text(fit(inert_line(a.rule), 20), base or ""))
        summary = Text(no_wrap=True)
        proposal = (self.snapshot.proposed or {}).get(a.id) if self.snapshot else None
        if proposal:
            mark = f"⚑ {'+'.join(proposal)}? y/n "
            summary.append(mark, self._style("warning"))
            summary.append(fit(summary_of(a), max(1, summary_w - len(mark))), base or "")
        else:
            summary.append(fit(summary_of(a), summary_w), base or "")
        cells.append(summary)
        return cells

    def on_resize(self) -> None:
        if self.snapshot is not None and self.table.display:
            summary_w, _ = self._widths()
            if summary_w != self._width:
                self._fill_table(self.snapshot)

    @property
    def current(self) -> AlertRow | None:
        """The alert under the cursor (by its row's key, never by position)."""
        key = self.table.cursor_key
        return self.shown.get(key) if key is not None else None

    def action_toggle_resolved(self) -> None:
        self.show_old_resolved = not self.show_old_resolved
        if self.snapshot is not None and self.table.display:
            self._render_snapshot()

    # ------------------------------------------------------------ actions

    def _writable(self) -> AlertRepository | None:
        if self.read_only():
            self.notify(READ_ONLY, severity="warning")
            return None
        return self.alert_store()

    def action_ack(self) -> None:
        alert = self.current
        if alert is None:
            return
        if alert.state == "resolved":
            self.notify(f"Alert #{alert.id} is already resolved")
            return
        if self._writable() is not None:
            self._operate("ack", alert.id)

    def action_resolve(self) -> None:
        alert = self.current
        if alert is None:
            return
        if alert.state == "resolved":
            self.notify(f"Alert #{alert.id} is already resolved")
            return
        if self._writable() is not None:
            self._operate("resolve", alert.id)

    @work(group="alerts-write")
    async def _operate(self, action: str, alert_id: int) -> None:
        store = self.alert_store()
        if store is None:
            return
        now = to_ms(self.now())
        try:
            if action == "ack":
                await operations.acknowledge(store, alert_id, now)
                self.notify(f"Alert #{alert_id} acknowledged")
            else:
                await operations.resolve(store, alert_id, now)
                self.notify(f"Alert #{alert_id} resolved")
        except CockpitError as exc:
            self.notify(inert_line(str(exc)), severity="error")
        self.reload()

    def action_act_on_alert(self) -> None:
        """Act on everything the alert points at (its messages, their authors), reviewed."""
        alert = self.current
        if alert is None:
            return
        title = f"Act on alert {alert.id}: {inert_line(alert.summary)[:50]}"
        self.post_message(ActOn(f"alert:{alert.id}", title, kind="alert"))

    def action_decide(self, confirm: bool) -> None:
        """`y` runs what the alert's rule proposed, `n` rejects it (as `cockpit alerts
        act|reject ID`); an attached cockpit writes the decision through its own connection."""
        alert = self.current
        if alert is None:
            return
        snap = self.snapshot
        if snap is None or not (snap.proposed or {}).get(alert.id):
            self.notify(
                f"Alert #{alert.id}: no proposed action to {'confirm' if confirm else 'reject'}"
            )
            return
        self._decide(alert.id, confirm)

    @work(group="alerts-write")
    async def _decide(self, alert_id: int, confirm: bool) -> None:
        config = self.ctx.config
        operator = service.operator_name(config)
        try:
            async with writable_store(self.ctx) as store:
                cases = await service.decide_alert(
                    store, config, alert_id, confirm, operator, self.now()
                )
                self.reload()
                if not confirm:
                    self.notify(f"Alert #{alert_id}: proposal rejected")
                    return
                self.notify(f"Alert #{alert_id}: confirmed; waiting for the platform…")
                for case in cases:
                    done = await service.wait_for_outcome(
                        store, case.number, config.moderation.wait, operator
                    )
                    self.notify(
                        f"case {done.number}: {done.action} {inert_line(done.label)}: {done.state}",
                        severity="information" if done.state == "done" else "warning",
                    )
        except CockpitError as exc:
            self.notify(inert_line(str(exc)), severity="error")
        self.reload()

    def action_silence(self) -> None:
        alert = self.current
        if alert is None:
            return
        if self._writable() is None:
            return

        def done(request: SilenceRequest | None) -> None:
            if request is not None:
                self._add_silence(request)

        self.app.push_screen(SilenceDialog(alert), done)

    @work(group="alerts-write")
    async def _add_silence(self, request: SilenceRequest) -> None:
        store = self.alert_store()
        if store is None:
            return
        now = to_ms(self.now())
        try:
            row = await operations.silence(
                store, request.matchers, request.duration, request.comment, now
            )
        except CockpitError as exc:
            self.notify(inert_line(str(exc)), severity="error")
            return
        until = from_ms(row.ends).astimezone(self.tz()).strftime("%H:%M")
        self.notify(f"Silence #{row.id} until {until}")
        self.reload()

    def action_silences(self) -> None:
        store = self.alert_store()
        if store is not None:
            self.app.push_screen(SilencesScreen(self), self._after_silences)

    def _after_silences(self, _: None) -> None:
        self.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        # the row that was selected, even if a refresh re-sorted the list since
        alert = self.shown.get(event.row_key.value or "")
        store = self.ctx.store
        if alert is None or self.alert_store() is None or store is None:
            return

        def done(action: str | None) -> None:
            if action == "ack":
                self.action_ack()
            elif action == "resolve":
                self.action_resolve()
            elif action == "silence":
                self.action_silence()

        self.app.push_screen(AlertDetail(alert, store, self.tz(), self.now), done)


class AlertDetail(ModalScreen[str | None]):
    """An alert in full: labels, annotations, its timeline and the activities behind it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("a", "act('ack')", "Ack"),
        Binding("s", "act('silence')", "Silence"),
        Binding("r", "act('resolve')", "Resolve"),
    ]

    def __init__(self, alert: AlertRow, store: Store, tz: tzinfo, clock: Any) -> None:
        super().__init__()
        self.alert = alert
        self.store = store
        self.tz = tz
        self.clock = clock
        self.events: list[Event] = []

    def compose(self) -> ComposeResult:
        a = self.alert
        with Vertical(id="alert-box") as box:
            box.border_title = (
                f"Alert #{a.id} · {SYMBOLS.get(a.severity, '?')} {inert_line(a.severity)}"
            )
            with VerticalScroll(id="alert-info"):
                yield Static(self._info(), markup=False, id="alert-meta")
            yield Static(
                Text("Triggering activity (Enter opens)", "bold"),
                markup=False,
                classes="alert-heading",
            )
            yield OptionList(Option(Text("Loading…", "dim"), disabled=True), id="alert-activities")
        yield Footer()

    def _info(self) -> Text:
        a, tz = self.alert, self.tz
        out = Text(end="")
        out.append(summary_of(a), "bold")
        out.append(f"\n{shown_state(a)} · rule ")
        out.append(inert_line(a.rule))
        out.append(f" · {inert_line(a.community)} · count {a.count}")
        if a.value and a.value != a.count:
            out.append(f" · value {a.value:g}")
        out.append("\n\nLabels\n", "bold")
        for k, v in sorted(a.labels.items()):
            out.append(f"  {inert_line(k)}", "italic")
            out.append(" = " + inert_line(v) + "\n")
        notes = {k: v for k, v in a.annotations.items() if v}
        if notes:
            out.append("Annotations\n", "bold")
            for k, v in sorted(notes.items()):
                out.append(f"  {inert_line(k)}", "italic")
                out.append(": " + inert(v).replace("\n", "\n    ") + "\n")
        out.append("Timeline\n", "bold")
        steps: list[tuple[int, str]] = [(a.active_at, "became active (pending)")]
        if a.fired_at is not None:
            steps.append((a.fired_at, "fired"))
        if a.acked_at is not None:
            steps.append((a.acked_at, f"acknowledged by {inert_line(a.acked_by or '?')}"))
        if a.resolved_at is not None:
            by = f" by {inert_line(a.resolved_by)}" if a.resolved_by else " (condition cleared)"
            steps.append((a.resolved_at, "resolved" + by))
        for ms, what in sorted(steps, key=lambda s: s[0]):
            out.append(f"  {_time(ms, tz)}  ", "dim")
            out.append(what + "\n")
        if a.silenced_by:
            ids = ", ".join(f"#{i}" for i in a.silenced_by)
            out.append(f"Silenced by {ids}: no notifications while it lasts\n", "italic")
        if a.notify:
            out.append("Notifies " + ", ".join(inert_line(n) for n in a.notify), "dim")
        out.rstrip()
        return out

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        ids = sorted(set(self.alert.activity_ids))[-DETAIL_ACTIVITIES:]
        found: list[Event] = []
        try:
            # the ids are store row ids; contiguous runs come back in one query
            for first, last in _runs(ids):
                found.extend(
                    e for e in await self.store.alerts.events_between(first, last) if e.id in ids
                )
        except CockpitError as exc:
            self._fill([Option(Text(inert_line(f"Cannot read activities: {exc}")), disabled=True)])
            return
        found.sort(key=lambda e: (e.ts, e.id))
        self.events = found
        if not found:
            text = (
                "No activity recorded" if not ids else "The activities are no longer in the store"
            )
            self._fill([Option(Text(text, "dim"), disabled=True)])
            return
        self._fill([Option(self._line(e), id=str(i)) for i, e in enumerate(found)])

    def _fill(self, options: Sequence[Option]) -> None:
        box = self.query_one(OptionList)
        box.clear_options()
        box.add_options(options)
        if options and not options[0].disabled:
            box.highlighted = 0

    def _line(self, e: Event) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis", end="")
        out.append(from_ms(e.ts).astimezone(self.tz).strftime("%m-%d %H:%M "), "dim")
        out.append(platform_badge(e.platform) + " ", "bold")
        out.append("#" + inert_line(e.channel) + " ")
        out.append(inert_line(e.author), "bold")
        out.append("  ")
        if e.kind.value != "message":
            out.append(f"[{e.kind.value}] ", "italic")
        out.append(inert_line(e.text))
        return out

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or -1)
        if 0 <= index < len(self.events):
            self._open_activity(self.events[index])

    @work(exclusive=True, group="open")
    async def _open_activity(self, e: Event) -> None:

        row = await self.store.activity(e.platform, e.source_id)
        if row is None:
            self.notify("That activity is no longer in the store")
            return
        self.app.push_screen(ActivityDetail(row, self.store, self.tz))

    def action_act(self, action: str) -> None:
        self.dismiss(action)


def _runs(ids: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted ids as (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for i in ids:
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


class SilenceDialog(ModalScreen[SilenceRequest | None]):
    """How long and why; by default exactly this alert, optionally every alert of its rule."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Silence"),
    ]

    def __init__(self, alert: AlertRow) -> None:
        super().__init__()
        self.alert = alert

    def compose(self) -> ComposeResult:
        a = self.alert
        with Vertical(id="silence-box") as box:
            box.border_title = f"Silence alert #{a.id}"
            yield Static(self._matchers_text(False), markup=False, id="silence-matchers")
            yield Checkbox(
                Text(f"every alert of rule {inert_line(a.rule)}"), False, id="silence-rule"
            )
            yield Static("For how long (30m, 2h, 1d)", markup=False, classes="silence-label")
            yield Input("2h", id="silence-duration")
            yield Static("Why (shown to every operator)", markup=False, classes="silence-label")
            yield Input(placeholder="e.g. known raid, mods on it", id="silence-comment")
            yield Static("", markup=False, id="silence-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#silence-comment", Input).focus()

    def matchers(self, whole_rule: bool) -> tuple[Matcher, ...]:
        # built directly (not parsed): label values are untrusted and may hold spaces or quotes
        labels = self.alert.labels
        if whole_rule:
            name = labels.get("alertname", self.alert.rule)
            return (Matcher("alertname", "=", name),)
        return tuple(Matcher(k, "=", v) for k, v in sorted(labels.items()))

    def _matchers_text(self, whole_rule: bool) -> Text:
        out = Text("Matches ", end="")
        out.append(" ".join(inert_line(str(m)) for m in self.matchers(whole_rule)), "bold")
        return out

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.query_one("#silence-matchers", Static).update(self._matchers_text(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        error = self.query_one("#silence-error", Static)
        raw = self.query_one("#silence-duration", Input).value.strip()
        try:
            duration = parse_duration(raw)
        except ValueError as exc:
            error.update(Text(inert_line(str(exc)), "bold"))
            self.query_one("#silence-duration", Input).focus()
            return
        if duration.total_seconds() <= 0:
            error.update(Text("The duration must be positive", "bold"))
            return
        comment = self.query_one("#silence-comment", Input).value.strip()
        if not comment:
            error.update(Text("Say why: the comment is shown to every operator", "bold"))
            self.query_one("#silence-comment", Input).focus()
            return
        whole = self.query_one("#silence-rule", Checkbox).value
        self.dismiss(SilenceRequest(self.matchers(whole), duration, comment))

    def action_cancel(self) -> None:
        self.dismiss(None)


class SilencesScreen(ModalScreen[None]):
    """Silences, newest first; `e` ends the selected one now."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("e", "expire", "Expire"),
    ]

    def __init__(self, pane: AlertsPane) -> None:
        super().__init__()
        self.pane = pane
        self.rows: list[SilenceRow] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="silences-box") as box:
            box.border_title = "Silences"
            yield Static(Text("Loading…", "dim"), markup=False, id="silences-empty")
            yield DataTable[Text](id="silences-table", cursor_type="row", cell_padding=1)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("#", "state", "until", "matchers", "comment", "by"):
            table.add_column(label, key=label)
        table.focus()
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        store = self.pane.alert_store()
        if store is None:
            return
        now = to_ms(self.pane.now())
        self.rows = await store.silences()
        tz = self.pane.tz()
        table = self.query_one(DataTable)
        table.clear()
        for s in self.rows:
            table.add_row(
                Text(str(s.id)),
                Text(s.state(now)),
                Text(from_ms(s.ends).astimezone(tz).strftime("%m-%d %H:%M")),
                Text(fit(" ".join(inert_line(str(m)) for m in s.matchers), 40)),
                Text(fit(inert_line(s.comment), 30)),
                Text(fit(inert_line(s.created_by), 12)),
                key=str(s.id),
            )
        empty = self.query_one("#silences-empty", Static)
        empty.update(Text("No silences. `s` on an alert adds one.", "dim"))
        empty.display = not self.rows

    def action_expire(self) -> None:
        table = self.query_one(DataTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return
        silence = self.rows[table.cursor_row]
        if self.pane.read_only():
            self.notify(READ_ONLY, severity="warning")
            return
        if (
            not silence.active(to_ms(self.pane.now()))
            and silence.state(to_ms(self.pane.now())) == "expired"
        ):
            self.notify(f"Silence #{silence.id} has already expired")
            return
        self._expire(silence.id)

    @work(group="alerts-write")
    async def _expire(self, silence_id: int) -> None:
        store = self.pane.alert_store()
        if store is None:
            return
        try:
            await operations.expire(store, silence_id, to_ms(self.pane.now()))
        except CockpitError as exc:
            self.notify(inert_line(str(exc)), severity="error")
            return
        self.notify(f"Silence #{silence_id} expired")
        self.load()
