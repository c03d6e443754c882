"""The feed pane: a live, cross-platform tail of activity with filters, follow mode and paging.

Memory stays bounded whatever the history size: the view holds a window of at most
`WINDOW` rows; scrolling past either end pages from the store by keyset (`before=(ts, id)`)
and drops rows from the far end. New activity arrives through `FeedView.tail(max_id)`,
which the app calls (coalesced) when the store has grown.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, Label, Static

from cockpit.errors import CockpitError
from cockpit.model import Kind
from cockpit.store.base import ActivityRow, FeedQuery, Store
from cockpit.textsafe import inert_line

from .common import (
    AUTHOR_HUES,
    Clock,
    author_hue,
    fit,
    platform_badge,
    platform_class,
    safe,
)
from .context import PaneContext
from .messages import ActOn

PAGE = 200
WINDOW = 1000
LIVE_LIMIT = 500
_STRIP_CACHE = 600

Key = tuple[datetime, int]


def key_of(row: ActivityRow) -> Key:
    return (row.ts, row.id)


@dataclass(frozen=True, slots=True)
class Filters:
    """What the operator narrowed the feed to; every category combines with AND, values with OR."""

    platforms: tuple[str, ...] = ()
    channels: tuple[tuple[str, str, str], ...] = ()  # (platform, channel_id, name)
    members: tuple[tuple[int, str], ...] = ()  # (member id, display name)
    kinds: tuple[Kind, ...] = ()
    search: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.platforms or self.channels or self.members or self.kinds or self.search)

    def query(self, **extra: object) -> FeedQuery:
        base = FeedQuery(
            platforms=self.platforms,
            channels=tuple(c[1] for c in self.channels),
            member_ids=tuple(m[0] for m in self.members),
            kinds=self.kinds,
            search=self.search,
        )
        return replace(base, **extra)  # type: ignore[arg-type]

    def toggle(self, category: str, value: object) -> Filters:
        """Add `value` to a category, or take it away when it is already there."""
        if category == "search":
            return replace(self, search=str(value) if value else None)
        current: tuple[object, ...] = getattr(self, category)
        changed: dict[str, Any] = {
            category: tuple(v for v in current if v != value)
            if value in current
            else (*current, value)
        }
        return replace(self, **changed)

    def chips(self) -> list[tuple[str, object, Text]]:
        """(category, value, label) for each active filter, in a stable order."""
        out: list[tuple[str, object, Text]] = []
        for p in self.platforms:
            out.append(("platforms", p, Text.assemble("platform ", safe(p))))
        for c in self.channels:
            out.append(
                ("channels", c, Text.assemble("#", safe(c[2]), f" ({platform_badge(c[0])})"))
            )
        for m in self.members:
            out.append(("members", m, Text.assemble("@", safe(m[1]))))
        for k in self.kinds:
            out.append(("kinds", k, Text(f"kind {k.value}")))
        if self.search:
            out.append(("search", self.search, Text.assemble("“", safe(self.search), "”")))
        return out


class FeedView(ScrollView, can_focus=True):
    """The activity list, rendered line by line from a bounded window of rows."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "feed--cursor",
        "feed--time",
        "feed--channel",
        "feed--text",
        "feed--reply",
        "feed--join",
        "feed--leave",
        "feed--system",
        "feed--reaction",
        "feed--deleted",
        "feed--edited",
        "feed--bot",
        "feed--dim",
        "feed--empty",
        *(f"feed--author-{i}" for i in range(AUTHOR_HUES)),
        *(
            f"feed--platform-{p}"
            for p in ("discord", "telegram", "whatsapp", "slack", "discourse", "demo", "other")
        ),
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "oldest", "Oldest loaded", show=False),
        Binding("end", "follow", "Follow"),
        Binding("enter", "open_detail", "Detail"),
        Binding("m", "open_member", "Member"),
        Binding(
            "a", "act", "Act", show=False
        ),  # in the palette and the help: the footer is full at 80 columns
        Binding("p", "filter('platforms')", "Filter platform", show=False),
        Binding("c", "filter('channels')", "Filter channel", show=False),
        Binding("u", "filter('members')", "Filter author", show=False),
        Binding("k", "filter('kinds')", "Filter kind", show=False),
    ]

    follow: reactive[bool] = reactive(True)
    pending: reactive[int] = reactive(0)
    fetching: reactive[bool] = reactive(True)

    class Selected(Message):
        """The operator asked for the detail of an activity."""

        def __init__(self, row: ActivityRow) -> None:
            super().__init__()
            self.row = row

    class MemberWanted(Message):
        def __init__(self, member_id: int) -> None:
            super().__init__()
            self.member_id = member_id

    class FilterWanted(Message):
        """Toggle one filter value taken from the row under the cursor."""

        def __init__(self, category: str, value: object) -> None:
            super().__init__()
            self.category = category
            self.value = value

    class Changed(Message):
        """Follow state, pending count or window changed (for the status line)."""

    def __init__(self, *, clock: Clock, tz: tzinfo, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.tz = tz
        self.store: Store | None = None
        self.filters = Filters()
        self.rows: list[ActivityRow] = []
        self._ids: set[int] = set()
        self.cursor = 0
        self.has_older = False
        # Before-keys of row chunks dropped from the newest end, oldest chunk first;
        # None stands for "the live edge": reload the newest page.
        self._newer: list[tuple[Key | None, int]] = []
        self.last_id = 0
        self._generation = 0
        self._busy = False
        self._tail_wanted: int | None = None
        self._cache: OrderedDict[tuple[int, int, bool, str, int], Strip] = OrderedDict()
        self.error: str | None = None

    # ------------------------------------------------------------ public API

    def bind(self, store: Store, last_id: int) -> None:
        """Attach the store (opened after compose) and load the newest page."""
        self.store = store
        self.last_id = last_id
        self.reload()

    def set_filters(self, filters: Filters) -> None:
        self.filters = filters
        self.fetching = True
        self.reload()

    @property
    def has_newer(self) -> bool:
        return bool(self._newer)

    @property
    def current(self) -> ActivityRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def tail(self, max_id: int) -> None:
        """The store holds rows up to `max_id`: fetch what matches, coalescing bursts."""
        if self.store is None or max_id <= self.last_id:
            return
        self._tail_wanted = max(max_id, self._tail_wanted or 0)
        if not self._busy:
            self._run_tail()

    # ------------------------------------------------------------ loading

    @work(exclusive=True, group="feed-load")
    async def reload(self) -> None:
        """Replace the window with the newest page for the current filters."""
        if self.store is None:
            return
        self._generation += 1
        generation = self._generation
        self.fetching = True
        self._busy = True
        try:
            top = await self.store.max_activity_id()
            rows = await self.store.feed(self.filters.query(limit=PAGE))
        except CockpitError as exc:
            self.error = str(exc)
            rows, top = [], self.last_id
        finally:
            self._busy = False
        if generation != self._generation:
            return
        self.error = None if rows or not self.error else self.error
        rows.reverse()
        self._set_rows(rows)
        self.last_id = max(self.last_id, top)
        self.has_older = len(rows) == PAGE
        self._newer.clear()
        self.pending = 0
        self.follow = True
        self.cursor = max(0, len(self.rows) - 1)
        self.fetching = False
        self._refresh_all()
        self.call_after_refresh(self._stick)
        if self._tail_wanted is not None:
            self._run_tail()

    @work(exclusive=True, group="feed-tail")
    async def _run_tail(self) -> None:
        if self.store is None or self._tail_wanted is None:
            return
        wanted, self._tail_wanted = self._tail_wanted, None
        generation = self._generation
        self._busy = True
        try:
            rows = await self.store.feed(
                self.filters.query(after_id=self.last_id, limit=LIVE_LIMIT)
            )
        except CockpitError:
            rows = []
        finally:
            self._busy = False
        if generation != self._generation:
            return
        self.last_id = max(wanted, self.last_id, *(r.id for r in rows))
        fresh = [r for r in rows if r.id not in self._ids]
        if fresh:
            self._merge_live(fresh, overflow=len(rows) == LIVE_LIMIT)
        if self._tail_wanted is not None:
            self._run_tail()

    def _merge_live(self, fresh: list[ActivityRow], overflow: bool) -> None:
        if self.follow and (overflow or self._newer):
            self.reload()
            return
        if self._newer or (not self.follow and len(self.rows) + len(fresh) > WINDOW):
            # the operator is reading history: remember there is more, don't move the view
            if not self._newer or self._newer[0][0] is not None:
                self._newer.insert(0, (None, 0))
            self.pending += len(fresh)
            self.post_message(self.Changed())
            return
        fresh.sort(key=key_of)
        if self.rows and self.has_older:
            oldest = key_of(self.rows[0])
            fresh = [r for r in fresh if key_of(r) > oldest]
        if not self.follow:
            self.pending += len(fresh)
        anchor = self._top_visible_id()
        cursor_id = self.current.id if self.current else None
        merged = self.rows + fresh
        if self.rows and fresh and key_of(fresh[0]) < key_of(self.rows[-1]):
            merged.sort(key=key_of)
        self._set_rows(merged)
        if self.follow:
            self._trim_oldest()
            self.cursor = len(self.rows) - 1
            self._refresh_all()
            self.call_after_refresh(self._stick)
        else:
            self._restore(anchor, cursor_id)
        self.post_message(self.Changed())

    @work(exclusive=True, group="feed-page")
    async def _load_older(self) -> None:
        if self.store is None or not self.rows or not self.has_older:
            return
        generation = self._generation
        oldest = self.rows[0]
        rows = await self.store.feed(self.filters.query(before=key_of(oldest), limit=PAGE))
        if generation != self._generation or not self.rows or self.rows[0].id != oldest.id:
            return
        rows = [r for r in reversed(rows) if r.id not in self._ids]
        self.has_older = len(rows) == PAGE
        if not rows:
            self.refresh()
            return
        anchor = self._top_visible_id()
        cursor_id = self.current.id if self.current else None
        self._set_rows(rows + self.rows)
        self._trim_newest()
        self._restore(anchor, cursor_id)

    @work(exclusive=True, group="feed-page")
    async def _load_newer(self) -> None:
        if self.store is None or not self._newer:
            return
        before, count = self._newer[-1]
        if before is None:
            self.reload()
            return
        generation = self._generation
        rows = await self.store.feed(self.filters.query(before=before, limit=max(count, 1)))
        if generation != self._generation or not self._newer or self._newer[-1][0] != before:
            return
        self._newer.pop()
        rows = [r for r in reversed(rows) if r.id not in self._ids]
        anchor = self._top_visible_id()
        cursor_id = self.current.id if self.current else None
        self._set_rows(sorted(self.rows + rows, key=key_of))
        self._trim_oldest()
        self._restore(anchor, cursor_id)

    # ------------------------------------------------------------ window bookkeeping

    def _set_rows(self, rows: list[ActivityRow]) -> None:
        self.rows = rows
        self._ids = {r.id for r in rows}
        self.virtual_size = Size(0, len(rows))

    def _trim_oldest(self) -> None:
        extra = len(self.rows) - WINDOW
        if extra > 0:
            self._set_rows(self.rows[extra:])
            self.cursor = max(0, self.cursor - extra)
            self.has_older = True

    def _trim_newest(self) -> None:
        extra = len(self.rows) - WINDOW
        if extra > 0:
            # before=(ts, id + 1) of the chunk's last row fetches exactly the chunk again
            last = self.rows[-1]
            self._newer.append(((last.ts, last.id + 1), extra))
            self._set_rows(self.rows[:-extra])
            self.follow = False

    def _top_visible_id(self) -> int | None:
        top = int(self.scroll_y)
        return self.rows[top].id if 0 <= top < len(self.rows) else None

    def _restore(self, anchor: int | None, cursor_id: int | None) -> None:
        """Keep the same rows under the operator's eyes after rows came or went."""
        index = {r.id: i for i, r in enumerate(self.rows)}
        if cursor_id is not None and cursor_id in index:
            self.cursor = index[cursor_id]
        self.cursor = min(max(0, self.cursor), max(0, len(self.rows) - 1))
        if anchor is not None and anchor in index:
            self.scroll_to(y=index[anchor], animate=False, immediate=True)
        self._refresh_all()

    def _refresh_all(self) -> None:
        self._cache.clear()
        self.refresh()
        self.post_message(self.Changed())

    # ------------------------------------------------------------ navigation

    def action_move(self, delta: int) -> None:
        if not self.rows:
            return
        target = self.cursor + delta
        if target >= len(self.rows):
            if self._newer:
                self._load_newer()
            else:
                self.action_follow()
            return
        self._set_cursor(max(0, target))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.scrollable_content_region.height - 1))

    def action_oldest(self) -> None:
        self._set_cursor(0)

    def action_follow(self) -> None:
        """Back to the live edge: newest rows, cursor on the last one."""
        if self._newer:
            self.fetching = True
            self.reload()
            return
        self.follow = True
        self.pending = 0
        self._newer.clear()
        self._trim_oldest()
        if self.rows:
            self.cursor = len(self.rows) - 1
        self._refresh_all()
        self._stick()
        self.call_after_refresh(self._stick)

    def _set_cursor(self, index: int) -> None:
        if not self.rows:
            return
        old = self.cursor
        self.cursor = max(0, min(index, len(self.rows) - 1))
        at_end = self.cursor == len(self.rows) - 1 and not self._newer
        if not at_end:
            self.follow = False
        elif not self.follow:
            self.follow = True
            self.pending = 0
        self._scroll_cursor_into_view()
        if old != self.cursor:
            self.refresh()
        if self.cursor < PAGE // 4 and self.has_older:
            self._load_older()
        elif len(self.rows) - self.cursor < PAGE // 4 and self._newer:
            self._load_newer()
        self.post_message(self.Changed())

    def _scroll_cursor_into_view(self) -> None:
        height = self.scrollable_content_region.height
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new < old and new < PAGE // 4 and self.has_older:
            self._load_older()
        elif new > old and new >= self.max_scroll_y and self._newer:
            self._load_newer()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """Scrolling up is reading: pause follow so the view stays put."""
        if self.follow and self.max_scroll_y > 0:
            self.follow = False

    def watch_follow(self) -> None:
        self.post_message(self.Changed())

    def watch_pending(self) -> None:
        self.post_message(self.Changed())

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y
        if 0 <= index < len(self.rows):
            if index == self.cursor and event.chain >= 2:
                self.action_open_detail()
            self._set_cursor(index)

    def action_open_detail(self) -> None:
        if self.current is not None:
            self.post_message(self.Selected(self.current))

    def action_act(self) -> None:
        row = self.current
        if row is not None:
            title = f"Act on {row.platform}:{row.source_id} by {inert_line(row.author)}"
            self.post_message(ActOn(f"{row.platform}:{row.source_id}", title))

    def action_open_member(self) -> None:
        if self.current is not None:
            self.post_message(self.MemberWanted(self.current.member_id))

    def action_filter(self, category: str) -> None:
        row = self.current
        if row is None:
            return
        value: object
        if category == "platforms":
            value = row.platform
        elif category == "channels":
            value = (row.platform, row.channel_id, row.channel)
        elif category == "members":
            value = (row.member_id, row.author)
        else:
            value = row.kind
        self.post_message(self.FilterWanted(category, value))

    # ------------------------------------------------------------ rendering

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def on_resize(self) -> None:
        self._cache.clear()
        self._stick()

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        changed = super()._size_updated(size, virtual_size, container_size, layout)
        if self.follow:
            self.call_after_refresh(self._stick)
        return changed

    def _stick(self) -> None:
        """In follow mode the newest row stays on the bottom line."""
        if self.follow and self.scroll_y != self.max_scroll_y:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = int(self.scroll_y) + y
        if not self.rows:
            return self._empty_line(y, width, base)
        if index >= len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        selected = index == self.cursor and self.has_focus
        marked = index == self.cursor
        cache_key = (row.id, width, selected or marked, self.app.theme, int(self.has_focus))
        strip = self._cache.get(cache_key)
        if strip is None:
            text = self.row_text(row, width, marked)
            if selected:
                text.stylize(self.get_component_rich_style("feed--cursor"))
            strip = Strip(list(text.render(self.app.console)), text.cell_len)
            strip = strip.crop_extend(0, width, base).apply_style(base)
            self._cache[cache_key] = strip
            if len(self._cache) > _STRIP_CACHE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(cache_key)
        return strip.apply_offsets(0, index)

    def _empty_line(self, y: int, width: int, base: Style) -> Strip:
        height = self.scrollable_content_region.height
        if self.fetching and self.store is None:
            message = "Opening the store…"
        elif self.fetching:
            message = "Loading activity…"
        elif self.error:
            message = inert_line(self.error)
        elif self.filters.active:
            message = "Nothing matches these filters · x clears them"
        else:
            message = "No activity yet · it appears here as soon as a source delivers it"
        if y != height // 2:
            return Strip.blank(width, base)
        style = base + self.get_component_rich_style("feed--empty")
        text = Text(fit(message, width).rstrip().center(width), style=style, end="")
        return Strip([Segment(text.plain[:width], style)], min(width, text.cell_len)).crop_extend(
            0, width, base
        )

    def row_text(self, row: ActivityRow, width: int, marked: bool = False) -> Text:
        """One activity as one line: time, platform, channel, author, then what happened."""
        style = self.get_component_rich_style
        wide = width >= 110
        local = row.ts.astimezone(self.tz)
        today = self.clock().astimezone(self.tz).date()
        if wide:
            stamp = local.strftime("%H:%M:%S" if local.date() == today else "%b %d %H:%M")
            stamp = stamp.rjust(12)
        else:
            stamp = local.strftime("%H:%M" if local.date() == today else "%d%b")
        chan_w = 16 if wide else 10
        author_w = 18 if wide else 12
        plat = row.platform.ljust(9)[:9] if wide else platform_badge(row.platform)
        out = Text(no_wrap=True, end="", overflow="ellipsis")
        out.append("▌" if marked else " ", style("feed--cursor") if marked else Style())
        out.append(stamp, style("feed--time"))
        out.append(" ")
        out.append(plat, style(f"feed--{platform_class(row.platform)}"))
        out.append(" ")
        out.append(fit("#" + inert_line(row.channel), chan_w), style("feed--channel"))
        out.append(" ")
        author_style = style(f"feed--author-{author_hue(row.author_id)}")
        if row.is_bot:
            author_style += style("feed--bot")
        name = ("⚙" if row.is_bot else "") + inert_line(row.author)
        out.append(fit(name, author_w), author_style)
        out.append(" ")
        out.append_text(self._body(row))
        out.truncate(width, overflow="ellipsis")
        return out

    def _body(self, row: ActivityRow) -> Text:
        style = self.get_component_rich_style
        body = Text(no_wrap=True, end="")
        text = inert_line(row.text)
        if row.kind is Kind.JOIN:
            body.append("→ joined" + (f" · {text}" if text else ""), style("feed--join"))
        elif row.kind is Kind.LEAVE:
            body.append("← left" + (f" · {text}" if text else ""), style("feed--leave"))
        elif row.kind is Kind.SYSTEM:
            body.append("⚙ " + text, style("feed--system"))
        elif row.kind is Kind.REACTION:
            body.append("+ ", style("feed--reaction"))
            body.append(text, style("feed--reaction"))
            body.append(" reacted", style("feed--dim"))
        else:
            if row.reply_to:
                body.append("↳ ", style("feed--reply"))
            if row.deleted:
                body.append("✗ deleted: ", style("feed--deleted"))
                body.append(text, style("feed--deleted"))
            else:
                body.append(text, style("feed--text"))
            if row.edited_ts is not None:
                body.append(" (edited)", style("feed--edited"))
            if row.attachments:
                body.append(
                    f" [+{row.attachments} file{'s' * (row.attachments > 1)}]", style("feed--dim")
                )
        return body


