"""The KOC leaderboard: scores per window, trend, influence, level, badges, churn flag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cockpit.errors import CockpitError
from cockpit.scoring.rank import WINDOWS, Term, badges, score_terms, total
from cockpit.scoring.repository import DAY_MS, Filter, ScoringRepository, Who, end_day
from cockpit.timeutil import from_ms, iso_z


@dataclass(frozen=True, slots=True)
class Standing:
    """One row of the leaderboard, with everything the pane and `--explain` show."""

    rank: int
    who: Who
    score: float
    terms: tuple[Term, ...]
    level: str
    badges: tuple[str, ...]
    previous_rank: int | None  # in the window before; None when unranked then (or 'all')
    influence: int  # distinct people who replied or reacted to them
    centrality: float  # PageRank in the reply graph, scaled so the mean is 1
    churn: str | None  # None, 'at risk' (quiet half the churn time) or 'quiet'
    last_seen: datetime | None
    newcomer: bool = False  # first seen inside this window (what 'new' means, everywhere)
    compared: bool = True  # a window before exists to compare with (not so for 'all')

    @property
    def places(self) -> int | None:
        """Places climbed since the previous window (negative: fell)."""
        return None if self.previous_rank is None else self.previous_rank - self.rank

    def trend(self) -> str:
        """'▲3', '▼1', '=' against the window before; unranked then: 'new' for a newcomer,
        'back' for someone seen before who was not active in the window before. The one
        definition the CLI, the pane and the report all show."""
        if not self.compared:
            return "·"
        if self.places is None:
            return "new" if self.newcomer else "back"
        if self.places > 0:
            return f"▲{self.places}"
        if self.places < 0:
            return f"▼{-self.places}"
        return "="

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "key": self.who.key,
            "name": self.who.name,
            "handle": self.who.handle,
            "platforms": list(self.who.platforms),
            "member_ids": list(self.who.member_ids),
            "score": self.score,
            "level": self.level,
            "badges": list(self.badges),
            "previous_rank": self.previous_rank,
            "places": self.places,
            "trend": self.trend(),
            "newcomer": self.newcomer,
            "influence": self.influence,
            "centrality": round(self.centrality, 4),
            "churn": self.churn,
            "last_seen": iso_z(self.last_seen) if self.last_seen else None,
            "terms": [
                {
                    "term": t.name,
                    "count": t.count,
                    "decayed": t.decayed,
                    "weight": t.weight,
                    "points": t.points,
                }
                for t in self.terms
            ],
        }


def window_days(window: str, now: datetime) -> tuple[int | None, int, int | None]:
    """(first day, day after the last, days long) of a window ending today."""
    if window not in WINDOWS:
        raise CockpitError(f"--window {window!r}: expected one of {', '.join(WINDOWS)}")
    end = end_day(now)
    length = WINDOWS[window]
    return (end - length if length else None), end, length


async def leaderboard(
    scoring: ScoringRepository,
    community: str,
    window: str,
    now: datetime,
    limit: int | None = 20,
    keys: list[int] | None = None,
    influence: bool = True,
) -> list[Standing]:
    """The ranking for a window ending at `now` (or just the people `keys` names)."""
    start, end, length = window_days(window, now)
    f = await scoring.filter(community)
    rows = await scoring.window_scores(f, start, end, keys=keys, limit=limit)
    listed = [r[0] for r in rows]
    previous: dict[int, int] = {}
    if length is not None and listed:
        previous = await scoring.window_ranks(f, end - 2 * length, end - length, listed)
    names = await scoring.who(listed)
    life = await scoring.lifetime(listed)
    distinct: dict[int, int] = {}
    central: dict[int, float] = {}
    if influence and listed:
        distinct, central = await scoring.centrality(f, start, end)
    today = end - 1
    s = scoring.settings
    out = []
    for key, place, counts, decayed in rows:
        terms = score_terms(counts, decayed, s)
        score = total(terms)
        info = life.get(key, {})
        last_day = info.get("last_day")
        out.append(
            Standing(
                rank=place,
                who=names.get(key) or Who(key, f"#{key}", None, (), ()),
                score=score,
                terms=tuple(terms),
                level=s.levels.of(score, length),
                badges=tuple(
                    badges(info.get("answers", 0), info.get("replies", 0), info.get("weeks", ()), s)
                ),
                previous_rank=previous.get(key),
                influence=distinct.get(key, 0),
                centrality=central.get(key, 0.0),
                churn=_churn_flag(info, today, s.churn_quiet_days, s.churn_conversations),
                last_seen=None if last_day is None else _day_start(last_day),
                newcomer=start is not None and min(info.get("posts") or {today: 0}) >= start,
                compared=length is not None,
            )
        )
    return out


def _churn_flag(info: dict[str, Any], today: int, quiet: int, needed: int) -> str | None:
    last = info.get("last_day")
    if last is None:
        return None
    talked = sum(n for d, n in info.get("posts", {}).items() if last - 90 < d <= last)
    if talked < needed:
        return None
    gone = today - last
    if gone >= quiet:
        return "quiet"
    if gone >= quiet // 2:
        return "at risk"
    return None


def _day_start(day: int) -> datetime:
    return from_ms(day * DAY_MS)


async def explain(
    scoring: ScoringRepository, community: str, member_id: int, window: str, now: datetime
) -> Standing:
    """One person's standing, term by term (their rank is among everyone)."""
    key = await scoring.key_of(member_id)
    found = await leaderboard(scoring, community, window, now, limit=None, keys=[key])
    if found:
        return found[0]
    names = await scoring.who([key])
    who = names.get(key) or Who(key, f"#{member_id}", None, (), ())
    terms = tuple(score_terms({}, {}, scoring.settings))
    return Standing(0, who, 0.0, terms, "newcomer", (), None, 0, 0.0, None, None)


__all__ = ["Filter", "Standing", "explain", "leaderboard", "window_days"]
