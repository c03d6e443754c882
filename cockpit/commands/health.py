"""`cockpit health` (community health figures) and `cockpit report` (the weekly report)."""

from __future__ import annotations

from typing import Any

import orjson

from cockpit.cells import fit
from cockpit.commands.context import Context, count
from cockpit.commands.leaderboard import community_of, open_scoring
from cockpit.commands.options import Subparsers, community_choice, json_output
from cockpit.scoring import report as reports
from cockpit.scoring.health import health
from cockpit.scoring.leaderboard import leaderboard
from cockpit.scoring.rank import WINDOWS
from cockpit.textsafe import inert_line
from cockpit.timeutil import utcnow


def register(sub: Subparsers) -> None:
    p = sub.add_parser("health", help="community health metrics")
    p.add_argument("--window", default="7d", choices=list(WINDOWS), help="default 7d")
    community_choice(p)
    json_output(p)
    p.set_defaults(run=run_health)
    r = sub.add_parser("report", help="the weekly report")
    r.add_argument("--window", default="7d", choices=list(WINDOWS), help="default 7d")
    r.add_argument("--format", default="markdown", choices=("markdown", "json", "html"))
    community_choice(r)
    r.add_argument(
        "--limit", type=count("--limit"), default=15, help="people on the leaderboard (default 15)"
    )
    r.set_defaults(run=run_report)


def topic_lines(heat: list[dict[str, Any]]) -> list[str]:
    """Where each rising topic is said, and one message that says it."""
    out = []
    for t in heat:
        where = ", ".join(inert_line(c) for c in t["channels"])
        also = (
            f" (with {', '.join(inert_line(r) for r in t['related'][:3])})" if t["related"] else ""
        )
        out.append(f"    {inert_line(t['term'])}{also}: {where}")
        if t["examples"]:
            out.append(f"      “{inert_line(t['examples'][0])[:110]}”")
    return out


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.0f}%"


def health_lines(h: dict[str, Any]) -> list[str]:
    wait = h["median_first_response_s"]
    lines = [
        f"{inert_line(h['community'])}, {h['from'][:10]} .. {h['until'][:10]} ({h['window']})",
        f"  members        {h['members']} ({h['new_members']:+d}; joins {h['joins']}, "
        f"leaves {h['leaves']})",
        f"  active         DAU {h['dau']}  WAU {h['wau']}  MAU {h['mau']}  "
        f"(stickiness {_pct(h['stickiness'])})",
        f"  spoke          {h['speakers']} of {h['members']} ({_pct(h['share_speaking'])})",
        f"  who talks      top 1% wrote {_pct(h['share_top_1pct'])} of {h['messages']} messages, "
        f"top 10% {_pct(h['share_top_10pct'])}; {h['lurkers']} lurkers; newcomers who spoke "
        f"in their first week: {h['newcomers_spoke_first_week']} of {h['newcomers_arrived']}",
        f"  questions      {h['questions']}, unanswered {h['unanswered']}, median first response "
        + ("-" if wait is None else f"{wait / 60:.1f} min"),
        "  topic heat     "
        + (
            ", ".join(
                f"{inert_line(t['term'])} ({t['last_week']}→{t['this_week']})"
                for t in h["topic_heat"]
            )
            or (
                "- (no messages the week before to compare with)"
                if not h["topic_messages"][1]
                else "- (nothing said significantly more than the week before)"
            )
        ),
        *topic_lines(h["topic_heat"]),
        f"  newcomers      {h['newcomers']}, never came back: {len(h['newcomers_gone'])}",
        f"  churn watch    {len(h['churn_watch'])}",
    ]
    for c in h["churn_watch"][:10]:
        lines.append(
            f"    {fit(inert_line(c['name']), 30)} quiet {c['days_quiet']} d, "
            f"{c['conversations_90d']} conversations before"
        )
    return lines


async def run_health(ctx: Context) -> int:
    a = ctx.args
    async with open_scoring(ctx) as (_, scoring):
        h = await health(scoring, await community_of(ctx, scoring), a.window, utcnow())
    if a.json:
        ctx.print_json([h])
        return 0
    for line in health_lines(h):
        print(line, file=ctx.out)
    return 0


async def run_report(ctx: Context) -> int:
    a = ctx.args
    now = utcnow()
    async with open_scoring(ctx) as (_, scoring):
        community = await community_of(ctx, scoring)
        h = await health(scoring, community, a.window, now)
        board = await leaderboard(scoring, community, a.window, now, limit=max(1, a.limit))
    data = reports.build(h, board)
    if a.format == "json":
        ctx.out.write(orjson.dumps([data]).decode() + "\n")
    elif a.format == "html":
        ctx.out.write(reports.page(data))
    else:
        ctx.out.write(reports.markdown(data))
    return 0
