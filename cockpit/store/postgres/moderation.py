"""The case log in the PostgreSQL store. Same tables and semantics as SQLite's
(`sqlite_moderation.py`, whose row readers it shares); claims take rows with
`FOR UPDATE SKIP LOCKED`, so collectors claiming at once never get the same step, and every
change is announced with NOTIFY ("case:<n>") for attached cockpits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from cockpit.moderation.repository import (
    Case,
    CaseEvent,
    CaseQuery,
    Claimed,
    NewCase,
    Note,
    Restriction,
    RoleStep,
    Step,
)
from cockpit.plugin_api import ActionOutcome
from cockpit.store.sqlite_moderation import (
    CASE_COLUMNS,
    COUNTED,
    FIRST_EVENT,
    REMOVING,
    ROLE_STEPS,
    STEP_COLUMNS,
    UNCOUNTED,
    case_from,
    role_step_from,
    step_from,
)
from cockpit.timeutil import from_ms, to_ms

if TYPE_CHECKING:
    from cockpit.store.postgres.store import Conn, PostgresStore


def _ms(value: datetime | None) -> int | None:
    return None if value is None else to_ms(value)


def _dt(value: int | None) -> datetime | None:
    return None if value is None else from_ms(int(value))


async def _all(conn: Conn, query: str, params: Sequence[Any] = ()) -> list[Any]:
    cur = await conn.execute(query, params)
    return list(await cur.fetchall())


async def _event(conn: Conn, number: int, kind: str, who: str, text: str, at: int) -> None:
    await conn.execute(
        "INSERT INTO mod_event (case_no, kind, at, who, text) VALUES (%s, %s, %s, %s, %s)",
        (number, kind, at, who, text),
    )
    await conn.execute("UPDATE mod_case SET updated = %s WHERE number = %s", (at, number))


class PgModeration:
    """The moderation repository of a `PostgresStore`."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def _notify(self, conn: Conn, number: int) -> None:
        await self.store.notify(conn, f"case:{number}")

    async def _load(self, numbers: Sequence[int]) -> list[Case]:
        if not numbers:
            return []
        ids = list(numbers)
        q = self.store.fetchall
        rows = await q(f"SELECT {CASE_COLUMNS} FROM mod_case WHERE number = ANY(%s)", (ids,))
        steps: dict[int, list[Step]] = {}
        for r in await q(
            f"SELECT {STEP_COLUMNS} FROM mod_step WHERE case_no = ANY(%s) ORDER BY id", (ids,)
        ):
            steps.setdefault(int(r[1]), []).append(step_from(r))
        events: dict[int, list[CaseEvent]] = {}
        for r in await q(
            "SELECT case_no, kind, at, who, text FROM mod_event WHERE case_no = ANY(%s) "
            "ORDER BY id",
            (ids,),
        ):
            events.setdefault(int(r[0]), []).append(CaseEvent(r[1], from_ms(int(r[2])), r[3], r[4]))
        by = {
            int(r[0]): case_from(r, steps.get(int(r[0]), []), events.get(int(r[0]), []))
            for r in rows
        }
        return [by[n] for n in numbers if n in by]

    async def case(self, number: int) -> Case | None:
        found = await self._load([number])
        return found[0] if found else None

    async def cases(self, query: CaseQuery) -> list[Case]:
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if query.community:
            where.append("c.community = %s")
            params.append(query.community)
        if query.alert_id is not None:
            where.append("c.alert_id = %s")
            params.append(query.alert_id)
        if not query.posts:
            where.append(f"NOT (c.action IN {UNCOUNTED} AND c.operator LIKE 'rule:%%')")
        if query.member_ids:
            where.append(
                "(c.member_id = ANY(%s) OR c.number IN (SELECT case_no FROM mod_step "
                "WHERE member_id = ANY(%s)))"
            )
            params += [list(query.member_ids), list(query.member_ids)]
        order = "DESC"
        if query.after is not None:
            where.append("c.number > %s")
            params.append(query.after)
            order = "ASC"
        limit = query.limit if not query.states else max(query.limit * 20, 1000)
        numbers = [
            int(r[0])
            for r in await self.store.fetchall(
                f"SELECT c.number FROM mod_case c WHERE {' AND '.join(where)} "
                f"ORDER BY c.number {order} LIMIT %s",
                [*params, limit],
            )
        ]
        out = await self._load(numbers)
        if query.states:
            out = [c for c in out if c.state in query.states]
        return out[: query.limit]

    async def role_steps(self, community: str, operator: str) -> list[RoleStep]:
        rows = await self.store.fetchall(ROLE_STEPS, [community, operator])
        return [role_step_from(r) for r in rows]

    async def submit(self, new: NewCase, now: datetime) -> Case:
        at = to_ms(now)
        members = list(new.step_members) if new.step_members else [new.member_id] * len(new.targets)

        async def run(conn: Conn) -> int:
            rows = await _all(
                conn,
                "INSERT INTO mod_case (community, action, reason, operator, label, created, "
                "member_id, person_id, alert_id, activity_ids, until, text, delete_history_s, "
                "slowmode_seconds, reverts, updated, origin, role) VALUES (%s, %s, %s, %s, %s, "
                "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (origin) WHERE origin IS NOT NULL DO NOTHING RETURNING number",
                (
                    new.community,
                    new.action,
                    new.reason,
                    new.operator,
                    new.label,
                    at,
                    new.member_id,
                    new.person_id,
                    new.alert_id,
                    orjson.dumps(list(new.activity_ids)).decode(),
                    _ms(new.until),
                    new.text,
                    new.delete_history_s,
                    new.slowmode_seconds,
                    new.reverts,
                    at,
                    new.origin,
                    new.role,
                ),
            )
            if not rows:  # this origin asked before: that case, nothing added
                had = await _all(
                    conn, "SELECT number FROM mod_case WHERE origin = %s", (new.origin,)
                )
                return int(had[0][0])
            number = int(rows[0][0])
            for t, member in zip(new.targets, members, strict=True):
                await conn.execute(
                    "INSERT INTO mod_step (case_no, platform, community, member_id, user_id, "
                    "channel_id, message_ids, label, status) VALUES (%s, %s, %s, %s, %s, %s, "
                    "%s, %s, %s)",
                    (
                        number,
                        t.platform,
                        t.community,
                        member,
                        t.user_id,
                        t.channel_id,
                        orjson.dumps(list(t.message_ids)).decode(),
                        t.label,
                        new.status,
                    ),
                )
            await _event(conn, number, FIRST_EVENT[new.status], new.operator, new.reason, at)
            await self._notify(conn, number)
            return number

        number = await self.store.transaction(run)
        case = await self.case(number)
        assert case is not None
        return case

    async def claim(
        self, pairs: Sequence[tuple[str, str]], holder: str, now: datetime, limit: int = 20
    ) -> list[Claimed]:
        if not pairs:
            return []
        at = to_ms(now)
        cond = " OR ".join("(platform = %s AND community = %s)" for _ in pairs)
        params = [x for pair in pairs for x in pair]

        async def run(conn: Conn) -> list[tuple[int, int]]:
            rows = await _all(
                conn,
                "UPDATE mod_step SET status = 'claimed', claimed_by = %s, claimed_at = %s "
                f"WHERE id IN (SELECT id FROM mod_step WHERE status = 'pending' AND ({cond}) "
                "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id, case_no",
                [holder, at, *params, limit],
            )
            for _, number in rows:
                await _event(conn, int(number), "claimed", holder, "", at)
                await self._notify(conn, int(number))
            return [(int(r[0]), int(r[1])) for r in rows]

        return await self._claimed(await self.store.transaction(run), stale=False)

    async def _claimed(self, ids: Sequence[tuple[int, int]], stale: bool) -> list[Claimed]:
        cases = {c.number: c for c in await self._load(sorted({n for _, n in ids}))}
        out = []
        for step_id, number in sorted(ids):
            case = cases[number]
            out.append(Claimed(case, next(s for s in case.steps if s.id == step_id), stale))
        return out

    async def stale(self, pairs: Sequence[tuple[str, str]]) -> list[Claimed]:
        if not pairs:
            return []
        cond = " OR ".join("(platform = %s AND community = %s)" for _ in pairs)
        rows = await self.store.fetchall(
            f"SELECT id, case_no FROM mod_step WHERE status = 'claimed' AND ({cond})",
            [x for pair in pairs for x in pair],
        )
        return await self._claimed([(int(r[0]), int(r[1])) for r in rows], stale=True)

    async def finish(
        self, step: Step, outcome: ActionOutcome, now: datetime, *, verified: bool = False
    ) -> Case:
        at = to_ms(now)

        async def run(conn: Conn) -> None:
            await conn.execute(
                "UPDATE mod_step SET status = %s, detail = %s, ref = %s, restore = %s, "
                "lifts_itself = %s, finished_at = %s WHERE id = %s",
                (
                    outcome.status,
                    outcome.detail,
                    outcome.ref,
                    orjson.dumps(dict(outcome.restore)).decode() if outcome.restore else None,
                    int(outcome.lifts_itself),
                    at,
                    step.id,
                ),
            )
            action = (
                await _all(conn, "SELECT action FROM mod_case WHERE number = %s", (step.case,))
            )[0][0]
            if outcome.status == "done" and action in REMOVING and step.target.message_ids:
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "INSERT INTO mod_removed (platform, message_id, case_no) "
                        "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                        [(step.target.platform, m, step.case) for m in step.target.message_ids],
                    )
                await conn.execute(
                    "UPDATE activity SET deleted = 1 WHERE platform = %s AND source_id = ANY(%s)",
                    (step.target.platform, list(step.target.message_ids)),
                )
            kind = "verified" if verified else outcome.status
            await _event(
                conn,
                step.case,
                kind,
                step.claimed_by or "",
                f"{step.target.platform}: {outcome.detail}",
                at,
            )
            await self._notify(conn, step.case)

        await self.store.transaction(run)
        case = await self.case(step.case)
        assert case is not None
        return case

    async def withdraw(self, number: int, who: str, why: str, now: datetime) -> bool:
        at = to_ms(now)

        async def run(conn: Conn) -> bool:
            rows = await _all(
                conn,
                "SELECT status FROM mod_step WHERE case_no = %s FOR UPDATE",
                (number,),
            )
            if any(r[0] != "pending" for r in rows):
                return False
            await conn.execute(
                "UPDATE mod_step SET status = 'withdrawn', detail = %s, finished_at = %s "
                "WHERE case_no = %s AND status = 'pending'",
                (why, at, number),
            )
            await _event(conn, number, "withdrawn", who, why, at)
            await self._notify(conn, number)
            return True

        ok: bool = await self.store.transaction(run)
        return ok

    async def decide(self, number: int, confirm: bool, who: str, now: datetime) -> bool:
        at = to_ms(now)
        status, kind = ("pending", "confirmed") if confirm else ("rejected", "rejected")

        async def run(conn: Conn) -> bool:
            cur = await conn.execute(
                "UPDATE mod_step SET status = %s, finished_at = %s "
                "WHERE case_no = %s AND status = 'proposed'",
                (status, None if confirm else at, number),
            )
            if not cur.rowcount:
                return False
            if confirm:  # a timeout proposed an hour ago still lasts its full length
                await conn.execute(
                    "UPDATE mod_case SET until = until + greatest(0, %s - created) "
                    "WHERE number = %s AND until IS NOT NULL",
                    (at, number),
                )
            await _event(conn, number, kind, who, "", at)
            await self._notify(conn, number)
            return True

        ok: bool = await self.store.transaction(run)
        return ok

    async def automatic_steps(self, since: datetime, operator: str | None = None) -> int:
        who, param = ("c.operator = %s", operator) if operator else ("c.operator LIKE %s", "rule:%")
        rows = await self.store.fetchall(
            "SELECT count(*) FROM mod_step s JOIN mod_case c ON c.number = s.case_no "
            f"WHERE c.created >= %s AND {who} AND c.action NOT IN {UNCOUNTED} "
            "AND s.status = ANY(%s)",
            [to_ms(since), param, list(COUNTED)],
        )
        return int(rows[0][0])

    async def add_event(self, number: int, kind: str, who: str, text: str, now: datetime) -> None:
        async def run(conn: Conn) -> None:
            if not await _all(conn, "SELECT 1 FROM mod_case WHERE number = %s", (number,)):
                raise LookupError(number)
            await _event(conn, number, kind, who, text, to_ms(now))
            await self._notify(conn, number)

        await self.store.transaction(run)

    async def close(self, number: int, how: str, who: str, text: str, now: datetime) -> bool:
        at = to_ms(now)

        async def run(conn: Conn) -> bool:
            cur = await conn.execute(
                "UPDATE mod_case SET closed = %s, updated = %s WHERE number = %s "
                "AND closed IS NULL",
                (how, at, number),
            )
            if cur.rowcount:
                await _event(conn, number, how, who, text, at)
                await self._notify(conn, number)
            return bool(cur.rowcount)

        ok: bool = await self.store.transaction(run)
        return ok

    async def due(self, now: datetime, limit: int = 50) -> list[Case]:
        rows = await self.store.fetchall(
            "SELECT number FROM mod_case WHERE until IS NOT NULL AND closed IS NULL "
            "AND until <= %s ORDER BY until LIMIT %s",
            (to_ms(now), limit),
        )
        cases = await self._load([int(r[0]) for r in rows])
        return [c for c in cases if c.state in ("done", "partial")]

    async def add_note(self, member_id: int, text: str, who: str, now: datetime) -> None:
        async def run(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO mod_note (member_id, text, who, at) VALUES (%s, %s, %s, %s)",
                (member_id, text, who, to_ms(now)),
            )

        await self.store.transaction(run)

    async def notes(self, member_ids: Sequence[int]) -> list[Note]:
        if not member_ids:
            return []
        rows = await self.store.fetchall(
            "SELECT member_id, text, who, at FROM mod_note WHERE member_id = ANY(%s) "
            "ORDER BY at DESC, id DESC",
            (list(member_ids),),
        )
        return [Note(int(r[0]), r[1], r[2], from_ms(int(r[3]))) for r in rows]

    async def restrictions(self, member_ids: Sequence[int], now: datetime) -> list[Restriction]:
        if not member_ids:
            return []
        rows = await self.store.fetchall(
            "SELECT s.member_id, s.platform, c.action, c.until, c.number FROM mod_step s "
            "JOIN mod_case c ON c.number = s.case_no WHERE s.member_id = ANY(%s) "
            "AND s.status = 'done' AND c.action IN ('timeout', 'ban') AND c.closed IS NULL "
            "AND (c.until IS NULL OR c.until > %s) ORDER BY c.number",
            (list(member_ids), to_ms(now)),
        )
        return [Restriction(int(r[0]), r[1], r[2], _dt(r[3]), int(r[4])) for r in rows]

    async def removed_messages(self, platform: str, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        rows = await self.store.fetchall(
            "SELECT message_id FROM mod_removed WHERE platform = %s AND message_id = ANY(%s)",
            (platform, list(ids)),
        )
        return {r[0] for r in rows}
