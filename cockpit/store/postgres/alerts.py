"""The alerts feature's SQL for PostgreSQL: the same public methods and answers as the
SQLite `AlertStore` (alerts, silences, notification planning, the outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from cockpit.alerts.config import AlertingSettings, Receiver
from cockpit.alerts.engine import Alert
from cockpit.alerts.events import Event
from cockpit.alerts.grouping import LogEntry, Outgoing, plan
from cockpit.alerts.records import AlertRow, Matcher, OutboxRow, RuleChange, RuleStats, SilenceRow
from cockpit.errors import CockpitError
from cockpit.model import Kind
from cockpit.store.postgres.store import Conn, PostgresStore

_ALERT_COLUMNS = (
    "id, fingerprint, rule, community, severity, state, labels, annotations, notify, summary, "
    "value, count, activity_ids, active_at, fired_at, resolved_at, updated, acked_at, acked_by, "
    "resolved_by"
)
_OUTBOX_COLUMNS = (
    "id, receiver, group_key, notify_type, title, body, attempts, state, created, next_attempt, "
    "last_error, sent_at"
)
EVENT_SELECT = """
SELECT a.id, c.name, a.platform, a.source_id, a.kind, a.ts, ch.source_id, ch.name,
       m.platform_user_id, m.display_name, a.text, a.reply_to, a.thread, a.mentions, m.is_bot,
       m.handle
