"""`cockpit leaderboard`: the KOC ranking per window, and `--explain MEMBER` term by term."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from cockpit.cells import fit
from cockpit.commands.context import Context, count, resolve_member
from cockpit.commands.options import Subparsers, community_choice, json_output
from cockpit.errors import CockpitError
from cockpit.moderation.role_rewards import apply_changes, plan_changes
from cockpit.scoring.config import ScoringSettings
from cockpit.scoring.leaderboard import Standing, explain, leaderboard
from cockpit.scoring.rank import WINDOWS
from cockpit.scoring.repository import ScoringRepository
from cockpit.store.base import Store
from cockpit.textsafe import inert_line
from cockpit.timeutil import utcnow

TERM_LABELS = {
    "messages": "substantive messages",
    "replies": "replies to others",
    "replies_received": "replies received",
    "reactions_received": "reactions received",
    "threads_answered": "threads started that got answers",
    "answers": "questions answered",
}


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "leaderboard",
        help="the KOC ranking",
        description="Who carries the community: a decayed, weighted, explainable score.",
    )
    p.add_argument("--window", default="30d", choices=list(WINDOWS), help="default 30d")
    p.add_argument(
        "--limit", type=count("--limit"), default=20, help="how many people (default 20)"
    )
    p.add_argument("--explain", metavar="MEMBER", help="one person's score, term by term")
    p.add_argument(
        "--sync-roles",
        action="store_true",
        help="give and take the [scoring.roles] platform roles now (each change a case)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="with --sync-roles: list what would change"
    )
    community_choice(p)
    json_output(p)
    p.set_defaults(run=run)


@asynccontextmanager
async def open_scoring(ctx: Context) -> AsyncIterator[tuple[Store, ScoringRepository]]:
    """The store with the rollup caught up (so imports since the last run are counted)."""
    path = ctx.store_path
    if isinstance(path, Path) and not path.exists():
        raise CockpitError(f"{path}: no store here yet (import an export or run `cockpit collect`)")
    settings: ScoringSettings = ctx.config.scoring
    store = await ctx.open_store(readonly=False)
    try:
        scoring = store.scoring(settings)
        await scoring.catch_up()
        yield store, scoring
    finally:
        await store.close()


async def community_of(ctx: Context, scoring: ScoringRepository) -> str:
    """--community, else the configured one, else the store's only community."""
    if ctx.args.community:
        return str(ctx.args.community)
    configured = str(ctx.config.cockpit.community)
    known = await scoring.communities()
    return known[0] if len(known) == 1 and configured not in known else configured


def standing_lines(s: Standing) -> list[str]:
    """The explanation: each term, then the total they add up to."""
    lines = [
        f"{inert_line(s.who.name)} ({', '.join(s.who.platforms)}): rank {s.rank or '-'}, "
        f"score {s.score:.2f}, {s.level}"
    ]
    for t in s.terms:
        lines.append(
            f"  {TERM_LABELS[t.name]:<34} {t.count:>6} counted, {t.decayed:>9.2f} after decay "
            f"× {t.weight:g} = {t.points:>9.2f}"
        )
    lines.append(f"  {'total':<34} {'':>6}  {'':>9}                {s.score:>9.2f}")
    extra = [
        f"trend {s.trend()}",
        f"influence {s.influence} people",
        f"centrality {s.centrality:.2f}",
    ]
    if s.badges:
        extra.append("badges: " + ", ".join(s.badges))
    if s.churn:
        extra.append(f"churn: {s.churn}")
    lines.append("  " + "; ".join(extra))
    return lines


async def sync_roles(ctx: Context) -> int:
    """`--sync-roles [--dry-run]`: the daily role-reward sync, by hand."""
    a = ctx.args
    if not ctx.config.scoring.roles:
        raise CockpitError(
            '--sync-roles: no [scoring.roles] in the config (e.g. core = { discord = "ROLE_ID" })'
        )
    now = utcnow()
    async with open_scoring(ctx) as (store, scoring):
        community = await community_of(ctx, scoring)
        changes = await plan_changes(store, ctx.config, ctx.registry, community, now)
        made = [] if a.dry_run else await apply_changes(store, ctx.config, community, changes, now)
    cases = {id(c): case.number for c, case in made}
    if a.json:
        out = [
            {
                "action": c.action,
                "reward": c.reward,
                "role": c.role,
                "platform": c.platform,
                "user_id": c.user_id,
                "member_id": c.member_id,
                "account": c.label,
                "why": c.why,
                "left": c.skip,
                "case": cases.get(id(c)),
            }
            for c in changes
        ]
        ctx.print_json(out)
        return 0
    if not changes:
        print("roles are in step with the leaderboard: nothing to change", file=ctx.out)
        return 0
    head = "would" if a.dry_run else "asked to"
    for c in changes:
        print(f"{'left' if c.skip else head}: {inert_line(c.line())}", file=ctx.out)
    if not a.dry_run:
        print(
            f"{len(made)} case{'s' if len(made) != 1 else ''} for the token holder "
            f"({', '.join(str(case.number) for _, case in made[:10])}"
            f"{' ...' if len(made) > 10 else ''})"
            if made
            else "nothing asked for",
            file=ctx.out,
        )
    return 0


async def run(ctx: Context) -> int:
    a = ctx.args
    if a.dry_run and not a.sync_roles:
        raise CockpitError("--dry-run: only with --sync-roles")
    if a.sync_roles:
        return await sync_roles(ctx)
    if a.limit < 1:
        raise CockpitError(f"--limit {a.limit}: expected a positive number")
    now = utcnow()
    async with open_scoring(ctx) as (store, scoring):
        community = await community_of(ctx, scoring)
        if a.explain:
            member = await resolve_member(store, a.explain, community)
            rows = [await explain(scoring, community, member.id, a.window, now)]
        else:
            rows = await leaderboard(scoring, community, a.window, now, limit=a.limit)
    if a.json:
        ctx.print_json([s.to_json() for s in rows])
        return 0
    if a.explain:
        for line in standing_lines(rows[0]):
            print(line, file=ctx.out)
        return 0
    print(
        f"{'#':>3} {'person':<24} {'platforms':<22} {'score':>8} {'level':<11} {'trend':<5} "
        f"{'infl':>4}  badges",
        file=ctx.out,
    )
    for s in rows:
        flag = f" ⚠ {s.churn}" if s.churn else ""
        print(
            f"{s.rank:>3} {fit(inert_line(s.who.name), 24)} {fit(','.join(s.who.platforms), 22)} "
            f"{s.score:>8.1f} {s.level:<11} {s.trend():<5} {s.influence:>4}  "
            f"{', '.join(s.badges)}{flag}",
            file=ctx.out,
        )
    if not rows:
        print(f"no activity in the last {a.window} yet", file=ctx.err)
    return 0
