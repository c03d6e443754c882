"""`?`: what the cockpit's marks mean and the keys of the pane in view, on one scrollable screen.

The keys are the ones that work at this moment (the App hands over its active bindings), so
the screen never lists a key that does nothing here; the concepts are written once, below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

# what the pane in view is for, and how to read it
PANE_NOTES: dict[str, Sequence[tuple[str, str]]] = {
    "feed": (
        (
            "row",
            "time · platform (DC Discord, TG Telegram, WA WhatsApp, SL Slack, DS Discourse) "
            "· #channel · author · text",
        ),
        (
            "↳ + → ← ⚙",
            "a reply · a reaction · a join · a leave · a system event; "
            "✗ deleted and (edited) say so, ⚙ before a name is a bot",
        ),
        (
            "chips",
            "the filters in force, on the line above the feed: p c u k add the platform, "
            "channel, author or kind of the row under the cursor; Backspace drops the last chip, "
            "x drops them all; / searches the text (every word must occur, accents fold)",
        ),
        ("● LIVE", "the feed follows new activity as it arrives"),
        (
            "⏸ PAUSED",
            "you scrolled up: new activity is counted (+N) but the rows stay where they "
            "are; End follows the live tail again",
        ),
    ),
    "alerts": (
        ("✖ ▲ ●", "critical · warning · info"),
        ("pending", "the rule's condition holds, but not yet for its `for` time: nobody is paged"),
        ("firing", "the condition held long enough: the rule's receivers were paged"),
        ("acked", "firing, and someone took it (a): listed as acked until it resolves"),
        ("silenced", "firing, but a silence matches it: no notifications while it lasts"),
        ("resolved", "the condition cleared (or r): listed dimmed for an hour, then behind h"),
        ("age · n", "since the state began · how many triggers it counts"),
        (
            "⚑ delete+timeout? y/n",
            "the alert's rule proposes these actions: y runs them (through the process that "
            "holds the platform's token), n rejects them; C shows the cases",
        ),
    ),
    "leaderboard": (
        (
            "score",
            "points per substantive action (message 0.5, reply 1, reply or reaction "
            "received 1, answer to a question 5, by default), each worth 0.9 per month of age; "
            "short messages and rapid-fire ones (60 s) do not count. Enter explains a score "
            "term by term",
        ),
        (
            "trend",
            "▲ ▼ places gained or lost against the window before (= unchanged); "
            "new: a newcomer not ranked then, back: returned after a pause",
        ),
        (
            "churn",
            "⚠ a regular going quiet: 50+ conversations in 90 days, then 30 days unseen "
            "(by default)",
        ),
        ("level", "newcomer → regular → contributor → core, by the score per 30 days"),
        ("infl", "influence: how many distinct people replied or reacted to them"),
    ),
    "calendar": (
        (
            "event",
            "its start in your zone, then the same moment in each region's zone "
            "(+1 / -1: the next or previous day)",
        ),
        (
            "asleep",
            "a region where the event falls outside its waking hours "
            "([calendar] awake_from / awake_until)",
        ),
        ("!", "a conflict: another event overlaps it for the same audience"),
        (
            "day strip",
            "the next 24 hours per region, from your time now: █ awake, ░ asleep; "
            "a slot the finder (g) offers falls on █ everywhere",
        ),
    ),
}

HEADER_NOTES: Sequence[tuple[str, str]] = (
    ("◆ name", "the community this cockpit watches"),
    ("▁▃▅ N/min", "activities per minute over the last 30 minutes, and the last full minute"),
    ("N active", "members who did something since midnight (your zone)"),
    ("alerts 1C 2W", "firing alerts: critical, warning, info (— : no rules configured)"),
    ("next … in", "the next calendar event and how long until it starts"),
    ("☀ ☾ clocks", "your clock and each region's, ☀ day or ☾ night there"),
)

EVERYWHERE: Sequence[tuple[str, str]] = (
    ("1 2 3 4", "Feed, Alerts, Leaderboard, Calendar"),
    ("Tab Shift+Tab", "next / previous pane (inside a form: next / previous field)"),
    ("Ctrl+P", "command palette: every action, jump to a member or a channel"),
    ("S", "sources: each connector's health"),
    ("R", "alert rules: state, fires, turn on or off, tune and backtest"),
    ("?", "this help"),
    ("q", "quit"),
)


# horizontal scrolling: nothing in the cockpit is wider than its pane
_SIDEWAYS = frozenset(
    {"scroll_left", "scroll_right", "page_left", "page_right", "cursor_left", "cursor_right"}
)


def help_keys(app: App[Any]) -> list[tuple[str, str]]:
    """The keys that work on the screen in view, as (key, what it does), those of the focused
    pane first; the App's own keys are listed once, under "Everywhere"."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for active in app.screen.active_bindings.values():
        binding = active.binding
        if (
            active.node is app
            or active.node is app.screen
            or not binding.description
            or binding.action in seen
            or binding.action in _SIDEWAYS
        ):
            continue
        seen.add(binding.action)
        same = [
            app.get_key_display(b.binding)
            for b in app.screen.active_bindings.values()
            if b.binding.action == binding.action and b.node is active.node
        ]
        out.append((" ".join(dict.fromkeys(same)), binding.description))
    return out


def _section(title: str, rows: Sequence[tuple[str, str]]) -> list[RenderableType]:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(ratio=1)
    for term, text in rows:
        grid.add_row(term, text)
    return [Text(f"\n{title}", "bold underline"), Padding(grid, (0, 0, 0, 2))]


def help_text(pane_id: str, pane_title: str, keys: Sequence[tuple[str, str]]) -> Group:
    """Everything the screen says, for the pane `pane_id` with these (key, what) bindings."""
    parts: list[RenderableType] = [Text(f"{pane_title}: keys here", "bold underline")]
    # two to a line: at 80x24 the notes below stay in view
    grid = Table.grid(padding=(0, 1))
    for _ in range(2):
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(ratio=1)
    for i in range(0, len(keys), 2):
        pair = [cell for key in keys[i : i + 2] for cell in key]
        grid.add_row(*pair)
    parts.append(Padding(grid, (0, 0, 0, 2)))
    notes = PANE_NOTES.get(pane_id)
    if notes:
        parts += _section(f"Reading the {pane_title}", notes)
    parts += _section("Everywhere", EVERYWHERE)
    parts += _section("The header", HEADER_NOTES)
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    """The help: keys of the pane in view, what its marks mean, the header, the global keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
        Binding("home", "top", "Top", show=False),
    ]

    def __init__(self, pane_id: str, pane_title: str, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.pane_id = pane_id
        self.pane_title = pane_title
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box") as box:
            box.border_title = f"Help · {self.pane_title}"
            box.border_subtitle = "↑↓ PgUp PgDn scroll · Esc close"
            with VerticalScroll(id="help-scroll"):
                yield Static(
                    help_text(self.pane_id, self.pane_title, self.keys),
                    markup=False,
                    id="help-text",
                )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_top(self) -> None:
        self.query_one(VerticalScroll).scroll_home(animate=False)
