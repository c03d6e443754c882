"""Community health: growth, active people, who speaks, questions, topic heat, churn watch."""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cockpit.scoring.leaderboard import window_days
from cockpit.scoring.repository import DAY_MS, ScoringRepository
from cockpit.scoring.topics import Said, rising_topics
from cockpit.timeutil import from_ms, iso_z, to_ms

TOPIC_SAMPLE = 20_000  # messages per week read for topic heat (newest first)


def topic_heat(
    this_week: Sequence[Said], last_week: Sequence[Said], top: int = 8
) -> list[dict[str, Any]]:
    """Topics rising this week against the last (cockpit.scoring.topics; CPU: in a thread)."""
    return [t.to_json() for t in rising_topics(this_week, last_week, top)]


def top_share(posts: Sequence[int], fraction: float) -> float | None:
    """The share of messages written by the most active `fraction` of those who spoke (at
    least one person): how concentrated the talking is."""
    total = sum(posts)
    if not total:
        return None
    k = max(1, math.ceil(len(posts) * fraction))
    return sum(sorted(posts, reverse=True)[:k]) / total


def median_seconds(questions: Sequence[tuple[int, int | None]]) -> float | None:
    waits = [(b - a) / 1000 for a, b in questions if b is not None]
    return statistics.median(waits) if waits else None


async def health(
    scoring: ScoringRepository, community: str, window: str, now: datetime
) -> dict[str, Any]:
    """Every health figure for the window ending `now`, as plain JSON-ready values."""
    start, end, length = window_days(window, now)
    f = await scoring.filter(community)
    if start is None:
        first = await scoring.first_day(f)
        start = first if first is not None else end - 1
    start_ms, end_ms = start * DAY_MS, to_ms(now)
    members = await scoring.members_count(f)
    members_before = await scoring.members_count(f, before_ms=start_ms)
    joins, leaves = await scoring.joins_leaves(f, start, end)
    dau = (await scoring.active(f, end - 1, end))[0]
    wau = (await scoring.active(f, end - 7, end))[0]
    mau = (await scoring.active(f, end - 30, end))[0]
    active, speakers = await scoring.active(f, start, end)
    asked = await scoring.questions(f, start_ms, end_ms)
    unanswered = await scoring.unanswered(f, start_ms, 5)
    week_ms = 7 * DAY_MS
    this_week = await scoring.texts(f, end_ms - week_ms, end_ms, TOPIC_SAMPLE)
    last_week = await scoring.texts(f, end_ms - 2 * week_ms, end_ms - week_ms, TOPIC_SAMPLE)
    heat = await asyncio.to_thread(topic_heat, this_week, last_week)
    churned = await scoring.churn(f, end - 1)
    names = await scoring.who([k for k, _, _ in churned])
    new = await scoring.newcomers(f, start_ms, end_ms, end_ms - 7 * DAY_MS)
    daily = await scoring.daily(f, start, end)
    posts = await scoring.posts_per_person(f, start, end)
    arrived, spoke_first_week = await scoring.newcomers_spoke(f, start_ms, end_ms)
    answered = [q for q in asked if q[1] is not None]
    wait = median_seconds(asked)
    return {
        "community": community,
        "window": window,
        "from": iso_z(from_ms(start_ms)),
        "until": iso_z(now),
        "members": members,
        "new_members": members - members_before,
        "growth": (members - members_before) / members_before if members_before else None,
        "joins": joins,
        "leaves": leaves,
        "dau": dau,
        "wau": wau,
        "mau": mau,
        "stickiness": dau / mau if mau else None,
        "active": active,
        "speakers": speakers,
        "share_speaking": speakers / members if members else None,
        "messages": sum(posts),
        "share_top_1pct": top_share(posts, 0.01),
        "share_top_10pct": top_share(posts, 0.10),
        "lurkers": max(0, members - speakers),  # members who did not speak in the window
        "newcomers_spoke_first_week": spoke_first_week,
        "newcomers_arrived": arrived,
        "questions": len(asked),
        "answered": len(answered),
        "unanswered": len(asked) - len(answered),
        "median_first_response_s": wait,
        "unanswered_latest": [
            {**q, "ts": iso_z(from_ms(q["ts"])), "text": q["text"][:200]} for q in unanswered
        ],
        "topic_heat": heat,
        "topic_messages": [len(this_week), len(last_week)],  # what topics compared
        "churn_watch": [
            {
                "key": k,
                "name": names[k].name if k in names else f"#{k}",
                "platforms": list(names[k].platforms) if k in names else [],
                "last_seen": iso_z(from_ms(day * DAY_MS)),
                "days_quiet": end - 1 - day,
                "conversations_90d": n,
            }
            for k, day, n in churned
        ],
        "newcomers": len(new),
        "newcomers_gone": [
            {"id": r[0], "name": r[1], "platform": r[2], "first_seen": iso_z(from_ms(r[3]))}
            for r in new
            if r[5]
        ],
        "daily": [
            {
                "day": iso_z(from_ms(d * DAY_MS))[:10],
                "active": daily.get(d, (0, 0))[0],
                "messages": daily.get(d, (0, 0))[1],
            }
            for d in range(start if length else max(start, end - 90), end)
        ],
    }
