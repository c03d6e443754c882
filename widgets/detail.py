"""An activity's detail: its full text, its thread context and its author, over the cockpit."""

from __future__ import annotations

from datetime import UTC, timedelta, tzinfo
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from cockpit.model import Kind
from cockpit.store.base import ActivityRow, FeedQuery, Store
from cockpit.textsafe import inert, inert_line

from .common import platform_badge
from .messages import OpenMember

CONTEXT_ROWS = 5


def context_line(row: ActivityRow, tz: tzinfo, mark: bool = False) -> Text:
    """A compact line for thread context: time, author, text."""
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    out.append("▶ " if mark else "  ", "bold")
    out.append(row.ts.astimezone(tz).strftime("%H:%M "), "dim")
    out.append(inert_line(row.author), "bold")
    out.append("  ")
    if row.kind in (Kind.JOIN, Kind.LEAVE, Kind.SYSTEM):
        out.append(f"[{row.kind.value}] ", "italic")
    out.append(inert_line(row.text))
    return out


class ActivityDetail(ModalScreen[None]):
    """Opened with Enter on a feed row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("m", "member", "Member"),
    ]

    def __init__(self, row: ActivityRow, store: Store, tz: tzinfo) -> None:
        super().__init__()
        self.row = row
        self.store = store
        self.tz = tz

    def compose(self) -> ComposeResult:
        r = self.row
        with Vertical(id="detail-box") as box:
            box.border_title = f"{platform_badge(r.platform)} · {r.kind.value}"
            yield Static(self._meta(), markup=False, id="detail-meta")
            with VerticalScroll(id="detail-text"):
                yield Static(self._text(), markup=False)
            yield Static(Text("Thread", "bold"), markup=False, classes="detail-heading")
            yield Static(Text("Loading context…", "dim"), markup=False, id="detail-context")
        yield Footer()

    def _meta(self) -> Text:
        r = self.row
        local = r.ts.astimezone(self.tz)
        out = Text(end="")
        out.append(inert_line(r.author), "bold")
        if r.author_handle:
            out.append(" @" + inert_line(r.author_handle))
        if r.is_bot:
            out.append(" (bot)", "italic")
        out.append(f"  id {inert_line(r.author_id)}\n", "dim")
        out.append(f"{r.platform} · #")
        out.append(inert_line(r.channel))
        out.append(f" · {r.community}\n", "dim")
        out.append(local.strftime("%Y-%m-%d %H:%M:%S %Z"))
        out.append(r.ts.astimezone(UTC).strftime("  (%Y-%m-%d %H:%M:%S UTC)"), "dim")
        flags = []
        if r.edited_ts:
            flags.append("edited " + r.edited_ts.astimezone(self.tz).strftime("%Y-%m-%d %H:%M"))
        if r.deleted:
            flags.append("deleted")
        if r.reactions:
            flags.append(f"{r.reactions} reactions")
        if r.attachments:
            flags.append(f"{r.attachments} attachments")
        if flags:
            out.append("\n" + " · ".join(flags), "italic")
        return out

    def _text(self) -> Text:
        body = inert(self.row.text) if self.row.text else f"({self.row.kind.value}, no text)"
        return Text(body, end="")

    def on_mount(self) -> None:
        self.load_context()

    @work(exclusive=True)
    async def load_context(self) -> None:
        r = self.row
        lines: list[Text] = []
        if r.reply_to:
            parent = await self.store.activity(r.platform, r.reply_to)
            if parent is not None:
                lines.append(Text("in reply to:", "italic"))
                lines.append(context_line(parent, self.tz))
            else:
                lines.append(Text("in reply to a message not in the store", "italic"))
        before = await self.store.feed(
            FeedQuery(
                platforms=(r.platform,),
                channels=(r.channel_id,),
                before=(r.ts, r.id),
                limit=CONTEXT_ROWS,
            )
        )
        after = await self.store.feed(
            FeedQuery(
                platforms=(r.platform,),
                channels=(r.channel_id,),
                since=r.ts,
                until=r.ts + timedelta(hours=6),
                limit=200,
            )
        )
        later = sorted(
            (x for x in after if (x.ts, x.id) > (r.ts, r.id)), key=lambda x: (x.ts, x.id)
        )
        lines.append(Text(f"in #{inert_line(r.channel)}:", "italic"))
        lines.extend(context_line(x, self.tz) for x in reversed(before))
        lines.append(context_line(r, self.tz, mark=True))
        lines.extend(context_line(x, self.tz) for x in later[:CONTEXT_ROWS])
        joined = Text("\n", no_wrap=True, overflow="ellipsis", end="").join(lines)
        joined.no_wrap, joined.overflow = True, "ellipsis"
        self.query_one("#detail-context", Static).update(joined)

    def action_member(self) -> None:
        self.app.post_message(OpenMember(self.row.member_id))
