"""`cockpit members link | unlink | suggest | reject`: one person across platforms."""

from __future__ import annotations

from cockpit.commands.context import Context, count, resolve_member
from cockpit.commands.leaderboard import community_of, open_scoring
from cockpit.commands.options import Subparsers, community_choice, json_output
from cockpit.errors import CockpitError
from cockpit.scoring.identity import identities_from_rows, suggest
from cockpit.store.base import MemberRow, Store
from cockpit.textsafe import inert_line


def register(msub: Subparsers) -> None:
    """Add the identity subcommands to `cockpit members`."""
    link = msub.add_parser("link", help="link two identities into one person")
    link.add_argument("member", nargs=2, help="two members: handle, display name or id")
    community_choice(link)
    json_output(link)
    link.set_defaults(run=run_link)
    unlink = msub.add_parser("unlink", help="take an identity out of its person")
    unlink.add_argument("member", help="a handle, a display name or an id")
    community_choice(unlink)
    json_output(unlink)
    unlink.set_defaults(run=run_unlink)
    sug = msub.add_parser("suggest", help="identities that may be one person, with a confidence")
    sug.add_argument("--min", type=float, default=0.5, help="lowest confidence (default 0.5)")
    sug.add_argument("--limit", type=count("--limit"), default=30, help="how many (default 30)")
    community_choice(sug)
    json_output(sug)
    sug.set_defaults(run=run_suggest)
    rej = msub.add_parser("reject", help="say two identities are not one person (no suggestion)")
    rej.add_argument("member", nargs=2, help="two members: handle, display name or id")
    community_choice(rej)
    json_output(rej)
    rej.set_defaults(run=run_reject)


async def _member(store: Store, term: str, community: str) -> MemberRow:
    return await resolve_member(store, term, community)


async def run_link(ctx: Context) -> int:
    async with open_scoring(ctx) as (store, scoring):
        community = await community_of(ctx, scoring)
        a = await _member(store, ctx.args.member[0], community)
        b = await _member(store, ctx.args.member[1], community)
        person = await store.identity.link(a.id, b.id)
        who = (await scoring.who([-person]))[-person]
    if ctx.args.json:
        ctx.print_json([{"person": person, "members": list(who.member_ids), "name": who.name}])
    else:
        print(
            f"linked #{a.id} and #{b.id}: person {person} ({inert_line(who.name)}, "
            f"{', '.join(who.platforms)}; members {', '.join(f'#{m}' for m in who.member_ids)})",
            file=ctx.out,
        )
    return 0


async def run_unlink(ctx: Context) -> int:
    async with open_scoring(ctx) as (store, scoring):
        community = await community_of(ctx, scoring)
        m = await _member(store, ctx.args.member, community)
        changed = await store.identity.unlink(m.id)
    if ctx.args.json:
        ctx.print_json([{"member": m.id, "unlinked": changed}])
    elif changed:
        print(f"#{m.id} stands on its own again", file=ctx.out)
    else:
        print(f"#{m.id} was not linked to anyone", file=ctx.err)
    return 0


async def run_suggest(ctx: Context) -> int:
    if ctx.args.limit < 1:
        raise CockpitError(f"--limit {ctx.args.limit}: expected a positive number")
    async with open_scoring(ctx) as (store, scoring):
        community = await community_of(ctx, scoring)
        cid = await scoring.community_id(community)
        rows = identities_from_rows(await store.identity.identities(cid))
        found = suggest(rows, await store.identity.rejected(), ctx.args.min, ctx.args.limit)
    if ctx.args.json:
        ctx.print_json([s.to_json() for s in found])
        return 0
    for s in found:
        print(
            f"{s.confidence:.2f}  #{s.a.id} {s.a.platform}:{inert_line(s.a.name)[:24]}  ~  "
            f"#{s.b.id} {s.b.platform}:{inert_line(s.b.name)[:24]}  ({s.reason})",
            file=ctx.out,
        )
    if not found:
        print("no link suggestions", file=ctx.err)
    else:
        print(
            "accept: cockpit members link ID ID   reject: cockpit members reject ID ID",
            file=ctx.err,
        )
    return 0


async def run_reject(ctx: Context) -> int:
    async with open_scoring(ctx) as (store, scoring):
        community = await community_of(ctx, scoring)
        a = await _member(store, ctx.args.member[0], community)
        b = await _member(store, ctx.args.member[1], community)
        await store.identity.reject(a.id, b.id)
    if ctx.args.json:
        ctx.print_json([{"a": a.id, "b": b.id, "rejected": True}])
    else:
        print(f"#{a.id} and #{b.id} will not be suggested again", file=ctx.out)
    return 0
