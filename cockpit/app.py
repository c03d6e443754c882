"""The cockpit TUI: the only module of `cockpit` that imports Textual.

The App reads the store and either runs the configured sources in-process (their writer
tells it about each commit) or attaches to a store another process writes (it polls for
new rows twice a second). All I/O runs in workers on the App's event loop; new rows are
coalesced into one feed refresh per tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.containers import Container
from textual.css.query import NoMatches
from textual.events import Resize
from textual.fuzzy import Matcher
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input

from cockpit import namematch
from cockpit.collect.health import summarize
from cockpit.collect.repository import HealthRow
from cockpit.config import Config
from cockpit.errors import CockpitError
from cockpit.model import Kind
from cockpit.pipeline import BatchingWriter
from cockpit.registry import Registry
from cockpit.runtime import Runtime
from cockpit.store import open_store, redact_url
from cockpit.store.base import ChannelRow, MemberRow, Store, WriteResult
from cockpit.textsafe import inert_line
from cockpit.timeutil import utcnow, zone

if TYPE_CHECKING:  # mypy sees widgets/ at the repo root; it installs as cockpit.widgets
    import widgets as widgets_pkg
    from widgets.context import PaneContext
    from widgets.detail import ActivityDetail
    from widgets.feed import FeedPane, FeedView, Filters
    from widgets.header import Pulse, PulseHeader
    from widgets.help import HelpScreen, help_keys
    from widgets.leaderboard import LeaderboardPane
    from widgets.member import MemberScreen
    from widgets.messages import ActOn, AlertCounts, NextEvent, OpenMember, ShowPane
    from widgets.moderation import ActScreen, CasesScreen
    from widgets.pane import PaneBar
    from widgets.panes import PANES
    from widgets.rules import RulesScreen
    from widgets.sources import SourcesScreen
else:
    import cockpit.widgets as widgets_pkg
    from cockpit.widgets.context import PaneContext
    from cockpit.widgets.detail import ActivityDetail
    from cockpit.widgets.feed import FeedPane, FeedView, Filters
    from cockpit.widgets.header import Pulse, PulseHeader
    from cockpit.widgets.help import HelpScreen, help_keys
    from cockpit.widgets.leaderboard import LeaderboardPane
    from cockpit.widgets.member import MemberScreen
    from cockpit.widgets.messages import ActOn, AlertCounts, NextEvent, OpenMember, ShowPane
    from cockpit.widgets.moderation import ActScreen, CasesScreen
    from cockpit.widgets.pane import PaneBar
    from cockpit.widgets.panes import PANES
    from cockpit.widgets.rules import RulesScreen
    from cockpit.widgets.sources import SourcesScreen

Clock = Callable[[], datetime]

WIDE_COLUMNS = 120
log = logging.getLogger("cockpit.tui")
POLL_SECONDS = 0.5
TICK_SECONDS = 0.25
PULSE_MINUTES = 30
PALETTE_MEMBERS = 1000
_STYLES = Path(widgets_pkg.__file__).parent
PANE_IDS = tuple(p.pane_id for p in PANES)
PANE_TITLES = tuple(p.title for p in PANES)
_PANES = Binding.Group("Panes", compact=True)


class CockpitScreen(Screen[None]):
    """The main screen: header strip, pane bar (small terminals), the four panes, footer."""

    AUTO_FOCUS = "#feed-view"

    def __init__(self, app: CockpitApp) -> None:
        super().__init__()
        self.cockpit = app

    def compose(self) -> ComposeResult:
        c = self.cockpit
        yield PulseHeader(
            title=c.config.cockpit.community,
            clock=c.clock,
            tz=c.tz,
            regions=c.config.cockpit.regions,
            id="pulse",
        )
        yield PaneBar(list(PANE_TITLES), id="panebar")
        with Container(id="panes", classes="-narrow"):
            for i, pane in enumerate(PANES):
                yield pane(c.pane_context, number=i + 1, classes="-active" if i == 0 else "")
        yield Footer()

    def on_mount(self) -> None:
        self.apply_layout(self.size.width)
        self.call_after_refresh(self._focus_feed)
        self.cockpit.start()

    def _focus_feed(self) -> None:
        if self.focused is None:
            self.query_one(FeedView).focus()

    def on_resize(self, event: Resize) -> None:
        self.apply_layout(event.size.width)

    def apply_layout(self, width: int) -> None:
        """Tiled on wide terminals (the feed largest), tabs on small ones."""
        wide = width >= WIDE_COLUMNS
        self.set_class(wide, "-wide")
        panes = self.query_one("#panes")
        panes.set_class(wide, "-wide")
        panes.set_class(not wide, "-narrow")
        self.query_one(Footer).compact = not wide


class MemberProvider(Provider):
    """Members by what the operator types: forgiving over names, @handles and ids, accents
    folded (cockpit.namematch), over the most active members as the store has them when the
    palette opens, plus the store's exact lookups for everyone else."""

    discover_members: ClassVar[bool] = True

    def _cockpit(self) -> CockpitApp | None:
        return self.app if isinstance(self.app, CockpitApp) else None

    async def startup(self) -> None:
        app = self._cockpit()
        if app is not None:
            await app.refresh_palette_members()

    async def discover(self) -> Hits:
        app = self._cockpit()
        if app is None or not self.discover_members:
            return
        for m in app.palette_members[:50]:
            yield DiscoveryHit(
                _member_title(m), partial(app.open_member, m.id), help=_member_help(m)
            )

    async def search(self, query: str) -> Hits:
        app = self._cockpit()
        if app is None or app.store is None:
            return
        term = query.strip()
        matcher = self.matcher(term)
        seen: set[int] = set()
        for found in namematch.rank(term, app.palette_members):
            seen.add(found.member.id)
            yield self._hit(app, found.member, found.score, matcher)
        if len(term) >= 2:
            for m in await app.store.find_members(term.lstrip("@")):
                if m.id not in seen:
                    yield self._hit(app, m, namematch.EXACT, matcher)

    @staticmethod
    def _hit(app: CockpitApp, m: MemberRow, score: float, matcher: Matcher) -> Hit:
        title = _member_title(m)
        return Hit(
            score, matcher.highlight(title), partial(app.open_member, m.id), title, _member_help(m)
        )


