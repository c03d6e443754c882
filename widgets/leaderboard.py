"""The Leaderboard pane: who carries the community, per window, with each score explained.

The ranking is computed in a worker (on a big store the first catch-up of the rollup and
the PageRank take a moment), refreshed every few seconds while the store grows, and on
being shown. With no ranked activity the pane keeps its empty state exactly as it was.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, DataTable, Footer, Static
from textual.widgets.data_table import RowDoesNotExist

from cockpit.commands.leaderboard import TERM_LABELS
from cockpit.errors import CockpitError, StoreError
from cockpit.scoring.config import ScoringSettings
from cockpit.scoring.health import health
from cockpit.scoring.leaderboard import Standing, leaderboard
from cockpit.scoring.rank import WINDOWS, Term
from cockpit.scoring.repository import ScoringRepository
from cockpit.store.base import Store
from cockpit.textsafe import inert_line

from .common import platform_badge, safe
from .context import PaneContext
from .health import HealthScreen
from .messages import OpenMember
from .pane import Pane

WINDOW_CYCLE = tuple(WINDOWS)  # 7d, 30d, 90d, all
DEFAULT_WINDOW = "30d"
LIMIT = 50
REFRESH_SECONDS = 5.0
STALE_SECONDS = 60.0  # recompute even without new activity (links, a new day)
LOADING_DELAY = 0.3  # fast computes never flash the loading line
COLUMNS = ("#", "person", "on", "score", "trend", "churn", "level", "infl", "badges")
PERSON_WIDTH = 22


def window_label(window: str) -> str:
    return "all time" if window == "all" else f"last {WINDOWS[window]} days"


def trend_of(s: Standing, window: str) -> str:
    """'▲3', '▼1', '=' or 'new'; all time has no window before it to compare with."""
    return "·" if window == "all" else s.trend()


def platforms_of(s: Standing) -> str:
    return " ".join(platform_badge(p) for p in s.who.platforms)


def person_of(s: Standing, width: int | None = None) -> Text:
    text = safe(s.who.name)
    if s.who.handle and s.who.handle != s.who.name:
        text.append(" @" + inert_line(s.who.handle), "dim")
    if width is not None and text.cell_len > width:
        text.truncate(width - 1)
        text.append("…")
    return text


def row_cells(s: Standing, window: str) -> list[Text]:
    """One table row; every cell a Text, so no name is ever read as markup."""
    trend = trend_of(s, window)
    trend_style = "green" if trend.startswith("▲") else "red" if trend.startswith("▼") else "dim"
    return [
        Text(str(s.rank), justify="right"),
        person_of(s, PERSON_WIDTH),
        Text(platforms_of(s), "bold"),
        Text(score_text(s.score), justify="right"),
        Text(trend, trend_style),
        Text(f"⚠ {s.churn}", "bold yellow") if s.churn else Text(""),
        Text(s.level),
        Text(str(s.influence), justify="right"),
        Text(", ".join(s.badges), "italic"),
    ]


def score_text(score: float) -> str:
    """One decimal keeps the column aligned; the explanation shows two."""
    return f"{score:.1f}"


def shown_points(terms: tuple[Term, ...] | list[Term], score: float) -> list[int]:
    """Each term's points in cents, so the shown terms add up to the shown total.

    Largest remainder: every term is its value rounded down or up by one cent.
    """
    cents = [t.points * 100 for t in terms]
    floors = [math.floor(c) for c in cents]
    spare = round(score * 100) - sum(floors)
    order = sorted(range(len(cents)), key=lambda i: floors[i] - cents[i])
    for i in order[: max(0, min(spare, len(order)))]:
        floors[i] += 1
    return floors


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def explanation(s: Standing, window: str, settings: ScoringSettings) -> Table:
    """The score term by term: counted, after decay, × weight, = points, and the total."""
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold", expand=False)
    table.add_column("term", no_wrap=True, overflow="ellipsis", max_width=34)
    for name in ("count", "decayed", "weight", "points"):
        table.add_column(name, justify="right", no_wrap=True)
    points = shown_points(s.terms, s.score)
    for t, p in zip(s.terms, points, strict=True):
        table.add_row(
            Text(TERM_LABELS.get(t.name, t.name)),
            Text(str(t.count)),
            Text(f"{t.decayed:.2f}"),
            Text(f"× {t.weight:g}"),
            Text(money(p)),
        )
    table.add_row(
        Text("total", "bold"), Text(""), Text(""), Text(""), Text(money(sum(points)), "bold")
    )
    table.caption = (
        f"{window_label(window)}; an action a month old counts {settings.decay_per_month:g}"
    )
    table.caption_justify = "left"
    return table


class ExplainScreen(ModalScreen[None]):
    """Why someone ranks where they do; `m` goes on to their member view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("m", "member", "Member view"),
    ]

    def __init__(
        self, standing: Standing, window: str, settings: ScoringSettings, tz: tzinfo
    ) -> None:
        super().__init__()
        self.standing = standing
        self.window = window
        self.settings = settings
        self.tz = tz

    def compose(self) -> ComposeResult:
        s = self.standing
        with Vertical(id="explain-box") as box:
            box.border_title = f"Why #{s.rank} · {self.window}"
            yield Static(self._head(), markup=False, id="explain-head")
            with VerticalScroll(id="explain-body"):
                yield Static(
                    explanation(s, self.window, self.settings), markup=False, id="explain-terms"
                )
                yield Static(self._extra(), markup=False, id="explain-extra")
            with Horizontal(id="explain-buttons"):
                yield Button("Member view (m)", id="explain-member", variant="primary")
                yield Button("Close (esc)", id="explain-close")
        yield Footer()

    def _head(self) -> Text:
        s = self.standing
        head = Text(end="", no_wrap=True, overflow="ellipsis")
        head.append_text(person_of(s))
        head.stylize("bold", 0, len(inert_line(s.who.name)))
        head.append(f"  {', '.join(s.who.platforms)}\n", "dim")
        head.append(f"rank {s.rank or '-'} · score {s.score:.2f} · {s.level}")
        head.append(f" · trend {trend_of(s, self.window)}")
        return head

    def _extra(self) -> Text:
        s = self.standing
        out = Text(end="")
        out.append(f"influence: {s.influence} people replied or reacted to them")
        out.append(f" · centrality {s.centrality:.2f}\n")
        out.append("badges: " + (", ".join(s.badges) or "none yet"))
        if s.churn:
            out.append(f"\n⚠ churn watch: {s.churn}", "bold yellow")
        if s.last_seen:
            out.append(f"\nlast active {s.last_seen.astimezone(self.tz):%Y-%m-%d}")
        return out

    def on_mount(self) -> None:
        self.query_one("#explain-member", Button).focus()

    def action_member(self) -> None:
        """Close first, so the member view's own actions land on the main screen."""
        ids = self.standing.who.member_ids
        self.dismiss()
        if ids:
            self.app.post_message(OpenMember(ids[0]))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "explain-member":
            self.action_member()
        else:
            self.dismiss()


