"""The alerts feature's SQL (SQLite): alerts, silences, notification planning and the outbox.

Writes go through `store.transaction` (the writer's thread, one transaction each); reads
through `store.fetchall` (the reader connection). Every operator attached to the store sees
the same alerts, acks and silences.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from cockpit.alerts.config import AlertingSettings, Receiver
from cockpit.alerts.engine import Alert
from cockpit.alerts.events import Event
from cockpit.alerts.grouping import LogEntry, Outgoing, plan
from cockpit.alerts.records import AlertRow, Matcher, OutboxRow, RuleChange, RuleStats, SilenceRow
from cockpit.errors import CockpitError
from cockpit.model import Kind

if TYPE_CHECKING:
    from cockpit.store.sqlite import SQLiteStore

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


_KINDS = {k.value: k for k in Kind}  # a dict lookup, not an Enum call: this runs per activity


def event_from_row(r: Sequence[Any]) -> Event:
    """A row of `EVENT_SELECT` as the engine sees it."""
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


class AlertStore:
    """The alert tables of one SQLiteStore."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    # ------------------------------------------------------------ store → engine

    async def events_between(self, first: int, last: int) -> list[Event]:
        """The activities a commit inserted (its row id range), in insertion order."""
        rows = await self.store.fetchall(
            EVENT_SELECT + " WHERE a.id BETWEEN ? AND ? ORDER BY a.id", (first, last)
        )
        return [event_from_row(r) for r in rows]

    async def events_since(self, since: int, after_id: int, limit: int = 5000) -> list[Event]:
        """Recent history to warm the windows up, paged by row id."""
        rows = await self.store.fetchall(
            EVENT_SELECT + " WHERE a.id > ? AND a.ts >= ? ORDER BY a.id LIMIT ?",
            (after_id, since, limit),
        )
        return [event_from_row(r) for r in rows]

    async def events_in(
        self, start: int, end: int, after: tuple[int, int] | None = None, limit: int = 20_000
    ) -> list[Event]:
        """History in time order, paged by (ts, id): what a backtest replays."""
        if after is None:
            rows = await self.store.fetchall(
                EVENT_SELECT + " WHERE a.ts >= ? AND a.ts < ? ORDER BY a.ts, a.id LIMIT ?",
                (start, end, limit),
            )
        else:
            ts, row_id = after
            rows = await self.store.fetchall(
                # `a.ts >= ?` alone bounds the index range (an OR around it would not)
                EVENT_SELECT + " WHERE a.ts >= ? AND a.ts < ? AND (a.ts > ? OR a.id > ?) "
                "ORDER BY a.ts, a.id LIMIT ?",
                (ts, end, ts, row_id, limit),
            )
        return [event_from_row(r) for r in rows]

    # ------------------------------------------------------------ engine → store

    async def save(self, changes: Sequence[Alert], now: int) -> list[str]:
        """Persist what the engine changed; returns fingerprints an operator resolved meanwhile
        (the engine forgets those instead of reopening them)."""
        if not changes:
            return []

        def run(conn: sqlite3.Connection) -> list[str]:
            forgotten: list[str] = []
            for a in changes:
                if a.state == "inactive":
                    conn.execute(
                        "DELETE FROM alert WHERE fingerprint = ? AND state = 'pending'",
                        (a.fingerprint,),
                    )
                    continue
                row = conn.execute(
                    "SELECT id FROM alert WHERE fingerprint = ? AND state != 'resolved'",
                    (a.fingerprint,),
                ).fetchone()
                if row is None:
                    manual = conn.execute(
                        "SELECT 1 FROM alert WHERE fingerprint = ? AND resolved_by IS NOT NULL "
                        "AND resolved_at >= ?",
                        (a.fingerprint, a.active_at),
                    ).fetchone()
                    if manual is not None:
                        forgotten.append(a.fingerprint)
                        continue
                    if a.state == "resolved":
                        continue
                    conn.execute(
                        "INSERT INTO alert (fingerprint, rule, community, severity, state, labels, "
                        "annotations, notify, summary, value, count, activity_ids, active_at, "
                        "fired_at, resolved_at, updated) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    conn.execute(
                        "UPDATE alert SET state = ?, annotations = ?, summary = ?, value = ?, "
                        "count = ?, activity_ids = ?, fired_at = ?, resolved_at = ?, updated = ? "
                        "WHERE id = ?",
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
                            row[0],
                        ),
                    )
            return forgotten

        return await self.store.transaction(run)

    async def manually_resolved(self, since: int) -> list[str]:
        rows = await self.store.fetchall(
            "SELECT fingerprint FROM alert WHERE resolved_by IS NOT NULL AND updated >= ?", (since,)
        )
        return [r[0] for r in rows]

    # ------------------------------------------------------------------- reads

    async def alerts(
        self,
        states: Sequence[str] = (),
        community: str | None = None,
        limit: int = 200,
        now: int | None = None,
    ) -> list[AlertRow]:
        """Open alerts first (firing, then pending), then the most recently resolved."""
        sql = f"SELECT {_ALERT_COLUMNS} FROM alert"
        where: list[str] = []
        params: list[Any] = []
        if states:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            params.extend(states)
        if community:
            where.append("community = ?")
            params.append(community)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += (
            " ORDER BY CASE state WHEN 'firing' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, "
            "CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
            "coalesce(resolved_at, fired_at, active_at) DESC, id DESC LIMIT ?"
        )
        params.append(limit)
        rows = await self.store.fetchall(sql, params)
        silences = await self.silences(active_at=now) if now is not None else []
        return [
            _alert_row(r, tuple(s.id for s in silences if s.silences(orjson.loads(r[6]))))
            for r in rows
        ]

    async def alert(self, alert_id: int, now: int | None = None) -> AlertRow | None:
        rows = await self.store.fetchall(
            f"SELECT {_ALERT_COLUMNS} FROM alert WHERE id = ?", (alert_id,)
        )
        if not rows:
            return None
        silences = await self.silences(active_at=now) if now is not None else []
        labels = orjson.loads(rows[0][6])
        return _alert_row(rows[0], tuple(s.id for s in silences if s.silences(labels)))

    async def counts(self) -> dict[str, int]:
        """Open alerts by state and severity, for the header: {"firing": n, "critical": n, ...}."""
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

    # -------------------------------------------------------------- operators

    async def ack(self, alert_id: int, by: str, now: int) -> AlertRow:
        return await self._change_open(
            alert_id,
            "UPDATE alert SET acked_at = coalesce(acked_at, ?), acked_by = coalesce(acked_by, ?), "
            "updated = ? WHERE id = ?",
            (now, by, now, alert_id),
        )

    async def resolve(self, alert_id: int, by: str, now: int) -> AlertRow:
        return await self._change_open(
            alert_id,
            "UPDATE alert SET state = 'resolved', resolved_at = ?, resolved_by = ?, "
            "updated = ? WHERE id = ?",
            (now, by, now, alert_id),
        )

    async def _change_open(self, alert_id: int, sql: str, params: tuple[Any, ...]) -> AlertRow:
        """An operator's change to an alert that must exist and not be resolved yet."""

        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT state FROM alert WHERE id = ?", (alert_id,)).fetchone()
            if row is None:
                raise CockpitError(f"alert {alert_id}: no such alert")
            if row[0] == "resolved":
                raise CockpitError(f"alert {alert_id}: already resolved")
            conn.execute(sql, params)

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

        def run(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO silence (matchers, starts, ends, comment, created_by, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (payload, starts, ends, comment, by, now),
            )
            return int(cur.lastrowid or 0)

        silence_id = await self.store.transaction(run)
        return SilenceRow(silence_id, tuple(matchers), starts, ends, comment, by, now)

    async def expire_silence(self, silence_id: int, now: int) -> None:
        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT ends FROM silence WHERE id = ?", (silence_id,)).fetchone()
            if row is None:
                raise CockpitError(f"silence {silence_id}: no such silence")
            if row[0] <= now:
                raise CockpitError(f"silence {silence_id}: already expired")
            conn.execute(
                "UPDATE silence SET ends = ?, starts = min(starts, ?) WHERE id = ?",
                (now, now, silence_id),
            )

        await self.store.transaction(run)

    async def silences(self, active_at: int | None = None, limit: int = 200) -> list[SilenceRow]:
        sql = "SELECT id, matchers, starts, ends, comment, created_by, created FROM silence"
        params: list[Any] = []
        if active_at is not None:
            sql += " WHERE starts <= ? AND ends > ?"
            params.extend((active_at, active_at))
        sql += " ORDER BY ends DESC, id DESC LIMIT ?"
        params.append(limit)
        return [_silence_row(r) for r in await self.store.fetchall(sql, params)]

    # ------------------------------------------------------------ notifications

    async def plan_notifications(
        self, now: int, receivers: Sequence[Receiver], settings: AlertingSettings
    ) -> list[Outgoing]:
        """Decide and enqueue what is due, in one transaction; returns what was enqueued."""
        horizon = now - int(settings.resolved_retention.total_seconds() * 1000)

        def run(conn: sqlite3.Connection) -> list[Outgoing]:
            alerts = [
                _alert_row(r)
                for r in conn.execute(
                    f"SELECT {_ALERT_COLUMNS} FROM alert WHERE fired_at IS NOT NULL AND "
                    "(state = 'firing' OR (state = 'resolved' AND resolved_at >= ?))",
                    (horizon,),
                )
            ]
            silences = [
                _silence_row(r)
                for r in conn.execute(
                    "SELECT id, matchers, starts, ends, comment, created_by, created FROM silence "
                    "WHERE starts <= ? AND ends > ?",
                    (now, now),
                )
            ]
            groups = {
                (r[0], r[1]): int(r[2])
                for r in conn.execute("SELECT receiver, group_key, next_flush FROM alert_group")
            }
            log = {
                (r[0], r[1]): LogEntry(orjson.loads(r[2]), orjson.loads(r[3]), r[4])
                for r in conn.execute(
                    "SELECT receiver, group_key, firing, resolved, sent_at FROM notification_log"
                )
            }
            escalated = {
                (r[0], r[1]) for r in conn.execute("SELECT alert_id, receiver FROM escalation")
            }
            decided = plan(now, alerts, silences, groups, log, escalated, list(receivers), settings)
            conn.executemany(
                "INSERT INTO alert_group (receiver, group_key, next_flush) VALUES (?, ?, ?) "
                "ON CONFLICT (receiver, group_key) DO UPDATE SET next_flush = excluded.next_flush",
                [
                    (g[0], g[1], t)
                    for g, t in decided.groups.items()
                    if g not in decided.drop_groups
                ],
            )
            conn.executemany(
                "DELETE FROM alert_group WHERE receiver = ? AND group_key = ?",
                list(decided.drop_groups),
            )
            conn.executemany(
                "INSERT INTO notification_log (receiver, group_key, firing, resolved, sent_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (receiver, group_key) DO UPDATE SET "
                "firing = excluded.firing, resolved = excluded.resolved, sent_at = excluded.sent_at",
                [
                    (g[0], g[1], _dumps(e.firing), _dumps(e.resolved), e.sent_at)
                    for g, e in decided.log.items()
                ],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO escalation (alert_id, receiver, sent_at) VALUES (?, ?, ?)",
                [(a, r, now) for a, r in decided.escalations],
            )
            conn.executemany(
                "INSERT INTO outbox (receiver, group_key, notify_type, title, body, alert_ids, "
                "created, next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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

    # ------------------------------------------------------------------- outbox

    async def claim_due(self, now: int, limit: int = 20) -> list[OutboxRow]:
        """Take due notifications for sending (marked `sending`, one more attempt counted)."""

        def run(conn: sqlite3.Connection) -> list[OutboxRow]:
            rows = conn.execute(
                f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE state = 'queued' AND next_attempt <= ? "
                "ORDER BY next_attempt, id LIMIT ?",
                (now, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?",
                [(r[0],) for r in rows],
            )
            return [_outbox_row((*r[:6], r[6] + 1, "sending", *r[8:])) for r in rows]

        return await self.store.transaction(run)

    async def mark_sent(self, outbox_id: int, now: int) -> None:
        await self.store.transaction(
            lambda conn: conn.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                (now, outbox_id),
            )
        )

    async def mark_failed(self, outbox_id: int, error: str, retry_at: int | None) -> None:
        await self.store.transaction(
            lambda conn: conn.execute(
                "UPDATE outbox SET state = ?, next_attempt = coalesce(?, next_attempt), "
                "last_error = ? WHERE id = ?",
                ("queued" if retry_at is not None else "failed", retry_at, error[:500], outbox_id),
            )
        )

    async def enqueue_once(self, items: Sequence[Outgoing], now: int) -> int:
        def run(conn: sqlite3.Connection) -> int:
            added = 0
            for o in items:
                added += conn.execute(
                    "INSERT INTO outbox (receiver, group_key, notify_type, title, body, alert_ids, "
                    "created, next_attempt) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS "
                    "(SELECT 1 FROM outbox WHERE receiver = ? AND group_key = ?)",
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
                ).rowcount
            return added

        added: int = await self.store.transaction(run)
        return added

    async def requeue_interrupted(self) -> int:
        """After a crash mid-send: send those again (at least once beats never)."""
        return await self.store.transaction(
            lambda conn: (
                conn.execute("UPDATE outbox SET state = 'queued' WHERE state = 'sending'").rowcount
            )
        )

    async def outbox(self, states: Sequence[str] = (), limit: int = 50) -> list[OutboxRow]:
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
        params: list[Any] = []
        if states:
            sql += f" WHERE state IN ({', '.join('?' * len(states))})"
            params.extend(states)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        return [_outbox_row(r) for r in await self.store.fetchall(sql, params)]

    async def outbox_problems(self) -> tuple[int, int, str | None]:
        """(failed for good, waiting to retry, the latest error) — shown, never swallowed."""
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
            "SELECT rule, max(fired_at), sum(fired_at >= ?), sum(fired_at >= ?) FROM alert "
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
        def run(conn: sqlite3.Connection) -> int:
            return int(
                conn.execute(
                    "INSERT INTO rule_change (rule, change, by, at) VALUES (?, ?, ?, ?) "
                    "RETURNING id",
                    (rule, change, by, now),
                ).fetchone()[0]
            )

        return RuleChange(await self.store.transaction(run), rule, change, by, now)

    async def rule_changes(self, rule: str | None = None, limit: int = 50) -> list[RuleChange]:
        sql = "SELECT id, rule, change, by, at FROM rule_change"
        params: list[Any] = []
        if rule is not None:
            sql += " WHERE rule = ?"
            params.append(rule)
        rows = await self.store.fetchall(
            sql + " ORDER BY at DESC, id DESC LIMIT ?", (*params, limit)
        )
        return [RuleChange(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]