class Chip(Static):
    """One active filter; clicking it (or `x` for all) removes it."""

    class Removed(Message):
        def __init__(self, category: str, value: object) -> None:
            super().__init__()
            self.category = category
            self.value = value

    def __init__(self, category: str, value: object, label: Text) -> None:
        super().__init__(Text.assemble(label, " ✕"), markup=False)
        self.category = category
        self.value = value
        self.tooltip = "Click to remove this filter"

    def on_click(self) -> None:
        self.post_message(self.Removed(self.category, self.value))


class FeedStatus(Horizontal):
    """Chips on the left; follow state and counts on the right."""

    def compose(self) -> ComposeResult:
        yield Horizontal(id="chips")
        yield Label("", id="follow-state", markup=False)

    def show(self, filters: Filters, view: FeedView) -> None:
        chips = self.query_one("#chips", Horizontal)
        chips.remove_children()
        if filters.active:
            chips.mount_all([Chip(c, v, label) for c, v, label in filters.chips()])
        else:
            chips.mount(
                Label(Text("All activity · / search · p c u k filter", end=""), classes="hint")
            )
        self.update_state(view)

    def update_state(self, view: FeedView) -> None:
        label = self.query_one("#follow-state", Label)
        if view.follow:
            label.update(Text("● LIVE", end=""))
            label.set_class(False, "-paused")
        else:
            extra = f" · {view.pending} new" if view.pending else ""
            label.update(Text(f"⏸ PAUSED{extra} · End", end=""))
            label.set_class(True, "-paused")


