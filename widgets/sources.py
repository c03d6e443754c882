"""The sources view: each connector's health as the collector (or this cockpit) last stored it.

Opened with `S` or from the palette. It reads the store, not the process, so an operator
attached over SSH sees what `cockpit collect` sees: connected, lagging, failing or stopped,
the last event and the last contact with the platform, rate-limit waits and the reason of a
failure. Health that nobody has rewritten for a minute is shown as stale (the collector is
not running, or cannot write).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from cockpit.collect.health import STALE_AFTER, summarize
from cockpit.collect.repository import HealthRepository, HealthRow
from cockpit.textsafe import inert_line
from cockpit.timeutil import age, to_ms

from .common import Clock

MARKS = {
    "connected": ("●", "green"),
    "lagging": ("◐", "yellow"),
    "failing": ("✖", "bold red"),
    "stopped": ("○", "dim"),
    "starting": ("…", "cyan"),
}
REFRESH_SECONDS = 2.0


def ago(ts: datetime | None, now: datetime) -> str:
    """'12s', '5m', '3h', '2d' ago; '—' when never."""
    return "—" if ts is None else age(to_ms(ts), to_ms(now))


def health_table(rows: Sequence[HealthRow], now: datetime, tz: tzinfo) -> Table:
    table = Table(box=None, padding=(0, 1), show_edge=False, expand=True, header_style="bold")
    for name, kw in (
        ("", {"width": 1}),
        ("source", {"ratio": 1, "min_width": 12}),  # its name, then its type
        ("state", {}),
        ("event", {"justify": "right"}),  # age of the newest activity received
        ("contact", {"justify": "right"}),  # age of the last good round trip
        ("events", {"justify": "right"}),
        ("waits", {"justify": "right"}),
        ("err", {"justify": "right"}),
    ):
        table.add_column(name, no_wrap=True, overflow="ellipsis", **kw)
    for r in rows:
        stale = now - r.updated > STALE_AFTER
        mark, style = MARKS.get(r.state, ("?", "magenta"))
        state = Text(r.state + (" (stale)" if stale else ""), "dim" if stale else style)
        table.add_row(
            Text(mark, style),
            Text.assemble(inert_line(r.name), (f" {inert_line(r.type)}", "dim")),
            state,
            Text(ago(r.last_event, now)),
            Text(ago(r.last_ok, now)),
            Text(f"{r.events:,}"),
            Text(
                f"{r.rate_limit_waits} ({r.rate_limit_wait_s:.0f}s)" if r.rate_limit_waits else "0"
            ),
            Text(str(r.errors), "red" if r.errors else ""),
        )
    return table


def details_text(rows: Sequence[HealthRow], now: datetime, tz: tzinfo) -> Text:
    """What each source said last (the reason of a failure, what it is doing)."""
    out = Text(end="")
    summary = summarize(((r.state, r.updated) for r in rows), now)
    out.append(f"{summary.text}", "bold red" if summary.worst in ("failing", "stale") else "bold")
    if rows:
        newest = max(r.updated for r in rows)
        out.append(f" · written {ago(newest, now)} ago ({newest.astimezone(tz):%H:%M:%S})", "dim")
    for r in rows:
        if r.detail:
            out.append("\n")
            out.append(f"{inert_line(r.name)}: ", "bold")
            out.append(inert_line(r.detail), "red" if r.state == "failing" else "")
    if not rows:
        out.append(
            "\nNo source health stored yet: `cockpit collect` writes it every few seconds "
            "(and this cockpit does, for the sources it runs itself).",
            "dim",
        )
    return out


class SourcesScreen(ModalScreen[None]):
    """Connector health, refreshed every two seconds while open."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, health: HealthRepository, tz: tzinfo, clock: Clock) -> None:
        super().__init__()
        self.health = health
        self.tz = tz
        self.clock = clock
        self.rows: list[HealthRow] = []
        self.table: Table | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="sources-box") as box:
            box.border_title = "Sources"
            with VerticalScroll(id="sources-scroll"):
                yield Static(Text("Loading…", "dim"), markup=False, id="sources-table")
                yield Static("", markup=False, id="sources-details")
        yield Footer()

    def on_mount(self) -> None:
        self.load()
        self.set_interval(REFRESH_SECONDS, self.load)

    @work(exclusive=True, group="sources")
    async def load(self) -> None:
        rows = await self.health.load()
        if not self.is_attached:
            return
        self.rows = rows
        now = self.clock()
        self.table = health_table(rows, now, self.tz)
        self.query_one("#sources-table", Static).update(self.table)
        self.query_one("#sources-details", Static).update(details_text(rows, now, self.tz))
