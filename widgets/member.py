"""The member view: one person's identities, when they were seen, their rhythm and recent activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from cockpit.errors import CockpitError
from cockpit.moderation import service
from cockpit.scoring.identity import Identity, Suggestion, suggest
from cockpit.scoring.leaderboard import Standing, explain
from cockpit.scoring.repository import IdentityRepository, ScoringRepository
from cockpit.store.base import FeedQuery, MemberRow, Store
from cockpit.textsafe import inert_line

from .common import platform_badge, sparkline
from .context import PaneContext
from .member_cases import ModerationRecord, NoteScreen
from .messages import ActOn
from .moderation import writable_store

DAYS = 30
RECENT = 15
WINDOW = "30d"


def _when(ts: datetime | None, tz: tzinfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m-%d %H:%M") if ts else "—"


@dataclass(frozen=True, slots=True)
class Known:
    """One identity in the member view: this member, linked to it, or a suggested link."""

    row: MemberRow
    status: str  # "this", "linked" or "suggested"
    suggestion: Suggestion | None = None


async def candidates(store: Store, member: MemberRow) -> list[MemberRow]:
    """Members of the community whose name or handle matches this member's."""
    found: dict[int, MemberRow] = {member.id: member}
    terms = {member.display_name, *([member.handle] if member.handle else [])}
    for term in terms:
        for m in await store.find_members(term, community=member.community):
            found.setdefault(m.id, m)
    return list(found.values())


def _identity(row: MemberRow, person: int | None) -> Identity:
    return Identity(row.id, row.platform, row.handle, row.display_name, person, row.activity_count)


async def known_identities(
    store: Store, member: MemberRow, scoring: ScoringRepository | None
) -> list[Known]:
    """Linked identities (one person), then links worth suggesting, most likely first.

    Without the scoring feature's tables the view can only show name matches as suggestions.
    """
    rows = await candidates(store, member)
    persons: dict[int, int | None] = {}
    rejected: set[tuple[int, int]] = set()
    if scoring is not None:
        key = await scoring.key_of(member.id)
        if key < 0:
            who = (await scoring.who([key])).get(key)
            have = {r.id for r in rows}
            for mid in who.member_ids if who else ():
                if mid not in have and (m := await store.member(mid)) is not None:
                    rows.append(m)
        persons = await store.identity.persons_of([r.id for r in rows])
        rejected = await store.identity.rejected()
    mine = persons.get(member.id)
    out = [Known(member, "this")]
    linked = [
        r for r in rows if r.id != member.id and mine is not None and persons.get(r.id) == mine
    ]
    out += [Known(r, "linked") for r in sorted(linked, key=lambda r: r.platform)]
    group = {member.id, *(r.id for r in linked)}
    identities = [_identity(r, persons.get(r.id)) for r in rows]
    by_id = {r.id: r for r in rows}
    seen: set[int] = set()
    for s in suggest(identities, rejected, limit=20):
        if (s.a.id in group) == (s.b.id in group):
            continue  # a pair that does not join someone to this person
        other = s.b.id if s.a.id in group else s.a.id
        if other not in seen:
            seen.add(other)
            out.append(Known(by_id[other], "suggested", s))
    return out


