"""The case log in the SQLite store: cases, steps, events, notes, deleted messages.

Claims run inside the writer's BEGIN IMMEDIATE transaction, so two processes on one file
never take the same step (the second waits for the first's commit and finds it claimed).
"""

from __future__ import annotations

import sqlite3
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
    state_of,
)
from cockpit.plugin_api import ActionOutcome, ActionTarget
from cockpit.timeutil import from_ms, to_ms

if TYPE_CHECKING:
    from cockpit.store.sqlite import SQLiteStore

CASE_COLUMNS = (
    "number, community, action, reason, operator, label, created, member_id, person_id, "
    "alert_id, activity_ids, until, text, delete_history_s, slowmode_seconds, reverts, closed, "
    "origin, role"
)
STEP_COLUMNS = (
    "id, case_no, platform, community, member_id, user_id, channel_id, message_ids, label, "
    "status, detail, ref, restore, lifts_itself, claimed_by, claimed_at, finished_at"
)
REMOVING = frozenset({"delete", "purge"})
FIRST_EVENT = {"pending": "requested", "proposed": "proposed", "dry-run": "dry-run"}
COUNTED = ("pending", "claimed", "done", "failed", "unknown")  # what a rule ran, for its cap
# posts (welcomes, announcements) and role rewards are not moderation: no cap counts them
UNCOUNTED = "('say', 'role_add', 'role_remove')"
ROLE_STEPS = (
    "SELECT c.number, c.action, c.role, s.platform, s.user_id, s.status, s.member_id, c.created "
    "FROM mod_case c JOIN mod_step s ON s.case_no = c.number WHERE c.community = %s "
    "AND c.operator = %s AND c.action IN ('role_add', 'role_remove') ORDER BY c.number, s.id"
)


def _ms(value: datetime | None) -> int | None:
    return None if value is None else to_ms(value)


def _dt(value: int | None) -> datetime | None:
    return None if value is None else from_ms(int(value))


def step_from(r: Sequence[Any]) -> Step:
    target = ActionTarget(
        platform=r[2],
        community=r[3],
        user_id=r[5],
        channel_id=r[6],
        message_ids=tuple(orjson.loads(r[7] or "[]")),
        label=r[8] or "",
    )
    return Step(
        id=int(r[0]),
        case=int(r[1]),
        target=target,
        status=r[9],
        detail=r[10] or "",
        ref=r[11],
        restore=orjson.loads(r[12]) if r[12] else None,
        lifts_itself=bool(r[13]),
        claimed_by=r[14],
        claimed_at=_dt(r[15]),
        finished_at=_dt(r[16]),
    )


def role_step_from(r: Sequence[Any]) -> RoleStep:
    return RoleStep(
        case=int(r[0]),
        action=r[1],
        role=r[2] or "",
        platform=r[3],
        user_id=r[4] or "",
        status=r[5],
        member_id=r[6],
        created=from_ms(int(r[7])),
    )


def case_from(r: Sequence[Any], steps: Sequence[Step], events: Sequence[CaseEvent]) -> Case:
    return Case(
        number=int(r[0]),
        community=r[1],
        action=r[2],
        reason=r[3],
        operator=r[4],
        label=r[5],
        created=from_ms(int(r[6])),
        member_id=r[7],
        person_id=r[8],
        alert_id=r[9],
        activity_ids=tuple(orjson.loads(r[10] or "[]")),
        until=_dt(r[11]),
        text=r[12],
        delete_history_s=r[13],
        slowmode_seconds=r[14],
        reverts=r[15],
        closed=r[16],
        origin=r[17],
        role=r[18],
        state=state_of([s.status for s in steps], r[16]),
        steps=tuple(steps),
        events=tuple(events),
    )