class SearchBar(Input):
    """Full-text search; Enter applies it as a chip, Escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", show=False)]

    def action_close(self) -> None:
        self.value = ""
        pane = self.parent
        if isinstance(pane, FeedPane):
            pane.view.focus()
        self.call_after_refresh(self.remove_class, "-open")


class FeedPane(Vertical):
    """Status line with chips, the activity list, and the search bar."""

    pane_id: ClassVar[str] = "feed"
    title: ClassVar[str] = "Feed"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search"),
        Binding("x", "clear_filters", "Clear filters", show=False),
        Binding("backspace", "pop_filter", "Remove last filter", show=False),
    ]

    class FiltersChanged(Message):
        def __init__(self, filters: Filters) -> None:
            super().__init__()
            self.filters = filters

    def __init__(self, ctx: PaneContext, *, number: int, classes: str = "") -> None:
        super().__init__(id=self.pane_id, classes=f"pane {classes}".strip())
        self.ctx = ctx
        self.number = number
        self.border_title = f"{number} {self.title}"
        self.view = FeedView(clock=ctx.clock, tz=ctx.tz, id="feed-view")
        self.filters = Filters()

    def compose(self) -> ComposeResult:
        yield FeedStatus(id="feed-status")
        yield self.view
        search = SearchBar(
            placeholder="Search messages (all words must match; word* for prefix)", id="feed-search"
        )
        yield search

    def on_mount(self) -> None:
        self.query_one(FeedStatus).show(self.filters, self.view)

    def set_filters(self, filters: Filters) -> None:
        self.filters = filters
        self.query_one(FeedStatus).show(filters, self.view)
        self.view.set_filters(filters)
        self.post_message(self.FiltersChanged(filters))

    def toggle_filter(self, category: str, value: object) -> None:
        self.set_filters(self.filters.toggle(category, value))

    def action_search(self) -> None:
        bar = self.query_one(SearchBar)
        bar.add_class("-open")
        bar.value = self.filters.search or ""
        bar.focus()

    def action_clear_filters(self) -> None:
        if self.filters.active:
            self.set_filters(Filters())

    def action_pop_filter(self) -> None:
        chips = self.filters.chips()
        if chips:
            category, value, _ = chips[-1]
            self.set_filters(self.filters.toggle(category, value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        bar = self.query_one(SearchBar)
        text = event.value.strip()
        self.view.focus()
        self.call_after_refresh(bar.remove_class, "-open")
        bar.value = ""
        self.set_filters(replace(self.filters, search=text or None))

    def on_chip_removed(self, event: Chip.Removed) -> None:
        event.stop()
        self.set_filters(self.filters.toggle(event.category, event.value))

    def on_feed_view_filter_wanted(self, event: FeedView.FilterWanted) -> None:
        event.stop()
        self.toggle_filter(event.category, event.value)

    def on_feed_view_changed(self, event: FeedView.Changed) -> None:
        event.stop()
        self.query_one(FeedStatus).update_state(self.view)