class ExactMemberProvider(MemberProvider):
    """The main palette finds members too, but lists none before something is typed."""

    discover_members = False


class ChannelProvider(Provider):
    """Channels of every platform; choosing one narrows the feed to it."""

    def _items(self) -> list[tuple[str, Callable[[], None]]]:
        app = self.app
        if not isinstance(app, CockpitApp):
            return []
        return [
            (
                _channel_title(ch),
                partial(app.set_filter_on, "channels", (ch.platform, ch.channel_id, ch.name)),
            )
            for ch in app.palette_channels
        ]

    async def discover(self) -> Hits:
        for title, callback in self._items()[:50]:
            yield DiscoveryHit(title, callback)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback in self._items():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, title)


def _member_title(m: MemberRow) -> str:
    handle = f" @{inert_line(m.handle)}" if m.handle and m.handle != m.display_name else ""
    return f"Jump to member: {inert_line(m.display_name)}{handle} ({m.platform})"


def _member_help(m: MemberRow) -> str:
    return f"{m.activity_count} activities · id {inert_line(m.platform_user_id)}"


def _channel_title(ch: ChannelRow) -> str:
    return f"Jump to channel: #{inert_line(ch.name)} ({ch.platform})"


class CockpitApp(App[int]):
    """The cockpit. `attach=True` only watches a store that `cockpit collect` writes."""

    CSS_PATH: ClassVar[str | PurePath | list[str | PurePath] | None] = [
        _STYLES / "cockpit.tcss",
        _STYLES / "header.tcss",
        *(_STYLES / f"{p.pane_id}.tcss" for p in PANES),
        _STYLES / "detail.tcss",
        _STYLES / "member.tcss",
        _STYLES / "sources.tcss",
        _STYLES / "rules.tcss",
        _STYLES / "help.tcss",
    ]
    COMMANDS = App.COMMANDS | {ExactMemberProvider}
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        *(
            Binding(str(i + 1), f"show_pane({i})", p.title, group=_PANES)
            for i, p in enumerate(PANES)
        ),
        Binding("S", "sources", "Sources", show=False),
        Binding("R", "rules", "Rules", show=False),
        Binding("C", "cases", "Cases", show=False),
        Binding("tab", "cycle(1)", "Next pane", show=False, priority=True),
        Binding("shift+tab", "cycle(-1)", "Previous pane", show=False, priority=True),
    ]

    def __init__(
        self,
        *,
        store_path: Path | str,
        config: Config,
        registry: Registry,
        attach: bool,
        clock: Clock | None = None,
        poll_interval: float = POLL_SECONDS,
        live: bool = True,
    ) -> None:
        super().__init__()
        self.store_path = store_path
        self.config = config
        self.registry = registry
        self.attach = attach
        self.clock: Clock = clock or utcnow
        self.poll_interval = poll_interval
        self.live = live
        self.tz: tzinfo = zone(config.cockpit.timezone)
        self.pane_context = PaneContext(
            config, self.clock, self.tz, attached=attach, store_target=store_path
        )
        self.store: Store | None = None
        self.runtime: Runtime | None = None  # the sources, writer and features, unless attached
        self.health: list[HealthRow] = []
        self.palette_members: list[MemberRow] = []
        self.palette_channels: list[ChannelRow] = []
        self.pane_index = 0
        self.ready = False
        self.first_paint: float | None = None
        self._max_seen = 0
        self._notified = 0
        self._pulse_dirty = True
        self._pulse_at = 0.0
        self._stopped = False
        community = config.cockpit.community
        self.title = f"Cockpit · {community}"
        self.sub_title = redact_url(str(self.store_path))

    def get_default_screen(self) -> Screen[None]:
        return CockpitScreen(self)

    # ------------------------------------------------------------ lifecycle

    @work(exclusive=True, group="start")
    async def start(self) -> None:
        """Open the store, start (or attach to) the sources, load the first page."""
        try:
            store = await open_store(self.store_path, readonly=self.attach, clock=self.clock)
        except CockpitError as exc:
            self.exit(1, return_code=1, message=str(exc))
            return
        self.store = self.pane_context.store = store
        if not self.attach and self.live:
            runtime = self.runtime = Runtime(self.config, store, self.registry, clock=self.clock)
            runtime.writer.listeners.append(self._on_commit)
            await runtime.start_webhooks()
            runtime.start_sources()
        top = await store.max_activity_id()
        self._max_seen = self._notified = top
        self.screen_stack[0].query_one(FeedView).bind(store, top)
        await self.refresh_pulse()
        self.ready = True
        self.set_interval(TICK_SECONDS, self._tick)
        if self.attach:
            self.follow_changes()
        self.set_interval(2.0, self._pulse_tick)
        self.load_palette()
        if self.runtime is not None:
            self.start_features(self.runtime)

    @property
    def writer(self) -> BatchingWriter | None:
        return self.runtime.writer if self.runtime is not None else None

    @work(exclusive=True, group="features")
    async def start_features(self, runtime: Runtime) -> None:
        """Alert rules, rollups and reminders follow the writer, as under `cockpit collect`;
        started after the first paint so the feed never waits for the alerts' warm-up."""
        try:
            await runtime.start_features()
        except Exception as exc:  # the feed must stay up even if a feature cannot start
            self.notify(f"alerts/rollups not running: {exc}", severity="error", timeout=15)

    def _on_commit(self, result: WriteResult) -> None:
        if result.new_ids:
            self._max_seen = max(self._max_seen, result.new_ids[1])

    def _tick(self) -> None:
        """One feed refresh per tick, however many commits landed since the last."""
        if self._stopped:
            return
        if self._max_seen > self._notified:
            self._notified = self._max_seen
            self._pulse_dirty = True
            self.screen_stack[0].query_one(FeedView).tail(self._max_seen)

    @work(exclusive=True, group="follow")
    async def follow_changes(self) -> None:
        """Attached: learn of new rows as the store announces them (PostgreSQL pushes them
        with LISTEN/NOTIFY; SQLite is polled every `poll_interval`). A lost connection is
        retried; whatever landed meanwhile is read at once on return."""
        while not self._stopped and self.store is not None:
            try:
                self._max_seen = max(self._max_seen, await self.store.max_activity_id())
                async for note in self.store.changes(self.poll_interval):
                    kind, _, value = note.partition(":")
                    if kind == "activity" and value.isdigit():
                        self._max_seen = max(self._max_seen, int(value))
                    elif kind == "alert":
                        self._pulse_dirty = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server restarted, the network blinked
                log.warning("store notifications lost (%s); reconnecting", exc)
            await asyncio.sleep(2.0)

    def _pulse_tick(self) -> None:
        if self._stopped:
            return
        if self._pulse_dirty or time.monotonic() - self._pulse_at > 15:
            self._pulse_dirty = False
            self._pulse_worker()

    @work(exclusive=True, group="pulse")
    async def _pulse_worker(self) -> None:
        await self.refresh_pulse()

    async def refresh_pulse(self) -> None:
        """Activities per minute (last half hour), active members today, source state."""
        if self.store is None or self._stopped:
            return
        self._pulse_at = time.monotonic()
        now = self.clock()
        minute = now.replace(second=0, microsecond=0)
        counts = await self.store.activity_counts(
            minute - timedelta(minutes=PULSE_MINUTES), timedelta(minutes=1), until=now
        )
        per_minute = [n for _, n in counts][:PULSE_MINUTES]
        local = now.astimezone(self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        active = await self.store.active_members(midnight)
        with contextlib.suppress(CockpitError, OSError):
            self.health = await self.store.health.load()
        try:
            header = self.screen_stack[0].query_one(PulseHeader)
        except (IndexError, NoMatches):  # the app is closing while we were reading
            return
        pulse = Pulse(
            per_minute=per_minute,
            active_today=active,
            alerts=header.pulse.alerts,
            next_event=header.pulse.next_event,
            mode=self._mode(),
        )
        header.show(pulse)

    def _mode(self) -> str:
        """Attached or not, and the sources' word: '3 sources', '1 failing', 'collector silent'."""
        prefix = "· attached" if self.attach else ""
        if not self.health and (self.attach or self.runtime is None):
            return prefix
        summary = summarize(((h.state, h.updated) for h in self.health), self.clock())
        return f"{prefix} · {summary.text}".strip()

    @work(exclusive=True, group="palette")
    async def load_palette(self) -> None:
        if self.store is None:
            return
        self.palette_channels = (await self.store.channels())[:2000]
        await self.refresh_palette_members()

    async def refresh_palette_members(self) -> None:
        """The most active members, read again (the palette opens on the members as of now)."""
        if self.store is not None:
            with contextlib.suppress(CockpitError):
                self.palette_members = await self.store.members(limit=PALETTE_MEMBERS)

    async def shutdown(self) -> None:
        """Stop sources, flush the writer, close the store; safe to call twice."""
        if self._stopped:
            return
        self._stopped = self.pane_context.closing = True
        cancelled = [w for w in self.workers if w.name != "shutdown"]
        for worker in cancelled:
            worker.cancel()
        # a cancelled read still closes its cursor: let it before the store closes under it
        waits = asyncio.gather(*(w.wait() for w in cancelled), return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waits, 5.0)
        if self.runtime is not None:
            with contextlib.suppress(Exception):
                await self.runtime.stop()
        if self.store is not None:
            with contextlib.suppress(Exception):
                await self.store.close()

    async def action_quit(self) -> None:
        await self.shutdown()
        self.exit(0)

    async def on_unmount(self) -> None:
        await self.shutdown()

    # ------------------------------------------------------------ navigation

    @property
    def feed_pane(self) -> FeedPane:
        return self.screen_stack[0].query_one(FeedPane)

    def _panes(self) -> list[Widget]:
        main = self.screen_stack[0]
        return [main.query_one(f"#{pid}") for pid in PANE_IDS]

    def action_show_pane(self, index: int) -> None:
        if self.screen is not self.screen_stack[0]:
            return
        self.pane_index = index % len(PANE_IDS)
        for i, pane in enumerate(self._panes()):
            pane.set_class(i == self.pane_index, "-active")
        self.screen_stack[0].query_one(PaneBar).select(self.pane_index)
        target = self._panes()[self.pane_index]
        if isinstance(target, FeedPane):
            target.view.focus()
        else:
            target.focus()

    def _current_pane(self) -> int:
        focused = self.focused
        for i, pane in enumerate(self._panes()):
            node = focused
            while node is not None:
                if node is pane:
                    return i
                node = node.parent  # type: ignore[assignment]
        return self.pane_index

    def action_cycle(self, step: int) -> None:
        """Tab: next pane (tiles or tabs); inside dialogs and inputs, the next widget."""
        if self.screen is not self.screen_stack[0] or isinstance(self.focused, Input):
            if step > 0:
                self.screen.focus_next()
            else:
                self.screen.focus_previous()
            return
        self.action_show_pane(self._current_pane() + step)

    def action_help(self) -> None:
        """The help screen: the keys that work here and what the pane in view shows."""
        if self.screen is not self.screen_stack[0]:
            return
        index = self._current_pane()
        self.push_screen(HelpScreen(PANE_IDS[index], PANE_TITLES[index], help_keys(self)))

    def action_health(self) -> None:
        self.screen_stack[0].query_one(LeaderboardPane).action_health()

    # ------------------------------------------------------------ what panes ask for

    @on(OpenMember)
    def _open_member_asked(self, message: OpenMember) -> None:
        self.open_member(message.member_id)

    @on(ShowPane)
    def _show_pane_asked(self, message: ShowPane) -> None:
        if message.pane_id in PANE_IDS:
            self.action_show_pane(PANE_IDS.index(message.pane_id))

    @on(PaneBar.Clicked)
    def _tab_clicked(self, message: PaneBar.Clicked) -> None:
        self.action_show_pane(message.index)

    @on(AlertCounts)
    def _alert_counts(self, message: AlertCounts) -> None:
        with contextlib.suppress(IndexError, NoMatches):
            header = self.screen_stack[0].query_one(PulseHeader)
            if message.counts or header.pulse.alerts:
                header.set_alerts(message.counts)

    @on(NextEvent)
    def _next_event(self, message: NextEvent) -> None:
        with contextlib.suppress(IndexError, NoMatches):
            header = self.screen_stack[0].query_one(PulseHeader)
            if message.title is not None and message.start is not None:
                header.set_next_event(message.title, message.start)
            else:
                header.clear_next_event()

    def action_sources(self) -> None:
        if self.store is not None:
            self.push_screen(SourcesScreen(self.store.health, self.tz, self.clock))
        else:
            self.notify("The store is still opening; try again in a moment.")

    def action_rules(self) -> None:
        if self.store is not None:
            self.push_screen(RulesScreen(self.pane_context, self.registry))
        else:
            self.notify("The store is still opening; try again in a moment.")

    def action_cases(self) -> None:
        if self.store is not None:
            self.push_screen(CasesScreen(self.pane_context))
        else:
            self.notify("The store is still opening; try again in a moment.")

    @on(ActOn)
    def _act_asked(self, message: ActOn) -> None:
        if self.store is None:
            self.notify("The store is still opening; try again in a moment.")
            return
        self.push_screen(
            ActScreen(
                self.pane_context,
                self.registry,
                message.target,
                message.title,
                kind=message.kind,
                platforms=message.platforms,
                everywhere=message.everywhere,
            )
        )

    def action_search(self) -> None:
        self.action_show_pane(0)
        self.feed_pane.action_search()

    def action_follow(self) -> None:
        self.action_show_pane(0)
        self.feed_pane.view.action_follow()

    def toggle_filter(self, category: str, value: object) -> None:
        if self.screen is not self.screen_stack[0]:
            self.pop_screen()
        self.action_show_pane(0)
        self.feed_pane.toggle_filter(category, value)

    def set_filter_on(self, category: str, value: object) -> None:
        """Like toggle, but never removes (jumping to a channel twice keeps it)."""
        current: tuple[object, ...] = getattr(self.feed_pane.filters, category)
        if value not in current:
            self.toggle_filter(category, value)
        else:
            self.action_show_pane(0)

    def clear_filters(self) -> None:
        self.action_show_pane(0)
        self.feed_pane.set_filters(Filters())

    def open_member(self, member_id: int) -> None:
        if self.store is not None:
            self.push_screen(MemberScreen(member_id, self.pane_context))

    def action_jump_member(self) -> None:
        self.push_screen(
            CommandPalette(providers=[MemberProvider], placeholder="Member name, @handle or id…")
        )

    def action_jump_channel(self) -> None:
        self.push_screen(CommandPalette(providers=[ChannelProvider], placeholder="Channel name…"))

    def on_feed_view_selected(self, event: FeedView.Selected) -> None:
        if self.store is not None:
            self.push_screen(ActivityDetail(event.row, self.store, self.tz))

    def on_feed_view_member_wanted(self, event: FeedView.MemberWanted) -> None:
        self.open_member(event.member_id)

    def on_member_screen_filter_member(self, event: MemberScreen.FilterMember) -> None:
        self.set_filter_on("members", (event.member_id, event.name))

    # ------------------------------------------------------------ command palette

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for i, title in enumerate(PANE_TITLES):
            yield SystemCommand(
                f"Show {title}",
                f"Switch to the {title} pane (key {i + 1})",
                partial(self.action_show_pane, i),
            )
        yield SystemCommand(
            "Search activity", "Full-text search in the feed (key /)", self.action_search
        )
        yield SystemCommand(
            "Follow live", "Jump to the newest activity and follow it (key End)", self.action_follow
        )
        yield SystemCommand("Clear filters", "Show all activity again (key x)", self.clear_filters)
        yield SystemCommand(
            "Sources", "Connector health: connected, lagging, failing (key S)", self.action_sources
        )
        yield SystemCommand(
            "Alert rules",
            "Every rule, its state and fires; turn on/off, tune, backtest (key R)",
            self.action_rules,
        )
        yield SystemCommand(
            "Cases",
            "The moderation case log, live for every operator (key C; act on a row with a)",
            self.action_cases,
        )
        yield SystemCommand(
            "Community health",
            "Members, active, questions, churn watch (key h on the Leaderboard)",
            self.action_health,
        )
        yield SystemCommand(
            "Jump to member…", "Find a member by name, @handle or id", self.action_jump_member
        )
        yield SystemCommand(
            "Jump to channel…", "Narrow the feed to one channel", self.action_jump_channel
        )
        for kind in Kind:
            yield SystemCommand(
                f"Filter by kind: {kind.value}",
                "Toggle this kind in the feed filters",
                partial(self.toggle_filter, "kinds", kind),
            )
        for platform in sorted({c.platform for c in self.palette_channels}):
            yield SystemCommand(
                f"Filter by platform: {platform}",
                "Toggle this platform in the feed filters",
                partial(self.toggle_filter, "platforms", platform),
            )
        for ch in self.palette_channels:
            yield SystemCommand(
                _channel_title(ch),
                "Show only this channel in the feed",
                partial(self.set_filter_on, "channels", (ch.platform, ch.channel_id, ch.name)),
                discover=False,
            )
        yield from super().get_system_commands(screen)


def run_cockpit(*, store_path: Path | str, config: Config, registry: Registry, attach: bool) -> int:
    """Run the TUI until the operator quits; returns an exit code."""
    app = CockpitApp(store_path=store_path, config=config, registry=registry, attach=attach)
    result = app.run()
    if app.return_code:
        return app.return_code
    return result if isinstance(result, int) else 0
