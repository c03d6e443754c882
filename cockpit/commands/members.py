"""`cockpit members`: members and their identities; `members show MEMBER` (with the
member's moderation record); `members note MEMBER TEXT`."""

from __future__ import annotations

from datetime import datetime, tzinfo

from cockpit.cells import fit
from cockpit.commands import identity
from cockpit.commands.context import Context, count, option_zone, resolve_member
from cockpit.commands.feed import format_row
from cockpit.commands.options import Subparsers, community_filter, json_output
from cockpit.errors import CockpitError
from cockpit.moderation import service
from cockpit.moderation.record import accounts_of, member_record, record_lines
from cockpit.store.base import FeedQuery, MemberRow
from cockpit.textsafe import inert_line
from cockpit.timeutil import utcnow


def register(sub: Subparsers) -> None:
    p = sub.add_parser("members", help="members and their identities")
    p.add_argument("--platform", help="only members on this platform")
    community_filter(p)
    p.add_argument(
        "--limit",
        type=count("--limit"),
        default=100,
        help="how many (default 100, most active first)",
    )
    json_output(p)
    p.set_defaults(run=run_list)
    msub = p.add_subparsers(
        dest="members_command",
        metavar="[show MEMBER | note MEMBER TEXT | link ID ID | unlink ID | suggest | reject ID ID]",
    )
    show = msub.add_parser("show", help="one member: identities, first/last seen, recent activity")
    show.add_argument("member", help="a handle, a display name or an id (#12 or 12)")
    json_output(show)
    community_filter(show)
    show.set_defaults(run=run_show)
    note = msub.add_parser("note", help="add a note to a member's moderation record")
    note.add_argument("member", help="a handle, a display name or an id (#12)")
    note.add_argument("text", help="what the next moderator should know")
    community_filter(note)
    note.set_defaults(run=run_note)
    identity.register(msub)


def _line(m: MemberRow) -> str:
    last = m.last_seen.strftime("%Y-%m-%d %H:%M") if m.last_seen else "-"
    handle = f"@{inert_line(m.handle)}" if m.handle else ""
    return (
        f"#{m.id:<7} {m.platform:<9} {fit(inert_line(m.display_name), 24)} {fit(handle, 20)} "
        f"{m.activity_count:>7}  {last}"
    )


async def run_list(ctx: Context) -> int:
    a = ctx.args
    if a.limit < 1:
        raise CockpitError(f"--limit {a.limit}: expected a positive number")
    store = await ctx.open_store()
    try:
        rows = await store.members(community=a.community, platform=a.platform, limit=a.limit)
    finally:
        await store.close()
    if a.json:
        ctx.print_json([m.to_json() for m in rows])
        return 0
    print(
        f"{'id':<8} {'platform':<9} {'name':<24} {'handle':<20} {'acts':>7}  last seen (UTC)",
        file=ctx.out,
    )
    for m in rows:
        print(_line(m), file=ctx.out)
    if not rows:
        print("no members yet", file=ctx.err)
    return 0


async def run_show(ctx: Context) -> int:
    a = ctx.args
    term = a.member
    store = await ctx.open_store()
    try:
        member = await resolve_member(store, term, a.community)
        recent = await store.feed(FeedQuery(member_ids=[member.id], limit=20))
        record = await member_record(store, await accounts_of(store, member.id), utcnow())
    finally:
        await store.close()
    if a.json:
        ctx.print_json(
            [
                {
                    **member.to_json(),
                    "recent": [r.to_json() for r in recent],
                    "moderation": record.to_json(),
                }
            ]
        )
        return 0
    tz = option_zone(ctx.config.cockpit.timezone, "cockpit.timezone")
    print(_line(member), file=ctx.out)
    print(
        f"  first seen {_seen(member.first_seen, tz)}, last seen {_seen(member.last_seen, tz)}, "
        f"{member.activity_count} activities",
        file=ctx.out,
    )
    for line in record_lines(record, tz):
        print("  " + line, file=ctx.out)
    for r in reversed(recent):
        print("  " + format_row(r, tz), file=ctx.out)
    return 0


def _seen(ts: datetime | None, tz: tzinfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if ts else "-"


async def run_note(ctx: Context) -> int:
    """`members note MEMBER TEXT`: a note on the member's record, with who and when."""
    a = ctx.args
    operator = service.operator_name(ctx.config)
    store = await ctx.open_store(readonly=False)
    try:
        member = await resolve_member(store, a.member, a.community)
        await service.add_note(store, ctx.config, member.id, a.text, operator, utcnow())
    finally:
        await store.close()
    print(f"note added to #{member.id} {inert_line(member.display_name)}", file=ctx.out)
    return 0
