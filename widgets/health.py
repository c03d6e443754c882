"""The health view: how the community is doing, the figures of `cockpit health` on one screen.

Opened with `h` on the Leaderboard pane (for its window) or from the palette. Members and
growth, daily/weekly/monthly active, who speaks, questions and how fast they are answered,
topic heat, the churn watch and newcomers who never came back, with the daily activity as a
sparkline. Computed in a worker from the same rollups as the leaderboard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from cockpit.errors import CockpitError
from cockpit.textsafe import inert_line

from .common import sparkline

Compute = Callable[[str], Awaitable[dict[str, Any]]]
WINDOWS = ("7d", "30d", "90d")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _row(out: Text, label: str, value: str, note: str = "", style: str = "") -> None:
    out.append(f"{label:<15}", "dim")
    out.append(value, style or "bold")
    if note:
        out.append(f"  {note}", "dim")
    out.append("\n")


def health_text(h: dict[str, Any], width: int = 70) -> Text:
    """The figures as an operator reads them; untrusted terms and names shown literally."""
    out = Text(end="")
    out.append(f"{inert_line(h['community'])}", "bold")
    out.append(f"  {h['from'][:10]} – {h['until'][:10]} ({h['window']})\n\n", "dim")
    growth = h["growth"]
    _row(
        out,
        "members",
        f"{h['members']:,}",
        f"{h['new_members']:+,} ({_pct(growth)}) · joins {h['joins']:,} · leaves {h['leaves']:,}",
    )
    _row(
        out,
        "active",
        f"DAU {h['dau']:,} · WAU {h['wau']:,} · MAU {h['mau']:,}",
        f"stickiness {_pct(h['stickiness'])}",
    )
    _row(out, "spoke", f"{h['speakers']:,} of {h['members']:,}", _pct(h["share_speaking"]))
    wait = h["median_first_response_s"]
    unanswered = h["unanswered"]
    _row(
        out,
        "questions",
        f"{h['questions']:,} asked · {unanswered:,} unanswered",
        "median first response " + ("—" if wait is None else f"{wait / 60:.1f} min"),
        "bold yellow" if unanswered else "",
    )
    daily = [d["active"] for d in h["daily"]]
    if daily:
        out.append(f"{'daily active':<15}", "dim")
        out.append(sparkline(daily, min(len(daily), max(10, width - 30))), "green")
        out.append(f"  {min(daily):,}–{max(daily):,}\n", "dim")
    heat = h["topic_heat"]
    out.append(f"{'topic heat':<15}", "dim")
    if heat:
        out.append(
            ", ".join(
                f"{inert_line(t['term'])} ({t['last_week']}→{t['this_week']})" for t in heat[:6]
            )
        )
    else:
        out.append("—")
    out.append("\n")
    gone = h["newcomers_gone"]
    _row(out, "newcomers", f"{h['newcomers']:,}", f"{len(gone):,} never came back")
    churn = h["churn_watch"]
    _row(
        out,
        "churn watch",
        f"{len(churn)} core member{'s' * (len(churn) != 1)} gone quiet",
        style="bold red" if churn else "",
    )
    for c in churn[:8]:
        out.append(f"  {inert_line(c['name'])[:28]:<28}", "")
        out.append(
            f" quiet {c['days_quiet']} d · {c['conversations_90d']} conversations before"
            f" · {', '.join(c['platforms'])}\n",
            "dim",
        )
    latest = h["unanswered_latest"]
    if latest:
        out.append("\nWaiting for an answer (UTC)\n", "bold")
        for q in latest:
            line = Text(end="")
            line.append(f"  {q['ts'][5:10]} {q['ts'][11:16]} ", "dim")
            line.append(f"{inert_line(str(q['platform']))} #{inert_line(str(q['channel']))} ")
            line.append(f"{inert_line(str(q['author']))[:20]}: ", "bold")
            line.append(inert_line(q["text"]))
            line.truncate(width, overflow="ellipsis")
            out.append_text(line)
            out.append("\n")
    out.rstrip()
    return out


class HealthScreen(ModalScreen[None]):
    """`w` switches the window; the figures are recomputed for it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("w", "cycle_window", "Window"),
    ]

    def __init__(self, compute: Compute, window: str = "7d") -> None:
        super().__init__()
        self.compute = compute
        self.window = window if window in WINDOWS else "7d"
        self.figures: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="health-box") as box:
            box.border_title = "Community health"
            with VerticalScroll(id="health-scroll"):
                yield Static(Text("Computing…", "dim"), markup=False, id="health-body")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def action_cycle_window(self) -> None:
        self.window = WINDOWS[(WINDOWS.index(self.window) + 1) % len(WINDOWS)]
        self.query_one("#health-body", Static).update(Text("Computing…", "dim"))
        self.load()

    @work(exclusive=True, group="health")
    async def load(self) -> None:
        try:
            figures = await self.compute(self.window)
        except CockpitError as exc:
            if self.is_attached:
                self.query_one("#health-body", Static).update(Text(str(exc), "red"))
            return
        if not self.is_attached:
            return
        self.figures = figures
        body = self.query_one("#health-body", Static)
        body.update(health_text(figures, max(40, body.size.width or 70)))
