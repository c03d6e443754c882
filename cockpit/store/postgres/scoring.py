"""The scoring's SQL for PostgreSQL: the same public methods and answers as the SQLite
`ScoringStore` (the daily rollup, ranking totals, health reads, persons).

The fold is the SQLite one: a high-water mark of activity ids kept in the same transaction,
taken under an advisory lock so two processes never fold the same rows. Sums of integer
columns are cast back to bigint (PostgreSQL sums them as numeric).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from cockpit.errors import CockpitError
from cockpit.scoring.config import TERMS, ScoringSettings
from cockpit.scoring.rank import pagerank
from cockpit.scoring.repository import DAY_MS, Filter, Who, end_day
from cockpit.scoring.signals import is_question, substantive
from cockpit.scoring.topics import Said
from cockpit.store.base import WriteResult
from cockpit.store.postgres.store import Conn, PostgresStore
from cockpit.store.sqlite_scoring import REANCHOR, SPANS, Totals
from cockpit.timeutil import to_ms, utcnow

# the daily rollup's counters, in the order of the SQLite store's
COLUMNS = (
    "posts",
    "messages",
    "replies",
    "replies_received",
    "reactions_received",
    "threads_answered",
    "answers",
    "reactions_given",
)
WHO = "coalesce(-m.person_id, m.id)"
# the members `m` behind leaderboard keys: (member ids, person ids, keys)
KEYED = (
    "m.id IN (SELECT unnest(%s::bigint[]) UNION ALL SELECT id FROM member "
    f"WHERE person_id = ANY(%s::bigint[])) AND {WHO} = ANY(%s::bigint[])"
)
_IX = {name: i for i, name in enumerate(COLUMNS)}
_EVER = -(1 << 40)
_SPAN_IDS = {span: win for win, span in SPANS.items()}
_ACTIVE_ON = "SELECT DISTINCT member_id FROM score_day WHERE day >= %s AND day < %s"
_INFLUENCE_CACHE = 8
_FOLD_LOCK = 0x636B_7363


def _keys(keys: Sequence[int]) -> tuple[list[int], list[int], list[int]]:
    ks = list(keys)
    return ([k for k in ks if k > 0], [-k for k in ks if k < 0], ks)


def _order(row: tuple[int, float]) -> tuple[float, int]:
    return (-row[1], row[0])


def fsql(f: Filter, alias: str = "m") -> tuple[str, list[Any]]:
    """A `Filter` as PostgreSQL: staff left out, and bots unless asked."""
    where = f" AND NOT ({alias}.id = ANY(%s::bigint[]))"
    params: list[Any] = [list(f.excluded)]
    if f.exclude_bots:
        where += f" AND {alias}.is_bot = 0"
    return where, params


async def _all(conn: Conn, query: str, params: Sequence[Any] = ()) -> list[Any]:
    cur = await conn.execute(query, params)
    return list(await cur.fetchall())


class PgScoringStore:
    """The scoring's view of a `PostgresStore`."""

    def __init__(
        self,
        store: PostgresStore,
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
        s, end = self.settings, end_day(self.clock())
        return await self.store.transaction(
            lambda conn: _catch_up(conn, s, self.totals, end, max_rows)
        )

    async def rebuild(self) -> int:
        s, end = self.settings, end_day(self.clock())

        async def run(conn: Conn) -> int:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_FOLD_LOCK,))
            for table in (
                "score_day",
                "score_edge",
                "score_community_day",
                "score_question",
                "score_answered",
                "score_cooldown",
                "score_total",
            ):
                await conn.execute(f"DELETE FROM {table}")
            await conn.execute("DELETE FROM score_state WHERE key != 'links'")
            return await _catch_up(conn, s, self.totals, end, None)

        return await self.store.transaction(run)

    def listener(self) -> Callable[[WriteResult], Awaitable[None]]:
        async def on_commit(result: WriteResult) -> None:
            if result.new_ids is not None:
                await self.catch_up()

        return on_commit

    # ---------------------------------------------------------------- whom

    async def community_id(self, name: str) -> int:
        rows = await self.store.fetchall("SELECT id FROM community WHERE name = %s", (name,))
        if not rows:
            known = [
                r[0] for r in await self.store.fetchall("SELECT name FROM community ORDER BY id")
            ]
            listed = ", ".join(known) if known else "none yet"
            raise CockpitError(f"no community {name!r} in the store (known: {listed})")
        return int(rows[0][0])

    async def communities(self) -> list[str]:
        return [r[0] for r in await self.store.fetchall("SELECT name FROM community ORDER BY id")]

    async def filter(self, community: str) -> Filter:
        cid = await self.community_id(community)
        excluded: list[int] = []
        s = self.settings
        if s.exclude_staff and s.staff:
            names = [x.lstrip("@").casefold() for x in s.staff]
            rows = await self.store.fetchall(
                "SELECT m2.id FROM member m JOIN member m2 ON m2.id = m.id OR "
                "(m.person_id IS NOT NULL AND m2.person_id = m.person_id) "
                "WHERE m.community_id = %s AND (lower(m.handle) = ANY(%s) "
                "OR lower(m.display_name) = ANY(%s) OR m.platform_user_id = ANY(%s))",
                (cid, names, names, list(s.staff)),
            )
            excluded = sorted({int(r[0]) for r in rows})
        return Filter(cid, excluded, s.exclude_bots)

    async def who(self, keys: Sequence[int]) -> dict[int, Who]:
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
            parts.setdefault(int(key), []).append((mid, display, handle, platform, pname))
        out = {}
        for key, members in parts.items():
            first = members[0]
            platforms = tuple(dict.fromkeys(p[3] for p in members))
            handle = next((p[2] for p in members if p[2]), None)
            name = first[4] if key < 0 and first[4] else first[1]
            out[key] = Who(key, name, handle, platforms, tuple(p[0] for p in members))
        return out

    async def key_of(self, member_id: int) -> int:
        return await _key_of(self.store, member_id)

    async def persons_of(self, member_ids: Sequence[int]) -> dict[int, int | None]:
        return await _persons_of(self.store, member_ids)

    async def first_day(self, f: Filter) -> int | None:
        """The first day with any rollup row for the filter's community."""
        rows = await self.store.fetchall(
            "SELECT min(day) FROM score_day WHERE community_id = %s", (f.community_id,)
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    # ------------------------------------------------------------ rankings

    async def window_scores(
        self,
        f: Filter,
        start_day: int | None,
        end_day: int,
        keys: Sequence[int] | None = None,
        limit: int | None = None,
    ) -> list[tuple[int, int, dict[str, int], dict[str, float]]]:
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
        win = await self._materialised(start_day, end_day)
        if win is None:
            return {k: place for k, place, _, _ in await self._scan(f, start_day, end_day, keys)}
        return await self._places(f, win, keys, None)

    async def _materialised(self, start_day: int | None, end_day: int) -> int | None:
        state = {
            k: int(v)
            for k, v in await self.store.fetchall(
                "SELECT key, value FROM score_state WHERE key IN ('total_end', 'total_basis')"
            )
        }
        end = state.get("total_end")
        if end is None or state.get("total_basis") != self.totals.basis:
            return None
        return _SPAN_IDS.get((None if start_day is None else start_day - end, end_day - end))

    async def _places(
        self, f: Filter, win: int, keys: Sequence[int] | None, limit: int | None
    ) -> dict[int, int]:
        where, params = fsql(f)
        solo = (
            "FROM score_total t JOIN member m ON m.id = t.member_id "
            f"WHERE t.community_id = %s AND t.win = %s AND m.person_id IS NULL{where}"
        )
        args = [f.community_id, win, *params]
        persons = [
            (int(k), float(v))
            for k, v in await self.store.fetchall(
                "SELECT -m.person_id, sum(t.score) FROM member m JOIN score_total t "
                "ON t.win = %s AND t.member_id = m.id AND t.community_id = m.community_id "
                f"WHERE m.person_id IS NOT NULL AND m.community_id = %s{where} "
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
        wanted = sorted(set(keys))
        mine = dict(p for p in persons if p[0] in set(keys))
        mine.update(
            (int(k), float(v))
            for k, v in await self.store.fetchall(
                f"SELECT t.member_id, t.score {solo} AND t.member_id = ANY(%s::bigint[])",
                (*args, wanted),
            )
        )
        if not mine:
            return {}
        ahead = {
            int(k): int(n) - 1
            for k, n in await self.store.fetchall(
                "SELECT who, n FROM (SELECT t.member_id AS who, row_number() OVER "
                f"(ORDER BY t.score DESC, t.member_id) AS n {solo} AND t.score >= %s) AS q "
                "WHERE who = ANY(%s::bigint[])",
                (*args, min(mine.values()), wanted),
            )
        }
        for key in mine:
            if key < 0:
                rows = await self.store.fetchall(
                    f"SELECT count(*) {solo} AND t.score > %s", (*args, mine[key])
                )
                ahead[key] = int(rows[0][0])
        places = {
            key: 1 + ahead[key] + sum(_order(p) < _order((key, score)) for p in persons)
            for key, score in mine.items()
        }
        return dict(sorted(places.items(), key=lambda kv: kv[1])[:limit])

    async def _members_of(self, keys: Sequence[int]) -> list[int]:
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
        where, params = fsql(f)
        if members is not None:
            where += " AND d.member_id = ANY(%s::bigint[])"
            params.append(list(members))
        w = self.settings.weights
        score = " + ".join(f"{w.of(t)!r} * d_{t}" for t in TERMS)
        inner_cols = ", ".join(f"sum(d.{t} * f) AS d_{t}" for t in TERMS)
        query = (
            "WITH s AS (SELECT who, "
            + inner_cols
            + ", "
            + ", ".join(f"sum(d.{t})::bigint AS c_{t}" for t in TERMS)
            + f" FROM (SELECT {WHO} AS who, d.*, "
            "power(%s::float8, (%s - 1 - d.day) / 30.0::float8) AS f "
            "FROM score_day d JOIN member m ON m.id = d.member_id "
            "WHERE d.community_id = %s AND d.day >= %s AND d.day < %s"
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
            query += " WHERE who = ANY(%s::bigint[])"
            args.append(list(keys))
        query += " ORDER BY place, who"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        out = []
        n = len(TERMS)
        for row in await self.store.fetchall(query, args):
            c = {t: int(row[2 + i] or 0) for i, t in enumerate(TERMS)}
            d = {t: float(row[2 + n + i] or 0.0) for i, t in enumerate(TERMS)}
            out.append((int(row[0]), int(row[1]), c, d))
        return out

    async def plain_scores(self, f: Filter, start_ms: int, end_ms: int, limit: int) -> list[Any]:
        where, params = fsql(f)
        return await self.store.fetchall(
            f"SELECT {WHO} AS who, count(*) FILTER (WHERE a.kind = 'message') + "
            "2 * count(a.reply_to) FILTER (WHERE a.kind = 'message') AS score "
            "FROM activity a JOIN member m ON m.id = a.member_id "
            f"WHERE a.community_id = %s AND a.ts >= %s AND a.ts < %s{where} "
            "GROUP BY who ORDER BY score DESC LIMIT %s",
            (f.community_id, start_ms, end_ms, *params, limit),
        )

    async def influence(
        self, f: Filter, start_day: int | None, end_day: int
    ) -> tuple[dict[int, int], list[tuple[int, int, float]]]:
        where_s, params_s = fsql(f, "ms")
        where_d, params_d = fsql(f, "md")
        rows = await self.store.fetchall(
            "SELECT coalesce(-ms.person_id, ms.id) AS s, coalesce(-md.person_id, md.id) AS t, "
            "sum(e.n)::bigint FROM score_edge e JOIN member ms ON ms.id = e.src "
            "JOIN member md ON md.id = e.dst WHERE e.community_id = %s AND e.day >= %s "
            f"AND e.day < %s{where_s}{where_d} GROUP BY 1, 2 ORDER BY 1, 2",
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
        state = {
            k: int(v)
            for k, v in await self.store.fetchall(
                "SELECT key, value FROM score_state WHERE key IN ('hwm', 'links')"
            )
        }
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
        if not keys:
            return {}
        rows = await self.store.fetchall(
            f"SELECT {WHO} AS who, d.day, sum(d.posts)::bigint, sum(d.answers)::bigint, "
            "sum(d.replies)::bigint, sum(d.posts + d.reactions_given)::bigint FROM member m "
            f"JOIN score_day d ON d.member_id = m.id WHERE {KEYED} GROUP BY who, d.day "
            "ORDER BY who, d.day",
            _keys(keys),
        )
        out: dict[int, dict[str, Any]] = {}
        for who, day, posts, answers, replies, acts in rows:
            item = out.setdefault(
                int(who),
                {"answers": 0, "replies": 0, "weeks": set(), "posts": {}, "last_day": None},
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
        s = self.settings
        where, params = fsql(f)
        rows = await self.store.fetchall(
            f"WITH last AS (SELECT {WHO} AS who, max(d.day) AS last_day FROM score_day d "
            f"JOIN member m ON m.id = d.member_id WHERE d.community_id = %s AND d.day >= %s{where} "
            f"GROUP BY 1 HAVING max(d.day) <= %s) "
            f"SELECT l.who, l.last_day, sum(d.posts)::bigint FROM last l JOIN member m "
            f"ON {WHO} = l.who JOIN score_day d ON d.member_id = m.id AND d.day > l.last_day - 90 "
            "AND d.day <= l.last_day GROUP BY l.who, l.last_day HAVING sum(d.posts) >= %s "
            "ORDER BY sum(d.posts) DESC, l.who",
            (
                f.community_id,
                today - 365,
                *params,
                today - s.churn_quiet_days,
                s.churn_conversations,
            ),
        )
        return [(int(a), int(b), int(c)) for a, b, c in rows]

    async def day_posts(self, f: Filter, key: int, start_day: int, end_day: int) -> dict[int, int]:
        where, params = fsql(f)
        rows = await self.store.fetchall(
            f"SELECT d.day, sum(d.posts)::bigint FROM score_day d JOIN member m "
            f"ON m.id = d.member_id WHERE {WHO} = %s AND d.day >= %s AND d.day < %s{where} "
            "GROUP BY d.day",
            (key, start_day, end_day, *params),
        )
        return {int(d): int(n) for d, n in rows}

    # -------------------------------------------------------------- health

    async def active(self, f: Filter, start_day: int, end_day: int) -> tuple[int, int]:
        where, params = fsql(f)
        rows = await self.store.fetchall(
            f"SELECT count(DISTINCT {WHO}), count(DISTINCT CASE WHEN d.posts > 0 THEN {WHO} END) "
            "FROM score_day d JOIN member m ON m.id = d.member_id "
            f"WHERE d.community_id = %s AND d.day >= %s AND d.day < %s{where}",
            (f.community_id, start_day, end_day, *params),
        )
        return int(rows[0][0]), int(rows[0][1])

    async def posts_per_person(self, f: Filter, start_day: int, end_day: int) -> list[int]:
        where, params = fsql(f)
        rows = await self.store.fetchall(
            f"SELECT sum(d.posts)::bigint FROM score_day d JOIN member m ON m.id = d.member_id "
            f"WHERE d.community_id = %s AND d.day >= %s AND d.day < %s{where} GROUP BY {WHO} "
            "HAVING sum(d.posts) > 0 ORDER BY 1 DESC",
            (f.community_id, start_day, end_day, *params),
        )
        return [int(r[0]) for r in rows]

    async def newcomers_spoke(self, f: Filter, start_ms: int, end_ms: int) -> tuple[int, int]:
        where, params = fsql(f)
        rows = await self.store.fetchall(
            "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM score_day d "
            f"WHERE d.member_id = m.id AND d.posts > 0 AND d.day >= m.first_seen / %s "
            f"AND d.day < m.first_seen / %s + 7)) FROM member m WHERE m.community_id = %s "
            f"AND m.person_id IS NULL AND m.first_seen >= %s AND m.first_seen < %s{where}",
            (DAY_MS, DAY_MS, f.community_id, start_ms, end_ms, *params),
        )
        return int(rows[0][0]), int(rows[0][1] or 0)

    async def daily(self, f: Filter, start_day: int, end_day: int) -> dict[int, tuple[int, int]]:
        where, params = fsql(f)
        rows = await self.store.fetchall(
            f"SELECT d.day, count(DISTINCT {WHO}), sum(d.posts)::bigint FROM score_day d "
            "JOIN member m ON m.id = d.member_id "
            f"WHERE d.community_id = %s AND d.day >= %s AND d.day < %s{where} GROUP BY d.day",
            (f.community_id, start_day, end_day, *params),
        )
        return {int(d): (int(a), int(n)) for d, a, n in rows}

    async def members_count(self, f: Filter, before_ms: int | None = None) -> int:
        where, params = fsql(f)
        query = f"SELECT count(DISTINCT {WHO}) FROM member m WHERE m.community_id = %s{where}"
        args: list[Any] = [f.community_id, *params]
        if before_ms is not None:
            query += " AND m.first_seen < %s"
            args.append(before_ms)
        return int((await self.store.fetchall(query, args))[0][0])

    async def joins_leaves(self, f: Filter, start_day: int, end_day: int) -> tuple[int, int]:
        rows = await self.store.fetchall(
            "SELECT coalesce(sum(joins), 0), coalesce(sum(leaves), 0) FROM score_community_day "
            "WHERE community_id = %s AND day >= %s AND day < %s",
            (f.community_id, start_day, end_day),
        )
        return int(rows[0][0]), int(rows[0][1])

    async def questions(
        self, f: Filter, start_ms: int, end_ms: int
    ) -> list[tuple[int, int | None]]:
        where, params = fsql(f)
        rows = await self.store.fetchall(
            "SELECT q.ts, q.answered_ts FROM score_question q JOIN member m ON m.id = q.member_id "
            f"WHERE q.community_id = %s AND q.ts >= %s AND q.ts < %s{where} ORDER BY q.activity_id",
            (f.community_id, start_ms, end_ms, *params),
        )
        return [(int(a), int(b) if b is not None else None) for a, b in rows]

    async def unanswered(self, f: Filter, start_ms: int, limit: int) -> list[dict[str, Any]]:
        where, params = fsql(f)
        rows = await self.store.fetchall(
            "SELECT a.platform, a.source_id, a.ts, ch.name, m.display_name, a.text "
            "FROM score_question q JOIN activity a ON a.id = q.activity_id "
            "JOIN member m ON m.id = q.member_id JOIN channel ch ON ch.id = a.channel_id "
            "WHERE q.community_id = %s AND q.ts >= %s AND q.answered_ts IS NULL AND a.deleted = 0"
            f"{where} ORDER BY q.ts DESC LIMIT %s",
            (f.community_id, start_ms, *params, limit),
        )
        keys = ("platform", "id", "ts", "channel", "author", "text")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    async def texts(self, f: Filter, start_ms: int, end_ms: int, limit: int) -> list[Said]:
        where, params = fsql(f)
        rows = await self.store.fetchall(
            "SELECT a.text, c.name, a.platform FROM activity a JOIN member m ON m.id = a.member_id "
            "JOIN channel c ON c.id = a.channel_id "
            "WHERE a.ts >= %s AND a.ts < %s AND a.community_id = %s AND a.kind = 'message' "
            f"AND a.deleted = 0{where} ORDER BY a.ts DESC LIMIT %s",
            (start_ms, end_ms, f.community_id, *params, limit),
        )
        return [Said(r[0], r[1], r[2]) for r in rows]

    async def newcomers(self, f: Filter, start_ms: int, end_ms: int, gone_ms: int) -> list[Any]:
        where, params = fsql(f)
        return await self.store.fetchall(
            "SELECT m.id, m.display_name, m.platform, m.first_seen, m.last_seen, "
            "(m.last_seen - m.first_seen < %s AND m.last_seen < %s)::int AS gone "
            "FROM member m WHERE m.community_id = %s AND m.person_id IS NULL "
            f"AND m.first_seen >= %s AND m.first_seen < %s{where} ORDER BY m.first_seen, m.id",
            (DAY_MS, gone_ms, f.community_id, start_ms, end_ms, *params),
        )


class PgIdentityStore:
    """Persons: members linked across platforms (link, unlink, reject), in a PostgresStore."""

    def __init__(self, store: PostgresStore, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    async def members_of(self, person_id: int) -> list[int]:
        rows = await self.store.fetchall(
            "SELECT id FROM member WHERE person_id = %s ORDER BY id", (person_id,)
        )
        return [int(r[0]) for r in rows]

    async def link(self, a: int, b: int) -> int:
        if a == b:
            raise CockpitError(f"#{a} and #{b} are the same member")
        now = to_ms(self.clock())

        async def run(conn: Conn) -> int:
            rows = {
                r[0]: r
                for r in await _all(
                    conn,
                    "SELECT id, community_id, person_id, display_name FROM member "
                    "WHERE id IN (%s, %s) ORDER BY id FOR UPDATE",
                    (a, b),
                )
            }
            for m in (a, b):
                if m not in rows:
                    raise CockpitError(f"no member #{m}")
            if rows[a][1] != rows[b][1]:
                raise CockpitError(f"#{a} and #{b} are in different communities")
            pa, pb = rows[a][2], rows[b][2]
            if pa is not None and pa == pb:
                return int(pa)
            if pa is None and pb is None:
                made = await _all(
                    conn,
                    "INSERT INTO person (community_id, name, created) VALUES (%s, %s, %s) "
                    "RETURNING id",
                    (rows[a][1], rows[a][3], now),
                )
                pa = made[0][0]
                await conn.execute("UPDATE member SET person_id = %s WHERE id = %s", (pa, a))
            elif pa is None:
                pa, pb = pb, None
                await conn.execute("UPDATE member SET person_id = %s WHERE id = %s", (pa, a))
            if pb is not None:
                await conn.execute(
                    "UPDATE member SET person_id = %s WHERE person_id = %s", (pa, pb)
                )
                await conn.execute("DELETE FROM person WHERE id = %s", (pb,))
            await conn.execute("UPDATE member SET person_id = %s WHERE id = %s", (pa, b))
            await conn.execute(
                "DELETE FROM person_rejected WHERE (a, b) IN ((%s, %s), (%s, %s))", (a, b, b, a)
            )
            await _links_changed(conn)
            return int(pa)

        return await self.store.transaction(run)

    async def unlink(self, member_id: int) -> bool:
        async def run(conn: Conn) -> bool:
            row = await _all(
                conn, "SELECT person_id FROM member WHERE id = %s FOR UPDATE", (member_id,)
            )
            if not row:
                raise CockpitError(f"no member #{member_id}")
            person = row[0][0]
            if person is None:
                return False
            await conn.execute("UPDATE member SET person_id = NULL WHERE id = %s", (member_id,))
            left = await _all(conn, "SELECT count(*) FROM member WHERE person_id = %s", (person,))
            if int(left[0][0]) <= 1:
                await conn.execute(
                    "UPDATE member SET person_id = NULL WHERE person_id = %s", (person,)
                )
                await conn.execute("DELETE FROM person WHERE id = %s", (person,))
            await _links_changed(conn)
            return True

        return await self.store.transaction(run)

    async def reject(self, a: int, b: int) -> None:
        lo, hi = min(a, b), max(a, b)

        async def run(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO person_rejected (a, b) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (lo, hi),
            )

        await self.store.transaction(run)

    async def identities(self, community_id: int) -> list[Any]:
        return await self.store.fetchall(
            "SELECT id, platform, handle, display_name, person_id, activity_count FROM member "
            "WHERE community_id = %s AND is_bot = 0 ORDER BY id",
            (community_id,),
        )

    async def rejected(self) -> set[tuple[int, int]]:
        return {
            (int(a), int(b))
            for a, b in await self.store.fetchall("SELECT a, b FROM person_rejected")
        }

    async def persons_of(self, member_ids: Sequence[int]) -> dict[int, int | None]:
        return await _persons_of(self.store, member_ids)

    async def key_of(self, member_id: int) -> int:
        return await _key_of(self.store, member_id)

    async def community_id(self, name: str) -> int:
        return await PgScoringStore(self.store).community_id(name)


async def _key_of(store: PostgresStore, member_id: int) -> int:
    rows = await store.fetchall(
        "SELECT coalesce(-person_id, id) FROM member WHERE id = %s", (member_id,)
    )
    if not rows:
        raise CockpitError(f"no member #{member_id}")
    return int(rows[0][0])


async def _persons_of(store: PostgresStore, member_ids: Sequence[int]) -> dict[int, int | None]:
    rows = await store.fetchall(
        "SELECT id, person_id FROM member WHERE id = ANY(%s::bigint[])", (list(member_ids),)
    )
    return {int(i): (int(p) if p is not None else None) for i, p in rows}


# ---------------------------------------------------------------- the fold


async def _catch_up(
    conn: Conn, settings: ScoringSettings, totals: Totals, end: int, max_rows: int | None
) -> int:
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_FOLD_LOCK,))
    state = await _state(conn)
    low = state.get("hwm", 0)
    top = int((await _all(conn, "SELECT coalesce(max(id), 0) FROM activity"))[0][0])
    high = min(top, low + max_rows) if max_rows else top
    touched: set[tuple[int, int]] = set()
    step = 50_000
    for start in range(low, high, step):
        touched |= await _fold(
            conn, start, min(high, start + step), settings.cooldown_s * 1000, settings.min_length
        )
    if high > low:
        await _set_state(conn, hwm=high)
    await _settle(conn, totals, end, touched, state)
    return max(0, high - low)


async def _state(conn: Conn) -> dict[str, int]:
    return {k: int(v) for k, v in await _all(conn, "SELECT key, value FROM score_state")}


async def _set_state(conn: Conn, **values: int) -> None:
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO score_state (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            list(values.items()),
        )


async def _links_changed(conn: Conn) -> None:
    await conn.execute(
        "INSERT INTO score_state AS s (key, value) VALUES ('links', 1) "
        "ON CONFLICT (key) DO UPDATE SET value = s.value + 1"
    )


async def _settle(
    conn: Conn, totals: Totals, end: int, touched: set[tuple[int, int]], state: dict[str, int]
) -> None:
    old, anchor = state.get("total_end"), state.get("total_anchor")
    if (
        state.get("total_basis") != totals.basis
        or old is None
        or anchor is None
        or abs(end - 1 - anchor) / 30 * -math.log(totals.decay) > math.log(REANCHOR)
    ):
        anchor = end - 1
        for win in SPANS:
            await _fill(conn, totals, anchor, end, win, None)
        await _set_state(conn, total_end=end, total_anchor=anchor, total_basis=totals.basis)
        return
    for win, (lo, hi) in SPANS.items():
        first = _EVER if lo is None else end + lo
        members = {m for m, d in touched if first <= d < end + hi}
        moved = [] if old == end else _moved(lo, hi, old, end)
        for a, b in moved or ():
            members.update(int(r[0]) for r in await _all(conn, _ACTIVE_ON, (a, b)))
        await _fill(conn, totals, anchor, end, win, None if moved is None else members)
    if old != end:
        await _set_state(conn, total_end=end)


def _moved(lo: int | None, hi: int, old: int, new: int) -> list[tuple[int, int]] | None:
    a, b = min(old, new), max(old, new)
    if lo is None:
        return [(a + hi, b + hi)]
    if b - a >= hi - lo:
        return None
    return [(a + lo, b + lo), (a + hi, b + hi)]


async def _fill(
    conn: Conn, totals: Totals, anchor: int, end: int, win: int, members: set[int] | None
) -> None:
    lo, hi = SPANS[win]
    args: list[Any]
    if members is None:
        await conn.execute("DELETE FROM score_total WHERE win = %s", (win,))
        which, args = "true", []
    elif members:
        ids = sorted(members)
        await conn.execute(
            "DELETE FROM score_total WHERE win = %s AND member_id = ANY(%s::bigint[])", (win, ids)
        )
        which, args = "d.member_id = ANY(%s::bigint[])", [ids]
    else:
        return
    points = f"sum(({totals.points}) * power(%s::float8, (%s - d.day) / 30.0::float8))"
    await conn.execute(
        "INSERT INTO score_total (win, member_id, community_id, score) "
        f"SELECT %s, d.member_id, d.community_id, {points} "
        f"FROM score_day d WHERE {which} AND d.day >= %s AND d.day < %s "
        f"GROUP BY d.member_id, d.community_id HAVING {points} > 0",
        (
            win,
            totals.decay,
            anchor,
            *args,
            _EVER if lo is None else end + lo,
            end + hi,
            totals.decay,
            anchor,
        ),
    )


async def _fold(
    conn: Conn, low: int, high: int, cooldown_ms: int, min_length: int
) -> set[tuple[int, int]]:
    rows = await _all(
        conn,
        "SELECT a.id, a.community_id, a.member_id, a.kind, a.ts, a.text, m.is_bot, "
        "p.id, p.member_id, p.ts, (p.kind = 'message' AND p.reply_to IS NULL) "
        "FROM activity a JOIN member m ON m.id = a.member_id "
        "LEFT JOIN activity p ON p.platform = a.platform "
        "AND p.source_id = coalesce(a.reply_to, nullif(a.thread, a.source_id)) "
        "AND p.kind = 'message' "
        "WHERE a.id > %s AND a.id <= %s AND a.deleted = 0 "
        "AND a.kind IN ('message', 'reaction', 'join', 'leave') ORDER BY a.ts, a.id",
        (low, high),
    )
    if not rows:
        return set()
    authors = sorted({r[2] for r in rows})
    last: dict[int, int] = {
        int(m): int(t)
        for m, t in await _all(
            conn,
            "SELECT member_id, ts FROM score_cooldown WHERE member_id = ANY(%s::bigint[])",
            (authors,),
        )
    }
    parents = sorted({r[7] for r in rows if r[7] is not None})
    answered = {
        int(r[0])
        for r in await _all(
            conn, "SELECT activity_id FROM score_answered WHERE activity_id = ANY(%s)", (parents,)
        )
    }
    asked_before = {
        int(r[0]): r[1]
        for r in await _all(
            conn,
            "SELECT activity_id, answered_ts FROM score_question WHERE activity_id = ANY(%s)",
            (parents,),
        )
    }
    new_answered: list[int] = []
    days: dict[tuple[int, int, int], list[int]] = {}
    edges: dict[tuple[int, int, int, int], int] = {}
    community_days: dict[tuple[int, int], list[int]] = {}
    questions: list[tuple[int, int, int, int]] = []
    answered_questions: list[tuple[int, int, int]] = []
    pending_q: dict[int, bool] = {}

    def bump(cid: int, ts: int, member: int, column: str) -> None:
        cell = days.get((cid, ts // DAY_MS, member))
        if cell is None:
            cell = days[(cid, ts // DAY_MS, member)] = [0] * len(COLUMNS)
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
            if ptop and pid not in answered:
                answered.add(pid)
                new_answered.append(pid)
                bump(cid, pts, pmember, "threads_answered")
            if pid in pending_q:
                asked = True
                if not pending_q[pid]:
                    pending_q[pid] = True
                    answered_questions.append((ts, member, pid))
            else:
                asked = pid in asked_before
                if asked and asked_before[pid] is None:
                    answered_questions.append((ts, member, pid))
            if asked and counted:
                bump(cid, ts, member, "answers")
        if not bot and is_question(text):
            questions.append((aid, cid, member, ts))
            pending_q[aid] = False
    if days:
        cols = [list(c) for c in zip(*((*k, *v) for k, v in days.items()), strict=True)]
        await conn.execute(
            "INSERT INTO score_day AS s (community_id, day, member_id, "
            + ", ".join(COLUMNS)
            + ") SELECT * FROM unnest("
            + ", ".join(["%s::bigint[]"] * (3 + len(COLUMNS)))
            + ") ON CONFLICT (community_id, day, member_id) DO UPDATE SET "
            + ", ".join(f"{c} = s.{c} + excluded.{c}" for c in COLUMNS),
            cols,
        )
    if edges:
        cols = [list(c) for c in zip(*((*k, n) for k, n in edges.items()), strict=True)]
        await conn.execute(
            "INSERT INTO score_edge AS s (community_id, day, src, dst, n) SELECT * FROM "
            "unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) "
            "ON CONFLICT (community_id, day, src, dst) DO UPDATE SET n = s.n + excluded.n",
            cols,
        )
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO score_community_day AS s (community_id, day, joins, leaves) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (community_id, day) DO UPDATE SET "
            "joins = s.joins + excluded.joins, leaves = s.leaves + excluded.leaves",
            [(*k, *v) for k, v in community_days.items()],
        )
        if new_answered:
            await cur.execute(
                "INSERT INTO score_answered (activity_id) SELECT unnest(%s::bigint[]) "
                "ON CONFLICT DO NOTHING",
                (new_answered,),
            )
        if questions:
            cols = [list(c) for c in zip(*questions, strict=True)]
            await cur.execute(
                "INSERT INTO score_question (activity_id, community_id, member_id, ts) "
                "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) "
                "ON CONFLICT DO NOTHING",
                cols,
            )
        await cur.executemany(
            "UPDATE score_question SET answered_ts = %s, answered_by = %s "
            "WHERE activity_id = %s AND answered_ts IS NULL",
            answered_questions,
        )
        if last:
            await cur.execute(
                "INSERT INTO score_cooldown (member_id, ts) SELECT * FROM "
                "unnest(%s::bigint[], %s::bigint[]) "
                "ON CONFLICT (member_id) DO UPDATE SET ts = excluded.ts",
                (list(last), list(last.values())),
            )
    return {(member, day) for _, day, member in days}