FROM activity a
JOIN member m ON m.id = a.member_id
JOIN channel ch ON ch.id = a.channel_id
JOIN community c ON c.id = a.community_id
"""
_KINDS = {k.value: k for k in Kind}


def _event(r: Sequence[Any]) -> Event:
    return Event(
        r[0],
        r[1],
        r[2],
        r[3],
        _KINDS[r[4]],
        r[5],
        r[6],
        r[7],
        r[8],
        r[9],
        r[10],
        r[11],
        r[12],
        tuple(orjson.loads(r[13])) if r[13] else (),
        bool(r[14]),
        r[15],
    )


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _alert_row(r: Sequence[Any], silenced_by: tuple[int, ...] = ()) -> AlertRow:
    return AlertRow(
        id=r[0],
        fingerprint=r[1],
        rule=r[2],
        community=r[3],
        severity=r[4],
        state=r[5],
        labels=orjson.loads(r[6]),
        annotations=orjson.loads(r[7]),
        notify=tuple(orjson.loads(r[8])),
        summary=r[9],
        value=r[10],
        count=r[11],
        activity_ids=tuple(orjson.loads(r[12])),
        active_at=r[13],
        fired_at=r[14],
        resolved_at=r[15],
        updated=r[16],
        acked_at=r[17],
        acked_by=r[18],
        resolved_by=r[19],
        silenced_by=silenced_by,
    )


def _silence_row(r: Sequence[Any]) -> SilenceRow:
    matchers = tuple(Matcher(m["name"], m["op"], m["value"]) for m in orjson.loads(r[1]))
    return SilenceRow(r[0], matchers, r[2], r[3], r[4], r[5], r[6])


def _outbox_row(r: Sequence[Any]) -> OutboxRow:
    return OutboxRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11])


async def _all(conn: Conn, query: str, params: Sequence[Any] = ()) -> list[Any]:
    cur = await conn.execute(query, params)
    return list(await cur.fetchall())


class PgAlertStore:
    """The alert tables of one PostgresStore."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def events_between(self, first: int, last: int) -> list[Event]:
        """The activities a commit inserted (its row id range), in insertion order."""
        rows = await self.store.fetchall(
            EVENT_SELECT + " WHERE a.id BETWEEN %s AND %s ORDER BY a.id", (first, last)
        )
        return [_event(r) for r in rows]

    async def events_since(self, since: int, after_id: int, limit: int = 5000) -> list[Event]:
        rows = await self.store.fetchall(
            EVENT_SELECT + " WHERE a.id > %s AND a.ts >= %s ORDER BY a.id LIMIT %s",
            (after_id, since, limit),
        )
        return [_event(r) for r in rows]

    async def events_in(
        self, start: int, end: int, after: tuple[int, int] | None = None, limit: int = 20_000
    ) -> list[Event]:
        """History in time order, paged by (ts, id): what a backtest replays."""
        if after is None:
            rows = await self.store.fetchall(
                EVENT_SELECT + " WHERE a.ts >= %s AND a.ts < %s ORDER BY a.ts, a.id LIMIT %s",
                (start, end, limit),
            )
        else:
            ts, row_id = after
            rows = await self.store.fetchall(
                EVENT_SELECT + " WHERE a.ts < %s AND (a.ts > %s OR (a.ts = %s AND a.id > %s)) "
                "ORDER BY a.ts, a.id LIMIT %s",
                (end, ts, ts, row_id, limit),
            )
        return [_event(r) for r in rows]

    async def save(self, changes: Sequence[Alert], now: int) -> list[str]:
        """Persist what the engine changed; returns fingerprints an operator resolved meanwhile."""
        if not changes:
            return []

        async def run(conn: Conn) -> list[str]:
            forgotten: list[str] = []
            for a in changes:
                if a.state == "inactive":
                    await conn.execute(
                        "DELETE FROM alert WHERE fingerprint = %s AND state = 'pending'",
                        (a.fingerprint,),
                    )
                    continue
                found = await _all(
                    conn,
                    "SELECT id FROM alert WHERE fingerprint = %s AND state != 'resolved' "
                    "FOR UPDATE",
                    (a.fingerprint,),
                )
                if not found:
                    manual = await _all(
                        conn,
                        "SELECT 1 FROM alert WHERE fingerprint = %s AND resolved_by IS NOT NULL "
                        "AND resolved_at >= %s",
                        (a.fingerprint, a.active_at),
                    )
                    if manual:
                        forgotten.append(a.fingerprint)
                        continue
                    if a.state == "resolved":
                        continue
                    await conn.execute(
                        "INSERT INTO alert (fingerprint, rule, community, severity, state, labels, "
                        "annotations, notify, summary, value, count, activity_ids, active_at, "
                        "fired_at, resolved_at, updated) VALUES "
                        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (
                            a.fingerprint,
                            a.rule,
                            a.community,
                            a.severity,
                            a.state,
                            _dumps(a.labels),
                            _dumps(a.annotations),
                            _dumps(a.notify),
                            a.summary,
                            a.value,
                            a.count,
                            _dumps(a.ids),
                            a.active_at,
                            a.fired_at,
                            a.resolved_at,
                            now,
                        ),
                    )
                else:
                    await conn.execute(
                        "UPDATE alert SET state = %s, annotations = %s, summary = %s, value = %s, "
                        "count = %s, activity_ids = %s, fired_at = %s, resolved_at = %s, "
                        "updated = %s WHERE id = %s",
                        (
                            a.state,
                            _dumps(a.annotations),
                            a.summary,
                            a.value,
                            a.count,
                            _dumps(a.ids),
                            a.fired_at,
                            a.resolved_at,
                            now,
                            found[0][0],
                        ),
                    )
            await self.store.notify(conn, "alert")
            return forgotten

        return await self.store.transaction(run)

    async def manually_resolved(self, since: int) -> list[str]:
        rows = await self.store.fetchall(
            "SELECT fingerprint FROM alert WHERE resolved_by IS NOT NULL AND updated >= %s",
            (since,),
        )
        return [r[0] for r in rows]

    async def alerts(
        self,
        states: Sequence[str] = (),
        community: str | None = None,
        limit: int = 200,
        now: int | None = None,
    ) -> list[AlertRow]:
        """Open alerts first (firing, then pending), then the most recently resolved."""
        query = f"SELECT {_ALERT_COLUMNS} FROM alert"
        where: list[str] = []
        params: list[Any] = []
        if states:
            where.append("state = ANY(%s)")
            params.append(list(states))
        if community:
            where.append("community = %s")
            params.append(community)
        if where:
            query += " WHERE " + " AND ".join(where)
        query += (
            " ORDER BY CASE state WHEN 'firing' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, "
            "CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
            "coalesce(resolved_at, fired_at, active_at) DESC, id DESC LIMIT %s"
        )
        params.append(limit)
        rows = await self.store.fetchall(query, params)
        silences = await self.silences(active_at=now) if now is not None else []
        return [
            _alert_row(r, tuple(s.id for s in silences if s.silences(orjson.loads(r[6]))))
            for r in rows
        ]

    async def alert(self, alert_id: int, now: int | None = None) -> AlertRow | None:
        rows = await self.store.fetchall(
            f"SELECT {_ALERT_COLUMNS} FROM alert WHERE id = %s", (alert_id,)
        )
        if not rows:
            return None
        silences = await self.silences(active_at=now) if now is not None else []
        labels = orjson.loads(rows[0][6])
        return _alert_row(rows[0], tuple(s.id for s in silences if s.silences(labels)))

    async def counts(self) -> dict[str, int]:
        rows = await self.store.fetchall(
            "SELECT state, severity, count(*) FROM alert WHERE state != 'resolved' "
            "GROUP BY state, severity"
        )
        out: dict[str, int] = {}
        for state, severity, n in rows:
            out[state] = out.get(state, 0) + n
            if state == "firing":
                out[severity] = out.get(severity, 0) + n
        return out

    async def ack(self, alert_id: int, by: str, now: int) -> AlertRow:
        return await self._change_open(
            alert_id,
            "UPDATE alert SET acked_at = coalesce(acked_at, %s), "
            "acked_by = coalesce(acked_by, %s), updated = %s WHERE id = %s",
            (now, by, now, alert_id),
        )

    async def resolve(self, alert_id: int, by: str, now: int) -> AlertRow:
        return await self._change_open(
            alert_id,
            "UPDATE alert SET state = 'resolved', resolved_at = %s, resolved_by = %s, "
            "updated = %s WHERE id = %s",
            (now, by, now, alert_id),
        )

    async def _change_open(self, alert_id: int, query: str, params: tuple[Any, ...]) -> AlertRow:
        async def run(conn: Conn) -> None:
            rows = await _all(conn, "SELECT state FROM alert WHERE id = %s FOR UPDATE", (alert_id,))
            if not rows:
                raise CockpitError(f"alert {alert_id}: no such alert")
            if rows[0][0] == "resolved":
                raise CockpitError(f"alert {alert_id}: already resolved")
            await conn.execute(query, params)
            await self.store.notify(conn, "alert")

        await self.store.transaction(run)
        found = await self.alert(alert_id)
        assert found is not None
        return found

    async def add_silence(
        self, matchers: Sequence[Matcher], starts: int, ends: int, comment: str, by: str, now: int
    ) -> SilenceRow:
        if not matchers:
            raise CockpitError("a silence needs at least one matcher")
        if ends <= starts:
            raise CockpitError("a silence must end after it starts")
        payload = _dumps([m.to_json() for m in matchers])

        async def run(conn: Conn) -> int:
            rows = await _all(
                conn,
                "INSERT INTO silence (matchers, starts, ends, comment, created_by, created) "
                "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (payload, starts, ends, comment, by, now),
            )
            return int(rows[0][0])

        silence_id = await self.store.transaction(run)
        return SilenceRow(silence_id, tuple(matchers), starts, ends, comment, by, now)

    async def expire_silence(self, silence_id: int, now: int) -> None:
        async def run(conn: Conn) -> None:
            rows = await _all(
                conn, "SELECT ends FROM silence WHERE id = %s FOR UPDATE", (silence_id,)
            )
            if not rows:
                raise CockpitError(f"silence {silence_id}: no such silence")
            if rows[0][0] <= now:
                raise CockpitError(f"silence {silence_id}: already expired")
            await conn.execute(
                "UPDATE silence SET ends = %s, starts = least(starts, %s) WHERE id = %s",
                (now, now, silence_id),
            )

        await self.store.transaction(run)

    async def silences(self, active_at: int | None = None, limit: int = 200) -> list[SilenceRow]:
        query = "SELECT id, matchers, starts, ends, comment, created_by, created FROM silence"
        params: list[Any] = []
        if active_at is not None:
            query += " WHERE starts <= %s AND ends > %s"
            params.extend((active_at, active_at))
        query += " ORDER BY ends DESC, id DESC LIMIT %s"
        params.append(limit)
        return [_silence_row(r) for r in await self.store.fetchall(query, params)]

    async def plan_notifications(
        self, now: int, receivers: Sequence[Receiver], settings: AlertingSettings
    ) -> list[Outgoing]:
        """Decide and enqueue what is due, in one transaction; returns what was enqueued.
        One planner at a time (a transaction-scoped advisory lock), as SQLite's one writer."""
        horizon = now - int(settings.resolved_retention.total_seconds() * 1000)

        async def run(conn: Conn) -> list[Outgoing]:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('cockpit-plan'))")
            alerts = [
                _alert_row(r)
                for r in await _all(
                    conn,
                    f"SELECT {_ALERT_COLUMNS} FROM alert WHERE fired_at IS NOT NULL AND "
                    "(state = 'firing' OR (state = 'resolved' AND resolved_at >= %s)) ORDER BY id",
                    (horizon,),
                )
            ]
            silences = [
                _silence_row(r)
                for r in await _all(
                    conn,
                    "SELECT id, matchers, starts, ends, comment, created_by, created FROM silence "
                    "WHERE starts <= %s AND ends > %s ORDER BY id",
                    (now, now),
                )
            ]
            groups = {
                (r[0], r[1]): int(r[2])
                for r in await _all(conn, "SELECT receiver, group_key, next_flush FROM alert_group")
            }
            log = {
                (r[0], r[1]): LogEntry(orjson.loads(r[2]), orjson.loads(r[3]), r[4])
                for r in await _all(
                    conn,
                    "SELECT receiver, group_key, firing, resolved, sent_at FROM notification_log",
                )
            }
            escalated = {
                (r[0], r[1]) for r in await _all(conn, "SELECT alert_id, receiver FROM escalation")
            }
            decided = plan(now, alerts, silences, groups, log, escalated, list(receivers), settings)
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO alert_group (receiver, group_key, next_flush) "
                    "VALUES (%s, %s, %s) ON CONFLICT (receiver, group_key) "
                    "DO UPDATE SET next_flush = excluded.next_flush",
                    [
                        (g[0], g[1], t)
                        for g, t in decided.groups.items()
                        if g not in decided.drop_groups
                    ],
                )
                await cur.executemany(
                    "DELETE FROM alert_group WHERE receiver = %s AND group_key = %s",
                    list(decided.drop_groups),
                )
                await cur.executemany(
                    "INSERT INTO notification_log (receiver, group_key, firing, resolved, sent_at) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (receiver, group_key) DO UPDATE SET "
                    "firing = excluded.firing, resolved = excluded.resolved, "
                    "sent_at = excluded.sent_at",
                    [
                        (g[0], g[1], _dumps(e.firing), _dumps(e.resolved), e.sent_at)
                        for g, e in decided.log.items()
                    ],
                )
                await cur.executemany(
                    "INSERT INTO escalation (alert_id, receiver, sent_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    [(a, r, now) for a, r in decided.escalations],
                )
                await cur.executemany(
                    "INSERT INTO outbox (receiver, group_key, notify_type, title, body, "
                    "alert_ids, created, next_attempt) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        (
                            o.receiver,
                            o.group_key,
                            o.notify_type,
                            o.title,
                            o.body,
                            _dumps(o.alert_ids),
                            now,
                            now,
                        )
                        for o in decided.outgoing
                    ],
                )
            return decided.outgoing

        return await self.store.transaction(run)

    async def claim_due(self, now: int, limit: int = 20) -> list[OutboxRow]:
        """Take due notifications for sending (marked `sending`, one more attempt counted);
        SKIP LOCKED lets several senders share the outbox without taking one row twice."""

        async def run(conn: Conn) -> list[OutboxRow]:
            rows = await _all(
                conn,
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state = 'queued' "
                "AND next_attempt <= %s ORDER BY next_attempt, id LIMIT %s "
                "FOR UPDATE SKIP LOCKED",
                (now, limit),
            )
            if rows:
                await conn.execute(
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1 "
                    "WHERE id = ANY(%s)",
                    ([r[0] for r in rows],),
                )
            return [_outbox_row((*r[:6], r[6] + 1, "sending", *r[8:])) for r in rows]

        return await self.store.transaction(run)

    async def mark_sent(self, outbox_id: int, now: int) -> None:
        async def run(conn: Conn) -> None:
            await conn.execute(
                "UPDATE outbox SET state = 'sent', sent_at = %s, last_error = NULL WHERE id = %s",
                (now, outbox_id),
            )

        await self.store.transaction(run)

    async def mark_failed(self, outbox_id: int, error: str, retry_at: int | None) -> None:
        async def run(conn: Conn) -> None:
            await conn.execute(
                "UPDATE outbox SET state = %s, next_attempt = coalesce(%s, next_attempt), "
                "last_error = %s WHERE id = %s",
                ("queued" if retry_at is not None else "failed", retry_at, error[:500], outbox_id),
            )

        await self.store.transaction(run)

    async def enqueue_once(self, items: Sequence[Outgoing], now: int) -> int:
        async def run(conn: Conn) -> int:
            added = 0
            for o in items:
                cur = await conn.execute(
                    "INSERT INTO outbox (receiver, group_key, notify_type, title, body, alert_ids, "
                    "created, next_attempt) SELECT %s, %s, %s, %s, %s, %s, %s, %s WHERE NOT EXISTS "
                    "(SELECT 1 FROM outbox WHERE receiver = %s AND group_key = %s)",
                    (
                        o.receiver,
                        o.group_key,
                        o.notify_type,
                        o.title,
                        o.body,
                        _dumps(o.alert_ids),
                        now,
                        now,
                        o.receiver,
                        o.group_key,
                    ),
                )
                added += cur.rowcount
            return added

        added: int = await self.store.transaction(run)
        return added

    async def requeue_interrupted(self) -> int:
        """After a crash mid-send: send those again (at least once beats never)."""

        async def run(conn: Conn) -> int:
            cur = await conn.execute("UPDATE outbox SET state = 'queued' WHERE state = 'sending'")
            return max(0, cur.rowcount)

        return await self.store.transaction(run)

    async def outbox(self, states: Sequence[str] = (), limit: int = 50) -> list[OutboxRow]:
        query = f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
        params: list[Any] = []
        if states:
            query += " WHERE state = ANY(%s)"
            params.append(list(states))
        query += " ORDER BY id DESC LIMIT %s"
        params.append(limit)
        return [_outbox_row(r) for r in await self.store.fetchall(query, params)]

    async def outbox_problems(self) -> tuple[int, int, str | None]:
        rows = await self.store.fetchall(
            "SELECT (SELECT count(*) FROM outbox WHERE state = 'failed'), "
            "(SELECT count(*) FROM outbox WHERE state = 'queued' AND attempts > 0), "
            "(SELECT last_error FROM outbox WHERE last_error IS NOT NULL ORDER BY id DESC LIMIT 1)"
        )
        r = rows[0]
        return int(r[0]), int(r[1]), r[2]

    # ------------------------------------------------------------ rules

    async def rule_stats(self, now: int) -> dict[str, RuleStats]:
        day, week = now - 86_400_000, now - 7 * 86_400_000
        rows = await self.store.fetchall(
            "SELECT rule, max(fired_at), count(*) FILTER (WHERE fired_at >= %s), "
            "count(*) FILTER (WHERE fired_at >= %s) FROM alert "
            "WHERE fired_at IS NOT NULL GROUP BY rule",
            (day, week),
        )
        fired = {r[0]: (r[1], int(r[2] or 0), int(r[3] or 0)) for r in rows}
        open_rows = await self.alerts(states=("pending", "firing"), limit=10_000, now=now)
        names = set(fired) | {a.rule for a in open_rows}
        out = {}
        for name in names:
            mine = [a for a in open_rows if a.rule == name]
            state = (
                "firing"
                if any(a.state == "firing" for a in mine)
                else ("pending" if mine else None)
            )
            last, f24, f7 = fired.get(name, (None, 0, 0))
            out[name] = RuleStats(name, state, any(a.silenced_by for a in mine), last, f24, f7)
        return out

    async def record_rule_change(self, rule: str, change: str, by: str, now: int) -> RuleChange:
        async def run(conn: Conn) -> int:
            rows = await _all(
                conn,
                "INSERT INTO rule_change (rule, change, by, at) VALUES (%s, %s, %s, %s) "
                "RETURNING id",
                (rule, change, by, now),
            )
            return int(rows[0][0])

        return RuleChange(await self.store.transaction(run), rule, change, by, now)

    async def rule_changes(self, rule: str | None = None, limit: int = 50) -> list[RuleChange]:
        query = "SELECT id, rule, change, by, at FROM rule_change"
        params: list[Any] = []
        if rule is not None:
            query += " WHERE rule = %s"
            params.append(rule)
        rows = await self.store.fetchall(
            query + " ORDER BY at DESC, id DESC LIMIT %s", (*params, limit)
        )
        return [RuleChange(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]
