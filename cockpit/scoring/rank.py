"""Score arithmetic: decayed terms, the explanation, levels, badges, PageRank, streaks."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cockpit.scoring.config import TERMS, ScoringSettings

WINDOWS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "all": None}


@dataclass(frozen=True, slots=True)
class Term:
    name: str
    count: int  # what was counted in the window, undecayed
    decayed: float  # the same, each day weighted by decay ** (age in months)
    weight: float
    points: float  # weight * decayed


def decay_factor(decay_per_month: float, age_days: float) -> float:
    """Orbit's decay: an action `age_days` old is worth decay ** (age / 30 days)."""
    return float(decay_per_month ** (age_days / 30.0))


def score_terms(
    counts: Mapping[str, int], decayed: Mapping[str, float], settings: ScoringSettings
) -> list[Term]:
    out = []
    for name in TERMS:
        weight = settings.weights.of(name)
        d = float(decayed.get(name, 0.0))
        out.append(Term(name, int(counts.get(name, 0)), d, weight, weight * d))
    return out


def total(terms: Sequence[Term]) -> float:
    """The score: the sum of the terms, added in order, so an explanation adds up exactly."""
    result = 0.0
    for t in terms:
        result += t.points
    return result


def badges(
    answers_all: int, replies_all: int, active_weeks: Iterable[int], settings: ScoringSettings
) -> list[str]:
    """Milestones: a first answer, many helpful replies, a streak of active weeks."""
    out = []
    if answers_all >= 1:
        out.append("first answer")
    if replies_all >= settings.helpful_replies_badge:
        out.append(f"{settings.helpful_replies_badge} helpful replies")
    streak = longest_streak(active_weeks)
    if streak >= settings.streak_weeks_badge:
        out.append(f"{streak}-week streak")
    return out


def badge_kind(label: str) -> str:
    """The `[scoring.roles]` name of a badge ("first answer" -> "first-answer")."""
    if label == "first answer":
        return "first-answer"
    if label.endswith("helpful replies"):
        return "helpful"
    if label.endswith("-week streak"):
        return "streak"
    return label


def longest_streak(weeks: Iterable[int]) -> int:
    best = run = 0
    last: int | None = None
    for w in sorted(set(weeks)):
        run = run + 1 if last is not None and w == last + 1 else 1
        best = max(best, run)
        last = w
    return best


def pagerank(
    edges: Iterable[tuple[int, int, float]], damping: float = 0.85, rounds: int = 40
) -> dict[int, float]:
    """PageRank by power iteration over weighted edges src -> dst (who replied to whom).

    Dangling nodes spread their rank evenly, so the ranks sum to 1.
    """
    out_weight: dict[int, float] = {}
    links: dict[int, list[tuple[int, float]]] = {}
    nodes: set[int] = set()
    for src, dst, w in edges:
        if src == dst or w <= 0:
            continue
        nodes.add(src)
        nodes.add(dst)
        links.setdefault(src, []).append((dst, w))
        out_weight[src] = out_weight.get(src, 0.0) + w
    n = len(nodes)
    if not n:
        return {}
    rank = dict.fromkeys(nodes, 1.0 / n)
    base = (1.0 - damping) / n
    for _ in range(rounds):
        dangling = sum(r for node, r in rank.items() if node not in links)
        nxt = dict.fromkeys(nodes, base + damping * dangling / n)
        for src, targets in links.items():
            share = damping * rank[src] / out_weight[src]
            for dst, w in targets:
                nxt[dst] += share * w
        delta = math.fsum(abs(nxt[k] - rank[k]) for k in nodes)
        rank = nxt
        if delta < 1e-10:
            break
    return rank