class LeaderTable(DataTable[Text]):
    """The ranking; Enter explains the row under the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Explain"),
        Binding("m", "member", "Member"),
    ]

    def action_member(self) -> None:
        pane = self.parent
        if isinstance(pane, LeaderboardPane):
            pane.open_member_at_cursor()


@dataclass(frozen=True, slots=True)
class Board:
    """One computed ranking, and what it was computed from."""

    window: str
    community: str
    rows: list[Standing]
    anyone: bool  # someone is ranked in some window (else: the empty state)
    signature: tuple[int, str, int]  # (max activity id, window, day)


class LeaderboardPane(Pane):
    pane_id = "leaderboard"
    title = "Leaderboard"
    headline = "No leaderboard yet"
    detail = (
        "The most helpful and most active members of the week will be ranked here, "
        "across every platform; a member's standing also shows in their member view."
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "cycle_window", "Window"),
        Binding("h", "health", "Health"),
        Binding("r", "refresh", "Recompute", show=False),
    ]

    def __init__(self, ctx: PaneContext, *, number: int, classes: str = "") -> None:
        super().__init__(ctx, number=number, classes=classes)
        self.window = DEFAULT_WINDOW
        self.board: Board | None = None
        self.message: str | None = None  # why there is no ranking (misconfiguration)
        self.computing = False
        self.slow = False  # loading for longer than LOADING_DELAY: the line shows
        self._generation = 0
        self._loaded_at = 0.0
        self._computed_at = 0.0
        self._loading_timer: Timer | None = None
        self._scoring: ScoringRepository | None = None
        self._scoring_of: Store | None = None  # the store `_scoring` reads
        self._filled: Board | None = None

    def compose(self) -> ComposeResult:
        yield Static("", markup=False, id="lb-status")
        yield from super().compose()
        table = LeaderTable(id="lb-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table

    def on_mount(self) -> None:
        self._draw()
        self.set_interval(0.25, self._tick)

    # ------------------------------------------------------------ data

    def _scoring_store(self) -> ScoringRepository | None:
        """The feature's repository on the cockpit's store, once it is open (not closing)."""
        store = self.ctx.store
        if store is None or not self.ctx.ready:
            return None
        if self._scoring is None or self._scoring_of is not store:
            self._scoring, self._scoring_of = store.scoring(self.ctx.scoring), store
        return self._scoring

    def _tick(self) -> None:
        """Cheap: a refresh only starts when due, and only while the pane is on screen."""
        if self.computing or not self.display or self._scoring_store() is None:
            return
        if not self._loaded_at or time.monotonic() - self._loaded_at >= REFRESH_SECONDS:
            self.reload()

    def on_focus(self, event: events.Focus) -> None:
        """Shown (key 3, tab): fresh data, and the table takes the arrow keys."""
        if self._scoring_store() is not None:
            self.reload()
        table = self.query_one(LeaderTable)
        if table.display:
            table.focus()

    def action_refresh(self) -> None:
        self.reload(force=True)

    def action_health(self) -> None:
        """The community's health figures for this window (7d when the board shows all)."""
        scoring = self._scoring_store()
        if scoring is None:
            self.notify("The store is still opening; try again in a moment.", severity="warning")
            return
        ctx = self.ctx

        async def compute(window: str) -> dict[str, Any]:
            if not ctx.read_only:
                await scoring.catch_up()
            community = await self._community(scoring)
            if community is None:
                raise CockpitError("no activity stored yet: nothing to measure")
            return await health(scoring, community, window, ctx.clock())

        self.app.push_screen(HealthScreen(compute, self.window))

    def action_cycle_window(self) -> None:
        i = WINDOW_CYCLE.index(self.window)
        self.window = WINDOW_CYCLE[(i + 1) % len(WINDOW_CYCLE)]
        self._draw()
        self.reload(force=True)

    async def _community(self, scoring: ScoringRepository) -> str | None:
        """The configured community, else the store's only one; None when it has none."""
        configured = self.ctx.community
        known = await scoring.communities()
        if configured in known:
            return configured
        if len(known) == 1:
            return known[0]
        if not known:
            return None
        listed = ", ".join(inert_line(k) for k in known[:5])
        raise CockpitError(
            f"{len(known)} communities in the store: set cockpit.community to one of {listed}"
        )

    @work(exclusive=True, group="leaderboard")
    async def reload(self, force: bool = False) -> None:
        scoring = self._scoring_store()
        if scoring is None:
            return
        window = self.window
        generation = self._start_loading()
        try:
            if not self.ctx.read_only:
                await scoring.catch_up()
            now = self.ctx.clock()
            assert self._scoring_of is not None
            signature = (await self._scoring_of.max_activity_id(), window, now.toordinal())
            fresh = time.monotonic() - self._computed_at < STALE_SECONDS
            if force or not fresh or self.board is None or self.board.signature != signature:
                self.board = await self._compute(scoring, window, now, signature)
                self._computed_at = time.monotonic()
            self.message = None
        except CockpitError as exc:
            if self.ctx.closing:
                return  # the store closed under us while quitting
            self.message = (
                f"leaderboard unavailable: {inert_line(str(exc))}"
                if isinstance(exc, StoreError)
                else str(exc)
            )
            self.board = None
        finally:
            self._stop_loading(generation)
        self._loaded_at = time.monotonic()
        self._draw()

    async def _compute(
        self,
        scoring: ScoringRepository,
        window: str,
        now: datetime,
        signature: tuple[int, str, int],
    ) -> Board | None:
        community = await self._community(scoring)
        if community is None:
            return None
        rows = await leaderboard(scoring, community, window, now, limit=LIMIT)
        anyone = bool(rows)
        if not anyone and window != "all":
            anyone = bool(
                await leaderboard(scoring, community, "all", now, limit=1, influence=False)
            )
        return Board(window, community, rows, anyone, signature)

    def _start_loading(self) -> int:
        """A loading line, but only once a compute takes longer than LOADING_DELAY."""
        self._generation += 1
        generation = self._generation
        self.computing = True
        if self._loading_timer is not None:
            self._loading_timer.stop()
        self._loading_timer = self.set_timer(LOADING_DELAY, lambda: self._slow(generation))
        return generation

    def _slow(self, generation: int) -> None:
        if self.computing and generation == self._generation:
            self.slow = True
            self._draw()

    def _stop_loading(self, generation: int) -> None:
        """A cancelled worker's cleanup must not end the loading of the one replacing it."""
        if generation != self._generation:
            return
        self.computing = self.slow = False
        if self._loading_timer is not None:
            self._loading_timer.stop()
            self._loading_timer = None

    # ------------------------------------------------------------ drawing

    def _draw(self) -> None:
        """Status line, title, table; a window change keeps the old rows until the new ones."""
        if self.gone:
            return  # the cockpit is closing: the children may be gone already
        board = self.board
        has_data = board is not None and board.anyone
        current = board is not None and board.window == self.window
        status = self.query_one("#lb-status", Static)
        table = self.query_one(LeaderTable)
        if not has_data and table.has_focus:
            self.screen.set_focus(self)  # before the table hides, or focus is lost
        self.show_empty(not has_data)
        table.display = has_data
        line: Text | None = None
        if self.slow:
            line = Text(f"Computing the leaderboard ({window_label(self.window)})…", "italic")
        elif self.message:
            line = Text(self.message, "bold yellow")
        elif board is not None and has_data and current:
            line = self._summary(board)
        elif has_data or self.window != DEFAULT_WINDOW:
            line = Text(f"{window_label(self.window)} · w: next window", "dim")
        status.display = line is not None
        if line is not None:
            line.no_wrap = True
            line.overflow = "ellipsis"
            status.update(line)
        plain = self.window == DEFAULT_WINDOW and not has_data
        self.border_title = f"{self.number} {self.title}" + ("" if plain else f" · {self.window}")
        if board is not None and has_data and board is not self._filled:
            self._fill(table, board)
        if has_data and self.has_focus:
            table.focus()

    def _summary(self, board: Board) -> Text:
        line = Text(end="")
        line.append(window_label(board.window), "bold")
        if board.rows:
            line.append(f" · top {len(board.rows)}")
            line.append(" · w window · ⏎ why · m member", "dim")
        else:
            line.append(" · nobody ranked yet", "italic")
            line.append(" · w: a longer window", "dim")
        return line

    def _fill(self, table: LeaderTable, board: Board) -> None:
        """Replace the rows, keeping the cursor on the same person."""
        current: str | None = None
        if table.row_count and 0 <= table.cursor_row < table.row_count:
            current = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self._filled = board
        table.clear()
        for s in board.rows:
            table.add_row(*row_cells(s, board.window), key=str(s.who.key))
        if current is not None:
            try:
                index = table.get_row_index(current)
            except RowDoesNotExist:
                index = 0
            table.move_cursor(row=index, animate=False)

    def standing_at_cursor(self) -> Standing | None:
        table = self.query_one(LeaderTable)
        board = self.board
        if board is None or not table.row_count or board.window != self.window:
            return None
        row = table.cursor_row
        return board.rows[row] if 0 <= row < len(board.rows) else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        s = self.standing_at_cursor()
        if s is not None:
            settings = self._scoring.settings if self._scoring else ScoringSettings()
            self.app.push_screen(ExplainScreen(s, self.window, settings, self.ctx.tz))

    def open_member_at_cursor(self) -> None:
        s = self.standing_at_cursor()
        if s is not None and s.who.member_ids:
            self.post_message(OpenMember(s.who.member_ids[0]))


__all__ = ["ExplainScreen", "LeaderboardPane", "shown_points"]