class SQLiteModeration:
    """The moderation repository of a `SQLiteStore`."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    # ----------------------------------------------------------------- reads

    async def _load(self, numbers: Sequence[int]) -> list[Case]:
        if not numbers:
            return []
        marks = ",".join("?" * len(numbers))
        q = self.store.fetchall
        rows = await q(f"SELECT {CASE_COLUMNS} FROM mod_case WHERE number IN ({marks})", numbers)
        steps: dict[int, list[Step]] = {}
        for r in await q(
            f"SELECT {STEP_COLUMNS} FROM mod_step WHERE case_no IN ({marks}) ORDER BY id", numbers
        ):
            steps.setdefault(int(r[1]), []).append(step_from(r))
        events: dict[int, list[CaseEvent]] = {}
        for r in await q(
            f"SELECT case_no, kind, at, who, text FROM mod_event WHERE case_no IN ({marks}) "
            "ORDER BY id",
            numbers,
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

    async def role_steps(self, community: str, operator: str) -> list[RoleStep]:
        rows = await self.store.fetchall(ROLE_STEPS.replace("%s", "?"), [community, operator])
        return [role_step_from(r) for r in rows]

    async def cases(self, query: CaseQuery) -> list[Case]:
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if query.community:
            where.append("c.community = ?")
            params.append(query.community)
        if query.alert_id is not None:
            where.append("c.alert_id = ?")
            params.append(query.alert_id)
        if not query.posts:
            where.append(f"NOT (c.action IN {UNCOUNTED} AND c.operator LIKE 'rule:%')")
        if query.member_ids:
            marks = ",".join("?" * len(query.member_ids))
            where.append(
                f"(c.member_id IN ({marks}) OR c.number IN (SELECT case_no FROM mod_step "
                f"WHERE member_id IN ({marks})))"
            )
            params += [*query.member_ids, *query.member_ids]
        order = "DESC"
        if query.after is not None:
            where.append("c.number > ?")
            params.append(query.after)
            order = "ASC"
        # states are derived from the steps: filter after loading, reading enough rows
        limit = query.limit if not query.states else max(query.limit * 20, 1000)
        numbers = [
            int(r[0])
            for r in await self.store.fetchall(
                f"SELECT c.number FROM mod_case c WHERE {' AND '.join(where)} "
                f"ORDER BY c.number {order} LIMIT ?",
                [*params, limit],
            )
        ]
        out = await self._load(numbers)
        if query.states:
            out = [c for c in out if c.state in query.states]
        return out[: query.limit]

    # ---------------------------------------------------------------- writes

    async def submit(self, new: NewCase, now: datetime) -> Case:
        at = to_ms(now)

        def run(conn: sqlite3.Connection) -> int:
            if new.origin is not None:
                had = conn.execute(
                    "SELECT number FROM mod_case WHERE origin = ?", (new.origin,)
                ).fetchone()
                if had is not None:
                    return int(had[0])
            number = int(
                conn.execute(
                    "INSERT INTO mod_case (community, action, reason, operator, label, created, "
                    "member_id, person_id, alert_id, activity_ids, until, text, "
                    "delete_history_s, slowmode_seconds, reverts, updated, origin, role) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING number",
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
                ).fetchone()[0]
            )
            for t, member in zip(new.targets, _members(new), strict=True):
                conn.execute(
                    "INSERT INTO mod_step (case_no, platform, community, member_id, user_id, "
                    "channel_id, message_ids, label, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            _event(conn, number, FIRST_EVENT[new.status], new.operator, new.reason, at)
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

        def run(conn: sqlite3.Connection) -> list[tuple[int, int]]:
            cond = " OR ".join("(platform = ? AND community = ?)" for _ in pairs)
            params = [x for pair in pairs for x in pair]
            rows = conn.execute(
                f"UPDATE mod_step SET status = 'claimed', claimed_by = ?, claimed_at = ? "
                f"WHERE id IN (SELECT id FROM mod_step WHERE status = 'pending' AND ({cond}) "
                f"ORDER BY id LIMIT ?) RETURNING id, case_no",
                [holder, at, *params, limit],
            ).fetchall()
            for _, number in rows:
                _event(conn, number, "claimed", holder, "", at)
            return [(int(r[0]), int(r[1])) for r in rows]

        claimed = await self.store.transaction(run)
        return await self._claimed(claimed, stale=False)

    async def _claimed(self, ids: Sequence[tuple[int, int]], stale: bool) -> list[Claimed]:
        numbers = sorted({n for _, n in ids})
        cases = {c.number: c for c in await self._load(numbers)}
        out = []
        for step_id, number in sorted(ids):
            case = cases[number]
            step = next(s for s in case.steps if s.id == step_id)
            out.append(Claimed(case, step, stale))
        return out

    async def stale(self, pairs: Sequence[tuple[str, str]]) -> list[Claimed]:
        if not pairs:
            return []
        cond = " OR ".join("(platform = ? AND community = ?)" for _ in pairs)
        params = [x for pair in pairs for x in pair]
        rows = await self.store.fetchall(
            f"SELECT id, case_no FROM mod_step WHERE status = 'claimed' AND ({cond})", params
        )
        return await self._claimed([(int(r[0]), int(r[1])) for r in rows], stale=True)

    async def finish(
        self, step: Step, outcome: ActionOutcome, now: datetime, *, verified: bool = False
    ) -> Case:
        at = to_ms(now)

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE mod_step SET status = ?, detail = ?, ref = ?, restore = ?, "
                "lifts_itself = ?, finished_at = ? WHERE id = ?",
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
            action = conn.execute(
                "SELECT action FROM mod_case WHERE number = ?", (step.case,)
            ).fetchone()[0]
            if outcome.status == "done" and action in REMOVING:
                conn.executemany(
                    "INSERT OR IGNORE INTO mod_removed (platform, message_id, case_no) "
                    "VALUES (?, ?, ?)",
                    [(step.target.platform, m, step.case) for m in step.target.message_ids],
                )
                # the feed shows them struck out, as when the platform reports a delete
                conn.executemany(
                    "UPDATE activity SET deleted = 1 WHERE platform = ? AND source_id = ?",
                    [(step.target.platform, m) for m in step.target.message_ids],
                )
            kind = "verified" if verified else outcome.status
            text = f"{step.target.platform}: {outcome.detail}"
            _event(conn, step.case, kind, step.claimed_by or "", text, at)

        await self.store.transaction(run)
        case = await self.case(step.case)
        assert case is not None
        return case

    async def withdraw(self, number: int, who: str, why: str, now: datetime) -> bool:
        at = to_ms(now)

        def run(conn: sqlite3.Connection) -> bool:
            taken = conn.execute(
                "SELECT count(*) FROM mod_step WHERE case_no = ? AND status != 'pending'",
                (number,),
            ).fetchone()[0]
            if taken:
                return False
            conn.execute(
                "UPDATE mod_step SET status = 'withdrawn', detail = ?, finished_at = ? "
                "WHERE case_no = ? AND status = 'pending'",
                (why, at, number),
            )
            _event(conn, number, "withdrawn", who, why, at)
            return True

        ok: bool = await self.store.transaction(run)
        return ok

    async def decide(self, number: int, confirm: bool, who: str, now: datetime) -> bool:
        at = to_ms(now)
        status, kind = ("pending", "confirmed") if confirm else ("rejected", "rejected")

        def run(conn: sqlite3.Connection) -> bool:
            changed = conn.execute(
                "UPDATE mod_step SET status = ?, finished_at = ? "
                "WHERE case_no = ? AND status = 'proposed'",
                (status, None if confirm else at, number),
            ).rowcount
            if not changed:
                return False
            if confirm:  # a timeout proposed an hour ago still lasts its full length
                conn.execute(
                    "UPDATE mod_case SET until = until + max(0, ? - created) "
                    "WHERE number = ? AND until IS NOT NULL",
                    (at, number),
                )
            _event(conn, number, kind, who, "", at)
            return True

        ok: bool = await self.store.transaction(run)
        return ok

    async def automatic_steps(self, since: datetime, operator: str | None = None) -> int:
        marks = ",".join("?" * len(COUNTED))
        who, param = ("c.operator = ?", operator) if operator else ("c.operator LIKE ?", "rule:%")
        row = await self.store.fetchall(
            f"SELECT count(*) FROM mod_step s JOIN mod_case c ON c.number = s.case_no "
            f"WHERE c.created >= ? AND {who} AND c.action NOT IN {UNCOUNTED} AND s.status IN ({marks})",
            [to_ms(since), param, *COUNTED],
        )
        return int(row[0][0])

    async def add_event(self, number: int, kind: str, who: str, text: str, now: datetime) -> None:
        at = to_ms(now)

        def run(conn: sqlite3.Connection) -> None:
            if (
                conn.execute("SELECT 1 FROM mod_case WHERE number = ?", (number,)).fetchone()
                is None
            ):
                raise LookupError(number)
            _event(conn, number, kind, who, text, at)

        await self.store.transaction(run)

    async def close(self, number: int, how: str, who: str, text: str, now: datetime) -> bool:
        at = to_ms(now)

        def run(conn: sqlite3.Connection) -> bool:
            changed = conn.execute(
                "UPDATE mod_case SET closed = ?, updated = ? WHERE number = ? AND closed IS NULL",
                (how, at, number),
            ).rowcount
            if changed:
                _event(conn, number, how, who, text, at)
            return bool(changed)

        ok: bool = await self.store.transaction(run)
        return ok

    async def due(self, now: datetime, limit: int = 50) -> list[Case]:
        rows = await self.store.fetchall(
            "SELECT number FROM mod_case WHERE until IS NOT NULL AND closed IS NULL "
            "AND until <= ? ORDER BY until LIMIT ?",
            (to_ms(now), limit),
        )
        numbers = [int(r[0]) for r in rows]
        cases = await self._load(numbers)
        return [c for c in cases if c.state in ("done", "partial")]

    async def add_note(self, member_id: int, text: str, who: str, now: datetime) -> None:
        await self.store.transaction(
            lambda conn: conn.execute(
                "INSERT INTO mod_note (member_id, text, who, at) VALUES (?, ?, ?, ?)",
                (member_id, text, who, to_ms(now)),
            )
        )

    async def notes(self, member_ids: Sequence[int]) -> list[Note]:
        if not member_ids:
            return []
        marks = ",".join("?" * len(member_ids))
        rows = await self.store.fetchall(
            f"SELECT member_id, text, who, at FROM mod_note WHERE member_id IN ({marks}) "
            "ORDER BY at DESC, id DESC",
            list(member_ids),
        )
        return [Note(int(r[0]), r[1], r[2], from_ms(int(r[3]))) for r in rows]

    async def restrictions(self, member_ids: Sequence[int], now: datetime) -> list[Restriction]:
        if not member_ids:
            return []
        marks = ",".join("?" * len(member_ids))
        rows = await self.store.fetchall(
            f"SELECT s.member_id, s.platform, c.action, c.until, c.number FROM mod_step s "
            f"JOIN mod_case c ON c.number = s.case_no WHERE s.member_id IN ({marks}) "
            "AND s.status = 'done' AND c.action IN ('timeout', 'ban') AND c.closed IS NULL "
            "AND (c.until IS NULL OR c.until > ?) ORDER BY c.number",
            [*member_ids, to_ms(now)],
        )
        return [Restriction(int(r[0]), r[1], r[2], _dt(r[3]), int(r[4])) for r in rows]

    async def removed_messages(self, platform: str, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        rows = await self.store.fetchall(
            f"SELECT message_id FROM mod_removed WHERE platform = ? AND message_id IN ({marks})",
            [platform, *ids],
        )
        return {r[0] for r in rows}


def _members(new: NewCase) -> list[int | None]:
    """The member row of each step (a person's case names one member per platform)."""
    if new.step_members:
        return list(new.step_members)
    return [new.member_id] * len(new.targets)


def _event(conn: sqlite3.Connection, number: int, kind: str, who: str, text: str, at: int) -> None:
    conn.execute(
        "INSERT INTO mod_event (case_no, kind, at, who, text) VALUES (?, ?, ?, ?, ?)",
        (number, kind, at, who, text),
    )
    conn.execute("UPDATE mod_case SET updated = ? WHERE number = ?", (at, number))
