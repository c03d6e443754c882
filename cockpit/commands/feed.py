"""`cockpit feed`: recent activity, filtered, as text or JSON."""

from __future__ import annotations

from datetime import tzinfo

from cockpit.cells import fit
from cockpit.commands.context import Context, count, option_zone, resolve_member
from cockpit.commands.options import Subparsers, community_filter, json_output
from cockpit.errors import CockpitError
from cockpit.model import Kind
from cockpit.store.base import ActivityRow, FeedQuery
from cockpit.textsafe import inert_line
from cockpit.timeutil import parse_since


def register(sub: Subparsers) -> None:
    p = sub.add_parser("feed", help="recent activity", description="Recent activity, oldest first.")
    p.add_argument("--since", help="a duration back from now (15m, 2h, 7d) or a date/time")
    p.add_argument(
        "--platform", action="append", default=[], help="only this platform (repeatable)"
    )
    p.add_argument("--channel", action="append", default=[], help="only this channel (repeatable)")
    p.add_argument(
        "--member", action="append", default=[], help="only this member: handle, name or id"
    )
    p.add_argument(
        "--kind",
        action="append",
        default=[],
        choices=[k.value for k in Kind],
        help="only this kind",
    )
    p.add_argument("--search", help="full-text search over message text (all words must occur)")
    community_filter(p)
    p.add_argument(
        "--limit", type=count("--limit"), default=50, help="how many activities (default 50)"
    )
    p.add_argument("--tz", help="show times in this IANA zone (default: the configured one)")
    json_output(p)
    p.set_defaults(run=run)


def format_row(row: ActivityRow, tz: tzinfo) -> str:
    when = row.ts.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    author = fit(inert_line(row.author), 16)
    channel = fit(inert_line(row.channel), 16)
    text = inert_line(row.text)
    if row.kind is Kind.JOIN:
        body = "→ joined"
    elif row.kind is Kind.LEAVE:
        body = "← left"
    elif row.kind is Kind.SYSTEM:
        body = f"• {text}"
    elif row.kind is Kind.REACTION:
        body = f"+{text} on {inert_line(row.reply_to or '')}"
    else:
        body = f"↳ {text}" if row.reply_to else text
        if row.attachments:
            body += f" [{row.attachments} attachment{'s' if row.attachments > 1 else ''}]"
        if row.edited_ts:
            body += " (edited)"
        if row.deleted:
            body = "[deleted] " + body
    return f"{when}  {row.platform:<9} {channel} {author} {body}"


async def run(ctx: Context) -> int:
    a = ctx.args
    if a.limit < 1:
        raise CockpitError(f"--limit {a.limit}: expected a positive number")
    tz = option_zone(a.tz) if a.tz else option_zone(ctx.config.cockpit.timezone, "cockpit.timezone")
    try:
        since = parse_since(a.since, tz=tz) if a.since else None
    except ValueError as exc:
        raise CockpitError(str(exc)) from None
    store = await ctx.open_store()
    try:
        member_ids = [(await resolve_member(store, m, a.community)).id for m in a.member]
        rows = await store.feed(
            FeedQuery(
                since=since,
                platforms=a.platform,
                channels=a.channel,
                member_ids=member_ids,
                kinds=[Kind(k) for k in a.kind],
                search=a.search,
                community=a.community,
                limit=a.limit,
            )
        )
    finally:
        await store.close()
    rows.reverse()
    if a.json:
        ctx.print_json([r.to_json() for r in rows])
    else:
        for r in rows:
            print(format_row(r, tz), file=ctx.out)
        if not rows:
            print("no activity matches", file=ctx.err)
    return 0
