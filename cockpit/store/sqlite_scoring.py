"""The scoring's SQL for the SQLite store: the daily rollup, rankings, health reads, persons.

The rollup is folded in from a high-water mark of activity ids kept in the same transaction
(as the calendar's), by a `BatchingWriter` listener at ingest and at the start of every read
command, so imports are counted and nothing is counted twice.

Rankings come from `score_total`, kept current in the same transaction: per window ending
today (and the window before, for the trend) and per member, the weighted points of each day
times decay ** ((anchor - day) / 30 days). Decay from the window's end is that times one
factor common to everyone, so the order is the anchored order and the top N is an index walk.
The figures shown are then summed exactly from the daily rollup for those N people only.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from cockpit.errors import CockpitError
from cockpit.scoring.config import TERMS, ScoringSettings
from cockpit.scoring.rank import WINDOWS, pagerank
from cockpit.scoring.repository import DAY_MS, Filter, Who, end_day
from cockpit.scoring.signals import is_question, substantive
from cockpit.scoring.topics import Said
from cockpit.store.base import WriteResult
from cockpit.timeutil import utcnow

if TYPE_CHECKING:
    from cockpit.store.sqlite import SQLiteStore

WHO = "coalesce(-m.person_id, m.id)"  # a linked person (negative id) or the member alone
# The members `m` behind leaderboard keys (one JSON array, given three times): found through
# their ids and the person index, then held to exactly those keys.
KEYED = (
    "m.id IN (SELECT value FROM json_each(?) WHERE value > 0 UNION ALL SELECT id FROM member "
    "WHERE person_id IN (SELECT -value FROM json_each(?) WHERE value < 0)) "
    f"AND {WHO} IN (SELECT value FROM json_each(?))"
)
# day, member: posts, messages, replies, replies_received, reactions_received,
# threads_answered, answers, reactions_given
_COLUMNS = (
    "posts",
    "messages",
    "replies",
    "replies_received",
    "reactions_received",
    "threads_answered",
    "answers",
    "reactions_given",
)
_IX = {name: i for i, name in enumerate(_COLUMNS)}
_EVER = -(1 << 40)  # the first day of an all-time window
# The windows kept as totals, by id: (first day or None for all time, day after the last),
# relative to the day after today. +n ends today, -n is the n days before that, 0 is all time.
SPANS: dict[int, tuple[int | None, int]] = {0: (None, 0)}
for _n in filter(None, WINDOWS.values()):
    SPANS[_n] = (-_n, 0)
    SPANS[-_n] = (-2 * _n, -_n)
_SPAN_IDS = {span: win for win, span in SPANS.items()}
_ACTIVE_ON = (  # members with a rollup row in a range of days
    "SELECT DISTINCT member_id FROM score_day "
    "WHERE community_id IN (SELECT id FROM community) AND day >= ? AND day < ?"
)
REANCHOR = 1e12  # re-anchor once the common factor passes this (doubles keep ~15 digits)
_INFLUENCE_CACHE = 8  # (window, filter) results kept per rollup state


def _keys(keys: Sequence[int]) -> tuple[str, str, str]:
    """The parameters of `KEYED`."""
    text = orjson.dumps(list(keys)).decode()
    return (text, text, text)


def _order(row: tuple[int, float]) -> tuple[float, int]:
    """Leaderboard order: the higher score first, then the lower key (persons are negative)."""
    return (-row[1], row[0])


def _filter_sql(f: Filter, alias: str = "m") -> tuple[str, list[Any]]:
    """The WHERE fragment that leaves out what `f` excludes."""
    where = f" AND {alias}.id NOT IN (SELECT value FROM json_each(?))"
    params: list[Any] = [orjson.dumps(f.excluded).decode()]
    if f.exclude_bots:
        where += f" AND {alias}.is_bot = 0"
    return where, params


@dataclass(frozen=True, slots=True)
class Totals:
    """How the ranking totals are made: a day's weighted points, and the decay.

    `basis` fingerprints both: totals made under other weights or decay are rebuilt.
    """

    points: str  # SQL: the weighted points of a score_day row `d`
    decay: float
    basis: int

    @classmethod
    def of(cls, settings: ScoringSettings) -> Totals:
        w = settings.weights
        points = " + ".join(f"{w.of(t)!r} * d.{t}" for t in TERMS)
        text = repr((points, settings.decay_per_month)).encode()
        basis = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)
        return cls(points, settings.decay_per_month, basis)


class ScoringStore:
    """The scoring's view of a `SQLiteStore`."""

    def __init__(
        self,
        store: SQLiteStore,
        settings: ScoringSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.settings = settings or ScoringSettings()
        self.clock = clock
        self.totals = Totals.of(self.settings)
        self._influence: dict[tuple[Any, ...], tuple[dict[int, int], dict[int, float]]] = {}

    # ------------------------------------------------------------------ rollup

    async def catch_up(self, max_rows: int | None = None) -> int:
        """Fold activities stored since the last call into the rollup, and bring the ranking
        totals to today; how many ids it covered. On an existing store the first call is the
        backfill.
        """
        s, end = self.settings, end_day(self.clock())
        return await self.store.transaction(
            lambda conn: _catch_up(conn, s, self.totals, end, max_rows)
        )

    async def rebuild(self) -> int:
        """Forget the rollup and build it again (after a settings change of cooldown or length)."""
        s, end = self.settings, end_day(self.clock())

        def run(conn: sqlite3.Connection) -> int:
            for table in (
                "score_day",
                "score_edge",
                "score_community_day",
                "score_question",
                "score_answered",
                "score_cooldown",
                "score_total",
            ):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM score_state WHERE key != 'links'")
            return _catch_up(conn, s, self.totals, end, None)

        return await self.store.transaction(run)

    def listener(self) -> Callable[[WriteResult], Awaitable[None]]:
        """A `BatchingWriter` commit listener that keeps the rollup current at ingest."""

        async def on_commit(result: WriteResult) -> None:
            if result.new_ids is not None:
                await self.catch_up()

        return on_commit

    # ---------------------------------------------------------------- whom

    async def community_id(self, name: str) -> int:
        rows = await self.store.fetchall("SELECT id FROM community WHERE name = ?", (name,))
        if not rows:
            known = [r[0] for r in await self.store.fetchall("SELECT name FROM community")]
            listed = ", ".join(known) if known else "none yet"
            raise CockpitError(f"no community {name!r} in the store (known: {listed})")
        return int(rows[0][0])

    async def communities(self) -> list[str]:
        return [r[0] for r in await self.store.fetchall("SELECT name FROM community ORDER BY id")]

    async def filter(self, community: str) -> Filter:
        """Bots and (by config) staff, and every identity linked to a staff identity."""
        cid = await self.community_id(community)
        excluded: list[int] = []
        s = self.settings
        if s.exclude_staff and s.staff:
            names = orjson.dumps([x.lstrip("@").casefold() for x in s.staff]).decode()
            rows = await self.store.fetchall(
                "SELECT m2.id FROM member m JOIN member m2 ON m2.id = m.id OR "
                "(m.person_id IS NOT NULL AND m2.person_id = m.person_id) "
                "WHERE m.community_id = ? AND (lower(m.handle) IN (SELECT value FROM json_each(?)) "
                "OR lower(m.display_name) IN (SELECT value FROM json_each(?)) "
                "OR m.platform_user_id IN (SELECT value FROM json_each(?)))",
                (cid, names, names, orjson.dumps(s.staff).decode()),
            )
            excluded = sorted({int(r[0]) for r in rows})
        return Filter(cid, excluded, s.exclude_bots)

    async def who(self, keys: Sequence[int]) -> dict[int, Who]:
        """Names, handles and platforms of members and persons by their keys."""
        if not keys:
            return {}
        rows = await self.store.fetchall(
            f"SELECT {WHO}, m.id, m.display_name, m.handle, m.platform, p.name FROM member m "
            f"LEFT JOIN person p ON p.id = m.person_id WHERE {KEYED} "
            "ORDER BY m.activity_count DESC, m.id",
            _keys(keys),
        )
        parts: dict[int, list[Any]] = {}
        for key, mid, display, handle, platform, pname in rows:
            parts.setdefault(key, []).append((mid, display, handle, platform, pname))
        out = {}
        for key, members in parts.items():
            first = members[0]
            platforms = tuple(dict.fromkeys(p[3] for p in members))
            handle = next((p[2] for p in members if p[2]), None)
            name = first[4] if key < 0 and first[4] else first[1]
            out[key] = Who(key, name, handle, platforms, tuple(p[0] for p in members))
        return out

    async def first_day(self, f: Filter) -> int | None:
        """The first day with any rollup row for the filter's community."""
        rows = await self.store.fetchall(
            "SELECT min(day) FROM score_day WHERE community_id = ?", (f.community_id,)
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    async def key_of(self, member_id: int) -> int:
        rows = await self.store.fetchall(
            "SELECT coalesce(-person_id, id) FROM member WHERE id = ?", (member_id,)
        )
        if not rows:
            raise CockpitError(f"no member #{member_id}")
        return int(rows[0][0])

    async def persons_of(self, member_ids: Sequence[int]) -> dict[int, int | None]:
        """Each member's person (None when linked to nobody)."""
        rows = await self.store.fetchall(
            "SELECT id, person_id FROM member WHERE id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(list(member_ids)).decode(),),
        )
        return {int(i): (int(p) if p is not None else None) for i, p in rows}

    # ------------------------------------------------------------ rankings

    async def window_scores(
        self,
        f: Filter,
        start_day: int | None,
        end_day: int,
        keys: Sequence[int] | None = None,
        limit: int | None = None,
    ) -> list[tuple[int, int, dict[str, int], dict[str, float]]]:
        """(key, rank, counts, decayed counts) per person in [start_day, end_day), best first.

        Decay is measured from the window's end; ranks are over everyone in the window, even
        when `keys` narrows what is returned. From the totals when they hold this window,
        else (another day, other weights) from a scan of the daily rollup.
        """
        win = await self._materialised(start_day, end_day)
        if win is None:
            return await self._scan(f, start_day, end_day, keys, limit)
        places = await self._places(f, win, keys, limit)
        if not places:
            return []
        members = await self._members_of(list(places))
        figures = {
            key: (counts, decayed)
            for key, _, counts, decayed in await self._scan(f, start_day, end_day, members=members)
        }
        return [(key, place, *figures[key]) for key, place in places.items() if key in figures]

    async def window_ranks(
        self, f: Filter, start_day: int | None, end_day: int, keys: Sequence[int]
    ) -> dict[int, int]:
        """The ranks of `keys` in a window (the trend): no figures summed."""
        win = await self._materialised(start_day, end_day)
        if win is None:
            return {k: place for k, place, _, _ in await self._scan(f, start_day, end_day, keys)}
        return await self._places(f, win, keys, None)

    async def _materialised(self, start_day: int | None, end_day: int) -> int | None:
        """The totals' window id for [start_day, end_day), if the totals hold it as asked."""
        state = dict(
            await self.store.fetchall(
                "SELECT key, value FROM score_state WHERE key IN ('total_end', 'total_basis')"
            )
        )
        end = state.get("total_end")
        if end is None or state.get("total_basis") != self.totals.basis:
            return None
        return _SPAN_IDS.get((None if start_day is None else start_day - end, end_day - end))

    async def _places(
        self, f: Filter, win: int, keys: Sequence[int] | None, limit: int | None
    ) -> dict[int, int]:
        """Ranks from the totals: persons (few) are summed over their members; everyone else
        is read from the rank index, best first, `limit` rows or down to the lowest key."""
        where, params = _filter_sql(f)
        solo = (  # walked in rank order; each row's member looked up by id
            "FROM score_total t CROSS JOIN member m ON m.id = t.member_id "
            f"WHERE t.community_id = ? AND t.win = ? AND +m.person_id IS NULL{where}"
        )
        args = [f.community_id, win, *params]
        persons = [
            (int(k), float(v))
            for k, v in await self.store.fetchall(
                "SELECT -m.person_id, sum(t.score) FROM member m CROSS JOIN score_total t "
                "ON t.win = ? AND t.member_id = m.id AND t.community_id = m.community_id "
                f"WHERE m.person_id IS NOT NULL AND +m.community_id = ?{where} "
                "GROUP BY m.person_id HAVING sum(t.score) > 0",
                (win, f.community_id, *params),
            )
        ]
        if keys is None:
            cut = "" if limit is None else f" LIMIT {int(limit)}"
            rows = await self.store.fetchall(
                f"SELECT t.member_id, t.score {solo} ORDER BY t.score DESC, t.member_id{cut}", args
            )
            best = sorted(persons + [(int(k), float(v)) for k, v in rows], key=_order)[:limit]
            return {key: place for place, (key, _) in enumerate(best, 1)}
        wanted = orjson.dumps(sorted(set(keys))).decode()
        mine = dict(p for p in persons if p[0] in set(keys))
        mine.update(
            (int(k), float(v))
            for k, v in await self.store.fetchall(
                f"SELECT t.member_id, t.score {solo} "
                "AND t.member_id IN (SELECT value FROM json_each(?))",
                (*args, wanted),
            )
        )
        if not mine:
            return {}
        ahead = {  # solo keys: their place among everyone not in a person
            int(k): int(n) - 1
            for k, n in await self.store.fetchall(
                "SELECT who, n FROM (SELECT t.member_id AS who, row_number() OVER "
                f"(ORDER BY t.score DESC, t.member_id) AS n {solo} AND t.score >= ?) "
                "WHERE who IN (SELECT value FROM json_each(?))",
                (*args, min(mine.values()), wanted),
            )
        }
        for key in mine:
            if key < 0:  # a person goes before anyone else with the same score
                rows = await self.store.fetchall(
                    f"SELECT count(*) {solo} AND t.score > ?", (*args, mine[key])
                )
                ahead[key] = int(rows[0][0])
        places = {
            key: 1 + ahead[key] + sum(_order(p) < _order((key, score)) for p in persons)
            for key, score in mine.items()
        }
        return dict(sorted(places.items(), key=lambda kv: kv[1])[:limit])

    async def _members_of(self, keys: Sequence[int]) -> list[int]:
        """The member ids behind leaderboard keys (a person's are all its members)."""
        rows = await self.store.fetchall(f"SELECT m.id FROM member m WHERE {KEYED}", _keys(keys))
        return [int(r[0]) for r in rows]

    async def _scan(
        self,
        f: Filter,
        start_day: int | None,
        end_day: int,
        keys: Sequence[int] | None = None,
        limit: int | None = None,
        members: Sequence[int] | None = None,
    ) -> list[tuple[int, int, dict[str, int], dict[str, float]]]:
        """`window_scores` by summing the daily rollup (of `members` only, when given: then
        the ranks are among them alone)."""
        where, params = _filter_sql(f)
        if members is not None:
            where += " AND d.member_id IN (SELECT value FROM json_each(?))"
            params.append(orjson.dumps(list(members)).decode())
        w = self.settings.weights
        score = " + ".join(f"{w.of(t)!r} * d_{t}" for t in TERMS)
        inner_cols = ", ".join(f"sum(d.{t} * f) AS d_{t}" for t in TERMS)
        sql = (
            "WITH s AS (SELECT who, "
            + inner_cols
            + ", "
            + ", ".join(f"sum(d.{t}) AS c_{t}" for t in TERMS)
            + f" FROM (SELECT {WHO} AS who, d.*, pow(?, (? - 1 - d.day) / 30.0) AS f "
            "FROM score_day d JOIN member m ON m.id = d.member_id "
            "WHERE d.community_id = ? AND d.day >= ? AND d.day < ?"
            + where
            + ") d GROUP BY who), r AS (SELECT *, "
            + score
            + " AS score FROM s), k AS (SELECT *, rank() OVER (ORDER BY score DESC, who) AS "
            "place FROM r WHERE score > 0) SELECT who, place, "
            + ", ".join(f"c_{t}" for t in TERMS)
            + ", "
            + ", ".join(f"d_{t}" for t in TERMS)
            + " FROM k"
        )
        args: list[Any] = [
            self.settings.decay_per_month,
            end_day,
            f.community_id,
            _EVER if start_day is None else start_day,
            end_day,
            *params,
        ]
        if keys is not None:
            sql += " WHERE who IN (SELECT value FROM json_each(?))"
            args.append(orjson.dumps(list(keys)).decode())
        sql += " ORDER BY place"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        out = []
        n = len(TERMS)
        for row in await self.store.fetchall(sql, args):
            c = {t: int(row[2 + i] or 0) for i, t in enumerate(TERMS)}
            d = {t: float(row[2 + n + i] or 0.0) for i, t in enumerate(TERMS)}
            out.append((int(row[0]), int(row[1]), c, d))
        return out

    async def plain_scores(self, f: Filter, start_ms: int, end_ms: int, limit: int) -> list[Any]:
        """The baseline the bench compares with: the same ranking from a scan of activity."""
        where, params = _filter_sql(f)
        return await self.store.fetchall(
            f"SELECT {WHO} AS who, count(*) FILTER (WHERE a.kind = 'message') + "
            "2 * count(a.reply_to) FILTER (WHERE a.kind = 'message') AS score "
            "FROM activity a JOIN member m ON m.id = a.member_id "
            f"WHERE a.community_id = ? AND a.ts >= ? AND a.ts < ?{where} "
            "GROUP BY who ORDER BY score DESC LIMIT ?",
            (f.community_id, start_ms, end_ms, *params, limit),
        )

    async def influence(
        self, f: Filter, start_day: int | None, end_day: int
    ) -> tuple[dict[int, int], list[tuple[int, int, float]]]:
        """Distinct people who replied or reacted to each person, and the weighted graph."""
        where_s, params_s = _filter_sql(f, "ms")
        where_d, params_d = _filter_sql(f, "md")
        rows = await self.store.fetchall(
            "SELECT coalesce(-ms.person_id, ms.id) AS s, coalesce(-md.person_id, md.id) AS t, "
            "sum(e.n) FROM score_edge e JOIN member ms ON ms.id = e.src "
            "JOIN member md ON md.id = e.dst WHERE e.community_id = ? AND e.day >= ? "
            f"AND e.day < ?{where_s}{where_d} GROUP BY s, t",
            (
                f.community_id,
                _EVER if start_day is None else start_day,
                end_day,
                *params_s,
                *params_d,
            ),
        )
        edges = [(int(s), int(t), float(n)) for s, t, n in rows if s != t]
        distinct: dict[int, int] = {}
        for _, t, _ in edges:
            distinct[t] = distinct.get(t, 0) + 1
        return distinct, edges

    async def centrality(
        self, f: Filter, start_day: int | None, end_day: int
    ) -> tuple[dict[int, int], dict[int, float]]:
        """Distinct people who replied or reacted to each person, and their PageRank in the
        reply graph scaled so the mean is 1: computed once per rollup state and set of links
        (the power iteration in a thread), not once per request."""
        state = dict(
            await self.store.fetchall(
                "SELECT key, value FROM score_state WHERE key IN ('hwm', 'links')"
            )
        )
        state_now = tuple(sorted(state.items()))
        key = (f.community_id, tuple(f.excluded), f.exclude_bots, start_day, end_day, state_now)
        found = self._influence.get(key)
        if found is None:
            distinct, edges = await self.influence(f, start_day, end_day)
            ranks = await asyncio.to_thread(pagerank, edges)
            scale = len(ranks) or 1
            found = (distinct, {k: v * scale for k, v in ranks.items()})
            while len(self._influence) >= _INFLUENCE_CACHE:
                del self._influence[next(iter(self._influence))]
            self._influence[key] = found
        return found

    async def lifetime(self, keys: Sequence[int]) -> dict[int, dict[str, Any]]:
        """All-time answers and replies, active weeks, last day seen and posts by day."""
        if not keys:
            return {}
        rows = await self.store.fetchall(
            f"SELECT {WHO} AS who, d.day, sum(d.posts), sum(d.answers), sum(d.replies), "
            "sum(d.posts + d.reactions_given) FROM member m JOIN score_day d ON d.member_id = m.id "
            f"WHERE {KEYED} GROUP BY who, d.day",
            _keys(keys),
        )
        out: dict[int, dict[str, Any]] = {}
        for who, day, posts, answers, replies, acts in rows:
            item = out.setdefault(
                who, {"answers": 0, "replies": 0, "weeks": set(), "posts": {}, "last_day": None}
            )
            item["answers"] += answers
            item["replies"] += replies
            if acts:
                item["weeks"].add(day // 7)
                item["last_day"] = max(
                    day, item["last_day"] if item["last_day"] is not None else day
                )
            item["posts"][day] = posts
        return out

    async def churn(self, f: Filter, today: int) -> list[tuple[int, int, int]]:
        """(key, last day seen, conversations in the 90 days before) for people gone quiet.

        Savannah's rule: at least `churn_conversations` in 90 days, then `churn_quiet_days`
        unseen. Only people last seen within a year are watched.
        """
        s = self.settings
        where, params = _filter_sql(f)
        # per person and day first (one pass over the rollup), then each quiet person's 90
        # days joined on that: joining `member` on the person expression scanned it per row
        rows = await self.store.fetchall(
            f"WITH per AS MATERIALIZED (SELECT {WHO} AS who, d.day AS day, sum(d.posts) AS posts "
            f"FROM score_day d JOIN member m ON m.id = d.member_id WHERE d.community_id = ? "
            f"AND d.day >= ?{where} GROUP BY who, d.day), "
            "last AS (SELECT who, max(day) AS last_day FROM per WHERE day >= ? GROUP BY who "
            "HAVING max(day) <= ?) "
            "SELECT l.who, l.last_day, sum(p.posts) FROM last l JOIN per p ON p.who = l.who "
            "AND p.day > l.last_day - 90 AND p.day <= l.last_day GROUP BY l.who, l.last_day "
            "HAVING sum(p.posts) >= ? ORDER BY sum(p.posts) DESC, l.who",
            (
                f.community_id,
                today - 365 - 90,
                *params,
                today - 365,
                today - s.churn_quiet_days,
                s.churn_conversations,
            ),
        )
        return [(int(a), int(b), int(c)) for a, b, c in rows]

    async def day_posts(self, f: Filter, key: int, start_day: int, end_day: int) -> dict[int, int]:
        """Messages per day of one person (the member view's sparkline)."""
        where, params = _filter_sql(f)
        rows = await self.store.fetchall(
            f"SELECT d.day, sum(d.posts) FROM score_day d JOIN member m ON m.id = d.member_id "
            f"WHERE {WHO} = ? AND d.day >= ? AND d.day < ?{where} GROUP BY d.day",
            (key, start_day, end_day, *params),
        )
        return {int(d): int(n) for d, n in rows}

    # -------------------------------------------------------------- health

    async def active(self, f: Filter, start_day: int, end_day: int) -> tuple[int, int]:
        """(people active, people who spoke) in [start_day, end_day)."""
        where, params = _filter_sql(f)
        rows = await self.store.fetchall(
            f"SELECT count(DISTINCT {WHO}), count(DISTINCT CASE WHEN d.posts > 0 THEN {WHO} END) "
            "FROM score_day d JOIN member m ON m.id = d.member_id "
            f"WHERE d.community_id = ? AND d.day >= ? AND d.day < ?{where}",
            (f.community_id, start_day, end_day, *params),
        )
        return int(rows[0][0]), int(rows[0][1])

    async def posts_per_person(self, f: Filter, start_day: int, end_day: int) -> list[int]:
        where, params = _filter_sql(f)
        rows = await self.store.fetchall(
            f"SELECT sum(d.posts) FROM score_day d JOIN member m ON m.id = d.member_id "
            f"WHERE d.community_id = ? AND d.day >= ? AND d.day < ?{where} GROUP BY {WHO} "
            "HAVING sum(d.posts) > 0 ORDER BY 1 DESC",
            (f.community_id, start_day, end_day, *params),
        )
        return [int(r[0]) for r in rows]

    async def newcomers_spoke(self, f: Filter, start_ms: int, end_ms: int) -> tuple[int, int]:
        where, params = _filter_sql(f)
        rows = await self.store.fetchall(
            "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM score_day d "
            f"WHERE d.member_id = m.id AND d.posts > 0 AND d.day >= m.first_seen / ? "
            f"AND d.day < m.first_seen / ? + 7)) FROM member m WHERE m.community_id = ? "
            f"AND m.person_id IS NULL AND m.first_seen >= ? AND m.first_seen < ?{where}",
            (DAY_MS, DAY_MS, f.community_id, start_ms, end_ms, *params),
        )
        return int(rows[0][0]), int(rows[0][1] or 0)

    async def daily(self, f: Filter, start_day: int, end_day: int) -> dict[int, tuple[int, int]]:
        """Per day: (people active, messages)."""
        where, params = _filter_sql(f)
        rows = await self.store.fetchall(
            f"SELECT d.day, count(DISTINCT {WHO}), sum(d.posts) FROM score_day d "
            "JOIN member m ON m.id = d.member_id "
            f"WHERE d.community_id = ? AND d.day >= ? AND d.day < ?{where} GROUP BY d.day",
            (f.community_id, start_day, end_day, *params),
        )
        return {int(d): (int(a), int(n)) for d, a, n in rows}

    async def members_count(self, f: Filter, before_ms: int | None = None) -> int:
        """People known (first seen before `before_ms` when given)."""
        where, params = _filter_sql(f)
        sql = f"SELECT count(DISTINCT {WHO}) FROM member m WHERE m.community_id = ?{where}"
        args: list[Any] = [f.community_id, *params]
        if before_ms is not None:
            sql += " AND m.first_seen < ?"
            args.append(before_ms)
        return int((await self.store.fetchall(sql, args))[0][0])

    async def joins_leaves(self, f: Filter, start_day: int, end_day: int) -> tuple[int, int]:
        rows = await self.store.fetchall(
            "SELECT coalesce(sum(joins), 0), coalesce(sum(leaves), 0) FROM score_community_day "
            "WHERE community_id = ? AND day >= ? AND day < ?",
            (f.community_id, start_day, end_day),
        )
        return int(rows[0][0]), int(rows[0][1])

    async def questions(
        self, f: Filter, start_ms: int, end_ms: int
    ) -> list[tuple[int, int | None]]:
        """(asked, first answered) times of the questions asked in [start, end)."""
        where, params = _filter_sql(f)
        rows = await self.store.fetchall(
            "SELECT q.ts, q.answered_ts FROM score_question q JOIN member m ON m.id = q.member_id "
            f"WHERE q.community_id = ? AND q.ts >= ? AND q.ts < ?{where}",
            (f.community_id, start_ms, end_ms, *params),
        )
        return [(int(a), int(b) if b is not None else None) for a, b in rows]

    async def unanswered(self, f: Filter, start_ms: int, limit: int) -> list[dict[str, Any]]:
        where, params = _filter_sql(f)
        rows = await self.store.fetchall(
            "SELECT a.platform, a.source_id, a.ts, ch.name, m.display_name, a.text "
            "FROM score_question q JOIN activity a ON a.id = q.activity_id "
            "JOIN member m ON m.id = q.member_id JOIN channel ch ON ch.id = a.channel_id "
            f"WHERE q.community_id = ? AND q.ts >= ? AND q.answered_ts IS NULL AND a.deleted = 0"
            f"{where} ORDER BY q.ts DESC LIMIT ?",
            (f.community_id, start_ms, *params, limit),
        )
        keys = ("platform", "id", "ts", "channel", "author", "text")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    async def texts(self, f: Filter, start_ms: int, end_ms: int, limit: int) -> list[Said]:
        """Message texts in [start, end), newest first, at most `limit` (for topic heat)."""
        where, params = _filter_sql(f)
        rows = await self.store.fetchall(
            "SELECT a.text, c.name, a.platform FROM activity a JOIN member m ON m.id = a.member_id "
            "JOIN channel c ON c.id = a.channel_id "
            "WHERE a.ts >= ? AND a.ts < ? AND a.community_id = ? AND a.kind = 'message' "
            f"AND a.deleted = 0{where} ORDER BY a.ts DESC LIMIT ?",
            (start_ms, end_ms, f.community_id, *params, limit),
        )
        return [Said(r[0], r[1], r[2]) for r in rows]

    async def newcomers(self, f: Filter, start_ms: int, end_ms: int, gone_ms: int) -> list[Any]:
        """(id, name, first seen, last seen) of people first seen in [start, end), and whether
        they were never seen again a day after their first visit (by `gone_ms`)."""
        where, params = _filter_sql(f)
        return await self.store.fetchall(
            "SELECT m.id, m.display_name, m.platform, m.first_seen, m.last_seen, "
            "(m.last_seen - m.first_seen < ? AND m.last_seen < ?) AS gone "
            "FROM member m WHERE m.community_id = ? AND m.person_id IS NULL "
            f"AND m.first_seen >= ? AND m.first_seen < ?{where} ORDER BY m.first_seen",
            (DAY_MS, gone_ms, f.community_id, start_ms, end_ms, *params),
        )


# ---------------------------------------------------------------- the fold


def _catch_up(
    conn: sqlite3.Connection,
    settings: ScoringSettings,
    totals: Totals,
    end: int,
    max_rows: int | None,
) -> int:
    state = _state(conn)
    low = state.get("hwm", 0)
    top = int(conn.execute("SELECT coalesce(max(id), 0) FROM activity").fetchone()[0])
    high = min(top, low + max_rows) if max_rows else top
    touched: set[tuple[int, int]] = set()
    step = 50_000
    for start in range(low, high, step):
        touched |= _fold(
            conn, start, min(high, start + step), settings.cooldown_s * 1000, settings.min_length
        )
    if high > low:
        _set_state(conn, hwm=high)
    _settle(conn, totals, end, touched, state)
    return max(0, high - low)


def _state(conn: sqlite3.Connection) -> dict[str, int]:
    return {k: int(v) for k, v in conn.execute("SELECT key, value FROM score_state")}


def _set_state(conn: sqlite3.Connection, **values: int) -> None:
    conn.executemany(
        "INSERT INTO score_state (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        list(values.items()),
    )


def _settle(
    conn: sqlite3.Connection,
    totals: Totals,
    end: int,
    touched: set[tuple[int, int]],
    state: dict[str, int],
) -> None:
    """Bring the ranking totals to the windows ending at `end`: sum again, from the rollup,
    each member whose (member, day) cells changed or whose days entered or left a window as
    the day rolled on; everyone when the weights, the decay or the anchor changed."""
    old, anchor = state.get("total_end"), state.get("total_anchor")
    if (
        state.get("total_basis") != totals.basis
        or old is None
        or anchor is None
        or abs(end - 1 - anchor) / 30 * -math.log(totals.decay) > math.log(REANCHOR)
    ):
        anchor = end - 1
        for win in SPANS:
            _fill(conn, totals, anchor, end, win, None)
        _set_state(conn, total_end=end, total_anchor=anchor, total_basis=totals.basis)
        return
    for win, (lo, hi) in SPANS.items():
        first = _EVER if lo is None else end + lo
        members = {m for m, d in touched if first <= d < end + hi}
        moved = [] if old == end else _moved(lo, hi, old, end)
        for a, b in moved or ():
            members.update(r[0] for r in conn.execute(_ACTIVE_ON, (a, b)))
        # moved its whole length or more: refill it for everyone
        _fill(conn, totals, anchor, end, win, None if moved is None else members)
    if old != end:
        _set_state(conn, total_end=end)


def links_changed(conn: sqlite3.Connection) -> None:
    """Who is whom changed: results cached per rollup state are stale (see `centrality`)."""
    conn.execute(
        "INSERT INTO score_state (key, value) VALUES ('links', 1) "
        "ON CONFLICT (key) DO UPDATE SET value = value + 1"
    )


def _moved(lo: int | None, hi: int, old: int, new: int) -> list[tuple[int, int]] | None:
    """The day ranges that entered or left a window moved from ending at `old` to `new`
    (None: it moved its whole length or more, so refill it)."""
    a, b = min(old, new), max(old, new)
    if lo is None:
        return [(a + hi, b + hi)]
    if b - a >= hi - lo:
        return None
    return [(a + lo, b + lo), (a + hi, b + hi)]


def _fill(
    conn: sqlite3.Connection,
    totals: Totals,
    anchor: int,
    end: int,
    win: int,
    members: set[int] | None,
) -> None:
    """Sum one window's totals again for `members` (None: everyone) from the rollup."""
    lo, hi = SPANS[win]
    if members is None:
        conn.execute("DELETE FROM score_total WHERE win = ?", (win,))
        which, args = "d.community_id IN (SELECT id FROM community)", []
    elif members:
        ids = orjson.dumps(sorted(members)).decode()
        conn.execute(
            "DELETE FROM score_total WHERE win = ? "
            "AND member_id IN (SELECT value FROM json_each(?))",
            (win, ids),
        )
        which, args = "d.member_id IN (SELECT value FROM json_each(?))", [ids]
    else:
        return
    conn.execute(
        "INSERT INTO score_total (win, member_id, community_id, score) "
        f"SELECT ?, d.member_id, d.community_id, sum(({totals.points}) * "
        "pow(?, (? - d.day) / 30.0)) AS s "
        f"FROM score_day d WHERE {which} AND d.day >= ? AND d.day < ? "
        "GROUP BY d.member_id, d.community_id HAVING s > 0",
        (win, totals.decay, anchor, *args, _EVER if lo is None else end + lo, end + hi),
    )


def _fold(
    conn: sqlite3.Connection, low: int, high: int, cooldown_ms: int, min_length: int
) -> set[tuple[int, int]]:
    """Count the activities with ids in (low, high] into the rollup tables; the (member, day)
    cells it changed."""
    rows = conn.execute(
        "SELECT a.id, a.community_id, a.member_id, a.kind, a.ts, a.text, m.is_bot, "
        "p.id, p.member_id, p.ts, p.kind = 'message' AND p.reply_to IS NULL "
        "FROM activity a JOIN member m ON m.id = a.member_id "
        "LEFT JOIN activity p ON p.platform = a.platform "
        "AND p.source_id = coalesce(a.reply_to, nullif(a.thread, a.source_id)) "
        "AND p.kind = 'message' "
        "WHERE a.id > ? AND a.id <= ? AND a.deleted = 0 "
        "AND a.kind IN ('message', 'reaction', 'join', 'leave') ORDER BY a.ts, a.id",
        (low, high),
    ).fetchall()
    if not rows:
        return set()
    authors = orjson.dumps(sorted({r[2] for r in rows})).decode()
    last: dict[int, int] = dict(
        conn.execute(
            "SELECT member_id, ts FROM score_cooldown "
            "WHERE member_id IN (SELECT value FROM json_each(?))",
            (authors,),
        ).fetchall()
    )
    days: dict[tuple[int, int, int], list[int]] = {}
    edges: dict[tuple[int, int, int, int], int] = {}
    community_days: dict[tuple[int, int], list[int]] = {}
    questions: list[tuple[int, int, int, int]] = []
    answered_questions: list[tuple[int, int, int]] = []
    pending_q: dict[int, bool] = {}  # questions of this batch, not yet inserted: answered?

    def bump(cid: int, ts: int, member: int, column: str) -> None:
        cell = days.get((cid, ts // DAY_MS, member))
        if cell is None:
            cell = days[(cid, ts // DAY_MS, member)] = [0] * len(_COLUMNS)
        cell[_IX[column]] += 1

    for aid, cid, member, kind, ts, text, bot, pid, pmember, pts, ptop in rows:
        if kind in ("join", "leave"):
            cell = community_days.setdefault((cid, ts // DAY_MS), [0, 0])
            cell[0 if kind == "join" else 1] += 1
            continue
        other = pid is not None and pmember != member
        if kind == "reaction":
            bump(cid, ts, member, "reactions_given")
            if other and not bot:
                bump(cid, ts, pmember, "reactions_received")
                key = (cid, ts // DAY_MS, member, pmember)
                edges[key] = edges.get(key, 0) + 1
            continue
        bump(cid, ts, member, "posts")
        prev = last.get(member)
        counted = substantive(text, min_length) and (prev is None or abs(ts - prev) >= cooldown_ms)
        if counted:
            last[member] = max(ts, prev) if prev is not None else ts
            bump(cid, ts, member, "messages")
        if other and not bot:
            key = (cid, ts // DAY_MS, member, pmember)
            edges[key] = edges.get(key, 0) + 1
            if counted:
                bump(cid, ts, member, "replies")
                bump(cid, ts, pmember, "replies_received")
            if (
                ptop
                and conn.execute(
                    "INSERT OR IGNORE INTO score_answered (activity_id) VALUES (?)", (pid,)
                ).rowcount
            ):
                bump(cid, pts, pmember, "threads_answered")
            if pid in pending_q:
                asked = True
                if not pending_q[pid]:
                    pending_q[pid] = True
                    answered_questions.append((ts, member, pid))
            else:
                q = conn.execute(
                    "SELECT answered_ts FROM score_question WHERE activity_id = ?", (pid,)
                ).fetchone()
                asked = q is not None
                if asked and q[0] is None:
                    answered_questions.append((ts, member, pid))
            if asked and counted:
                bump(cid, ts, member, "answers")
        if not bot and is_question(text):
            questions.append((aid, cid, member, ts))
            pending_q[aid] = False
    conn.executemany(
        "INSERT INTO score_day (community_id, day, member_id, "
        + ", ".join(_COLUMNS)
        + ") VALUES (?, ?, ?, "
        + ", ".join("?" * len(_COLUMNS))
        + ") ON CONFLICT (community_id, day, member_id) DO UPDATE SET "
        + ", ".join(f"{c} = {c} + excluded.{c}" for c in _COLUMNS),
        [(*k, *v) for k, v in days.items()],
    )
    conn.executemany(
        "INSERT INTO score_edge (community_id, day, src, dst, n) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (community_id, day, src, dst) DO UPDATE SET n = n + excluded.n",
        [(*k, n) for k, n in edges.items()],
    )
    conn.executemany(
        "INSERT INTO score_community_day (community_id, day, joins, leaves) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (community_id, day) DO UPDATE SET joins = joins + excluded.joins, "
        "leaves = leaves + excluded.leaves",
        [(*k, *v) for k, v in community_days.items()],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO score_question (activity_id, community_id, member_id, ts) "
        "VALUES (?, ?, ?, ?)",
        questions,
    )
    conn.executemany(
        "UPDATE score_question SET answered_ts = ?, answered_by = ? "
        "WHERE activity_id = ? AND answered_ts IS NULL",
        answered_questions,
    )
    conn.executemany(
        "INSERT INTO score_cooldown (member_id, ts) VALUES (?, ?) "
        "ON CONFLICT (member_id) DO UPDATE SET ts = excluded.ts",
        list(last.items()),
    )
    return {(member, day) for _, day, member in days}