def _day(ts: datetime | None, tz: tzinfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m-%d") if ts else "—"


def identity_line(k: Known, tz: tzinfo) -> Text:
    m = k.row
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    mark = {"this": ("•", "bold"), "linked": ("=", "green"), "suggested": ("?", "yellow")}
    symbol, style = mark[k.status]
    line.append(f"{symbol} ", style)
    line.append(f"{m.platform:<9} ", "bold")
    line.append(inert_line(m.display_name)[:28])
    if m.handle:
        line.append(f" @{inert_line(m.handle)[:20]}", "dim")
    line.append(f"  #{m.id}  {_day(m.first_seen, tz)} – {_day(m.last_seen, tz)}", "dim")
    line.append(f"  {m.activity_count} acts", "dim")
    if k.status == "linked":
        line.append("  linked", "green")
    elif k.suggestion is not None:
        line.append(f"  suggested {k.suggestion.confidence:.0%}: {k.suggestion.reason}", "yellow")
    return line


def standing_text(s: Standing, window: str) -> Text:
    """Rank, score, level and the largest terms: why this person stands where they do."""
    out = Text(end="")
    out.append(f"Standing ({window})  ", "bold")
    if s.rank == 0:
        out.append("not ranked: nothing counted in this window", "dim")
        return out
    out.append(f"#{s.rank} · score {s.score:,.0f} · {s.level} · {s.trend()}")
    out.append(f" · influence {s.influence} · centrality {s.centrality:.2f}")
    if s.churn:
        out.append(f" · {s.churn}", "bold yellow")
    if s.badges:
        out.append("\n" + " ".join(f"[{inert_line(b)}]" for b in s.badges), "cyan")
    top = sorted((t for t in s.terms if t.points), key=lambda t: -abs(t.points))[:4]
    if top:
        out.append("\n")
        out.append(
            " + ".join(f"{t.name} {t.points:,.0f}" for t in top)
            + ("  (Enter on the leaderboard explains every term)" if len(top) > 1 else ""),
            "dim",
        )
    return out


class MemberScreen(ModalScreen[None]):
    """Opened with `m` on any row, from the detail view, or via the palette.

    Links across platforms are made here as from `cockpit members link`: `l` links the
    suggested identity under the cursor, `u` unlinks a linked one, `x` rejects a suggestion.
    Nothing is merged without the operator saying so.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("f", "filter", "Filter feed by member"),
        Binding("l", "link", "Link"),
        Binding("u", "unlink", "Unlink"),
        Binding("x", "reject", "Not the same person"),
        Binding("a", "act(False)", "Act"),
        Binding("A", "act(True)", "Act everywhere"),
        Binding("n", "note", "Note"),
    ]

    class FilterMember(Message):
        def __init__(self, member_id: int, name: str) -> None:
            super().__init__()
            self.member_id = member_id
            self.name = name

    def __init__(self, member_id: int, ctx: PaneContext) -> None:
        super().__init__()
        if ctx.store is None:
            raise CockpitError("the store is still opening")
        self.member_id = member_id
        self.ctx = ctx
        self.store: Store = ctx.store
        self.tz = ctx.tz
        self.member: MemberRow | None = None
        self.known: list[Known] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="member-box") as box:
            box.border_title = "Member"
            yield Static(Text("Loading member…", "dim"), markup=False, id="member-head")
            yield OptionList(id="member-ids", markup=False)
            yield Static("", markup=False, id="member-links-help")
            yield Static("", markup=False, id="member-rhythm")
            yield Static(Text("Standing: …", "dim"), markup=False, id="member-standing")
            yield ModerationRecord(self.ctx, id="member-moderation")
            yield Static(Text("Recent activity", "bold"), markup=False, classes="member-heading")
            with VerticalScroll(id="member-recent-box"):
                yield Static("", markup=False, id="member-recent")
        yield Footer()

    def on_mount(self) -> None:
        self.load()
        self.set_interval(3.0, self.refresh_record)  # outcomes land while it is open

    def _now(self) -> datetime:
        return self.ctx.clock()

    def _scoring(self) -> ScoringRepository:
        return self.store.scoring(self.ctx.scoring)

    @work(exclusive=True, group="member-load")
    async def load(self) -> None:
        member = await self.store.member(self.member_id)
        if member is None:
            self.query_one("#member-head", Static).update(Text("This member is not in the store."))
            return
        self.member = member
        now = self._now()
        scoring = self._scoring()
        since = (now - timedelta(days=DAYS - 1)).astimezone(self.tz)
        since = since.replace(hour=0, minute=0, second=0, microsecond=0)
        counts = await self.store.activity_counts(
            since.astimezone(UTC), timedelta(days=1), member_id=member.id, until=now
        )
        recent = await self.store.feed(FeedQuery(member_ids=(member.id,), limit=RECENT))
        standing: Standing | None = None
        try:
            self.known = await known_identities(self.store, member, scoring)
            if scoring is not None:
                if not self.ctx.read_only:
                    await scoring.catch_up()  # imports and live rows since the last fold
                standing = await explain(scoring, member.community, member.id, WINDOW, now)
        except CockpitError as exc:
            self.known = self.known or [Known(member, "this")]
            self.notify(f"Standing unavailable: {exc}", severity="warning")

        head = Text(end="")
        head.append(inert_line(member.display_name), "bold")
        if member.handle:
            head.append("  @" + inert_line(member.handle))
        if member.is_bot:
            head.append("  (bot)", "italic")
        head.append(f"\n{member.community} · first seen {_when(member.first_seen, self.tz)}")
        head.append(f" · last seen {_when(member.last_seen, self.tz)}")
        self.query_one("#member-head", Static).update(head)
        self._draw_identities()
        await self.query_one(ModerationRecord).show(self.accounts())

        values = [n for _, n in counts]
        rhythm = Text(end="")
        rhythm.append(f"Last {DAYS} days  ", "bold")
        rhythm.append(sparkline(values, DAYS), "green")
        rhythm.append(f"  {sum(values)} activities", "dim")
        self.query_one("#member-rhythm", Static).update(rhythm)
        self.query_one("#member-standing", Static).update(
            standing_text(standing, WINDOW)
            if standing is not None
            else Text("Standing: not available on this store", "italic dim")
        )

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

    def _draw_identities(self) -> None:
        listing = self.query_one("#member-ids", OptionList)
        before = listing.highlighted
        listing.set_options(
            [Option(identity_line(k, self.tz), id=str(k.row.id)) for k in self.known]
        )
        if self.known:
            listing.highlighted = min(before or 0, len(self.known) - 1)
        suggested = sum(k.status == "suggested" for k in self.known)
        linked = any(k.status == "linked" for k in self.known)
        tips = Text(end="", style="dim")
        if suggested:
            tips.append(f"{suggested} possible link{'s' * (suggested > 1)}: l link · x not them")
        if linked:
            tips.append(("  ·  " if suggested else "") + "u unlink")
        if not suggested and not linked:
            tips.append("No other identity of this person found.")
        self.query_one("#member-links-help", Static).update(tips)

    def _selected(self) -> Known | None:
        listing = self.query_one("#member-ids", OptionList)
        i = listing.highlighted
        return self.known[i] if i is not None and i < len(self.known) else None

    def _writable(self) -> IdentityRepository | None:
        if self.ctx.read_only:
            self.notify(
                "Read-only: attached to a store another process writes; "
                "link with `cockpit members link`.",
                severity="warning",
            )
            return None
        return self.store.identity

    def action_link(self) -> None:
        k = self._selected()
        if k is None or k.status != "suggested":
            self.notify("Pick a suggested identity (marked ?) to link.", severity="warning")
            return
        self._change("link", k)

    def action_reject(self) -> None:
        k = self._selected()
        if k is None or k.status != "suggested":
            self.notify("Pick a suggested identity (marked ?) to reject.", severity="warning")
            return
        self._change("reject", k)

    def action_unlink(self) -> None:
        k = self._selected()
        if k is None or not any(x.status == "linked" for x in self.known):
            self.notify("Nothing linked to unlink.", severity="warning")
            return
        if k.status == "suggested":
            self.notify("Pick this member or a linked identity (marked =).", severity="warning")
            return
        self._change("unlink", k)

    @work(group="member-change")
    async def _change(self, what: str, k: Known) -> None:
        identity = self._writable()
        if identity is None or self.member is None:
            return
        name = f"{k.row.platform}:{inert_line(k.row.display_name)[:30]} (#{k.row.id})"
        try:
            if what == "link":
                await identity.link(self.member.id, k.row.id)
                done = f"Linked {name}: one person now"
            elif what == "reject":
                await identity.reject(self.member.id, k.row.id)
                done = f"Noted: {name} is someone else"
            else:
                await identity.unlink(k.row.id)
                done = f"Unlinked {name}: it stands on its own again"
        except CockpitError as exc:
            self.notify(f"Not changed: {exc}", severity="error")
            return
        self.notify(done, title="Member")
        self.load()

    def action_filter(self) -> None:
        if self.member is not None:
            self.app.post_message(self.FilterMember(self.member.id, self.member.display_name))
            self.dismiss()

    # --- acting and notes (cockpit/moderation; the dialogs in moderation.py, member_cases.py)

    def accounts(self) -> list[int]:
        """This member and the accounts linked to it: one person's record."""
        return [k.row.id for k in self.known if k.status in ("this", "linked")] or [self.member_id]

    @work(exclusive=True, group="member-record")
    async def refresh_record(self) -> None:
        if self.member is not None:
            await self.query_one(ModerationRecord).show(self.accounts())

    def action_act(self, everywhere: bool) -> None:
        m = self.member
        if m is None:
            return
        linked = [k.row for k in self.known if k.status in ("this", "linked")]
        if everywhere and len(linked) < 2:
            self.notify("No linked accounts: acting on this one.", severity="warning")
            everywhere = False
        platforms = tuple(sorted({r.platform for r in linked})) if everywhere else (m.platform,)
        where = "everywhere (" + ", ".join(platforms) + ")" if everywhere else f"on {m.platform}"
        self.app.post_message(
            ActOn(
                f"#{m.id}",
                f"Act on {inert_line(m.display_name)} {where}",
                kind="member",
                platforms=platforms,
                everywhere=everywhere,
            )
        )

    def action_note(self) -> None:
        m = self.member
        if m is None:
            return

        def save(text: str | None) -> None:
            if text is not None and text.strip():
                self._save_note(text)

        self.app.push_screen(NoteScreen(m.display_name), save)

    @work(group="member-note")
    async def _save_note(self, text: str) -> None:
        config = self.ctx.config
        try:
            async with writable_store(self.ctx) as store:
                await service.add_note(
                    store,
                    config,
                    self.member_id,
                    text,
                    service.operator_name(config),
                    self.ctx.now(),
                )
        except CockpitError as exc:
            self.notify(f"Note not saved: {exc}", severity="error")
            return
        self.notify("Note saved", title="Member")
        self.refresh_record()
