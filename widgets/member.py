"""The member view: one person's identities, when they were seen, their rhythm and recent activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from cockpit.store.base import FeedQuery, MemberRow, Store
from cockpit.textsafe import inert_line

from .common import Clock, platform_badge, sparkline

DAYS = 30
RECENT = 15


def _when(ts: datetime | None, tz: tzinfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m-%d %H:%M") if ts else "—"


async def identities(store: Store, member: MemberRow) -> list[MemberRow]:
    """This member plus same-named members on other platforms of the community.

    The store has no person linking yet; an exact handle or display-name match is the
    best evidence it offers, and the view says that it is a name match.
    """
    found: dict[int, MemberRow] = {member.id: member}
    terms = {member.display_name, *([member.handle] if member.handle else [])}
    for term in terms:
        for m in await store.find_members(term, community=member.community):
            if m.platform != member.platform:
                found.setdefault(m.id, m)
    return list(found.values())


def _day(ts: datetime | None, tz: tzinfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m-%d") if ts else "—"


class MemberScreen(ModalScreen[None]):
    """Opened with `m` on any row, from the detail view, or via the palette."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("f", "filter", "Filter feed by member"),
    ]

    class FilterMember(Message):
        def __init__(self, member_id: int, name: str) -> None:
            super().__init__()
            self.member_id = member_id
            self.name = name

    def __init__(
        self, member_id: int, store: Store, tz: tzinfo, clock: Clock | None = None
    ) -> None:
        super().__init__()
        self.member_id = member_id
        self.store = store
        self.tz = tz
        self.clock = clock
        self.member: MemberRow | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="member-box") as box:
            box.border_title = "Member"
            yield Static(Text("Loading member…", "dim"), markup=False, id="member-head")
            yield Static("", markup=False, id="member-ids")
            yield Static("", markup=False, id="member-rhythm")
            yield Static(
                Text("Standing: ranks appear here once the leaderboard is set up", "italic dim"),
                markup=False,
                id="member-standing",
            )
            yield Static(Text("Recent activity", "bold"), markup=False, classes="member-heading")
            with VerticalScroll(id="member-recent-box"):
                yield Static("", markup=False, id="member-recent")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def _now(self) -> datetime:
        clock = self.clock or getattr(self.app, "clock", None)
        return clock() if callable(clock) else datetime.now(UTC)

    @work(exclusive=True)
    async def load(self) -> None:
        member = await self.store.member(self.member_id)
        if member is None:
            self.query_one("#member-head", Static).update(Text("This member is not in the store."))
            return
        self.member = member
        now = self._now()
        ids = await identities(self.store, member)
        since = (now - timedelta(days=DAYS - 1)).astimezone(self.tz)
        since = since.replace(hour=0, minute=0, second=0, microsecond=0)
        counts = await self.store.activity_counts(
            since.astimezone(UTC), timedelta(days=1), member_id=member.id, until=now
        )
        recent = await self.store.feed(FeedQuery(member_ids=(member.id,), limit=RECENT))

        head = Text(end="")
        head.append(inert_line(member.display_name), "bold")
        if member.handle:
            head.append("  @" + inert_line(member.handle))
        if member.is_bot:
            head.append("  (bot)", "italic")
        head.append(f"\n{member.community} · first seen {_when(member.first_seen, self.tz)}")
        head.append(f" · last seen {_when(member.last_seen, self.tz)}")
        self.query_one("#member-head", Static).update(head)

        table = Table(box=None, padding=(0, 1), show_edge=False, expand=False, header_style="bold")
        for col in ("", "platform", "name", "user id", "first seen", "last seen", "acts"):
            table.add_column(col, no_wrap=True, overflow="ellipsis", min_width=len(col) or 1)
        for m in ids:
            table.add_row(
                Text("•" if m.id == member.id else "≈"),
                Text(m.platform),
                Text(
                    inert_line(m.display_name) + (f" @{inert_line(m.handle)}" if m.handle else "")
                ),
                Text(inert_line(m.platform_user_id)),
                Text(_day(m.first_seen, self.tz)),
                Text(_day(m.last_seen, self.tz)),
                Text(str(m.activity_count)),
            )
        if len(ids) > 1:
            table.caption = "≈ same name or handle on another platform (not yet linked)"
        self.query_one("#member-ids", Static).update(table)

        values = [n for _, n in counts]
        rhythm = Text(end="")
        rhythm.append(f"Last {DAYS} days  ", "bold")
        rhythm.append(sparkline(values, DAYS), "green")
        rhythm.append(f"  {sum(values)} activities", "dim")
        self.query_one("#member-rhythm", Static).update(rhythm)

        lines = []
        for row in recent:
            line = Text(no_wrap=True, overflow="ellipsis", end="")
            line.append(row.ts.astimezone(self.tz).strftime("%m-%d %H:%M "), "dim")
            line.append(platform_badge(row.platform) + " ", "bold")
            line.append("#" + inert_line(row.channel) + " ")
            if row.reply_to:
                line.append("↳ ")
            if row.kind.value not in ("message",):
                line.append(f"[{row.kind.value}] ", "italic")
            line.append(inert_line(row.text))
            lines.append(line)
        recent_text = (
            Text("\n", end="").join(lines) if lines else Text("No activity stored.", "dim")
        )
        self.query_one("#member-recent", Static).update(recent_text)

    def action_filter(self) -> None:
        if self.member is not None:
            self.app.post_message(self.FilterMember(self.member.id, self.member.display_name))
            self.dismiss()
