"""The calendar's SQL for PostgreSQL: the same public methods and answers as the SQLite
`CalendarStore` (events, the reminder log, the hour-of-week rollup)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import orjson

from cockpit.calendar.model import Event, EventKind, Occurrence, Override, TimeKind
from cockpit.calendar.recurrence import first_start, last_end, occurrences
from cockpit.errors import CockpitError
from cockpit.store.base import WriteResult
from cockpit.store.postgres.store import Conn, PostgresStore
from cockpit.timeutil import from_ms, to_ms, utcnow

PERIOD_MS = 28 * 86_400_000
MAX_REMINDER_ATTEMPTS = 5
# hour of the week with Monday 00:00 UTC as 0, computed as the SQLite store does
_HOW = "(((a.ts / 3600000) %% 168 + 168 + 72) %% 168)"
_ROLLUP_LOCK = 0x636B_6361

_EVENT_COLUMNS = (
    "id, community, uid, kind, title, time_kind, start_local, tz, duration_s, rrule, platform, "
    "channel, host, regions, description, reminders, sequence"
)


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _event_from_row(row: Sequence[Any], exdates: list[str], overrides: list[Any]) -> Event:
    reminders = orjson.loads(row[15]) if row[15] is not None else None
    return Event(
        uid=row[2],
        title=row[4],
        start=datetime.fromisoformat(row[6]),
        duration=timedelta(seconds=row[8]),
        tz=row[7],
        time_kind=TimeKind(row[5]),
        kind=EventKind(row[3]),
        rrule=row[9],
        exdates=frozenset(datetime.fromisoformat(x) for x in exdates),
        overrides=tuple(
            Override(
                recurrence_id=datetime.fromisoformat(o[0]),
                start=datetime.fromisoformat(o[1]),
                duration=timedelta(seconds=o[2]),
                title=o[3],
                host=o[4],
                description=o[5],
            )
            for o in overrides
        ),
        community=row[1],
        platform=row[10],
        channel=row[11],
        host=row[12],
        regions=tuple(orjson.loads(row[13])),
        description=row[14],
        reminders=tuple(timedelta(seconds=s) for s in reminders) if reminders is not None else None,
        sequence=row[16],
    )


def _same(a: Event, b: Event) -> bool:
    """Equal in everything a user set (the sequence number is ours)."""
    return replace(a, sequence=0) == replace(b, sequence=0)


async def _all(conn: Conn, query: str, params: Sequence[Any] = ()) -> list[Any]:
    cur = await conn.execute(query, params)
    return list(await cur.fetchall())


class PgCalendarStore:
    """The calendar's view of a `PostgresStore`."""

    def __init__(self, store: PostgresStore, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    async def save(self, event: Event) -> str:
        """Insert or replace an event by UID: 'new', 'updated' or 'unchanged'."""
        first = to_ms(first_start(event))
        last_dt = last_end(event)
        last = to_ms(last_dt) if last_dt is not None else None
        now = to_ms(self.clock())

        async def run(conn: Conn) -> str:
            found = await _all(
                conn,
                f"SELECT {_EVENT_COLUMNS} FROM cal_event WHERE uid = %s FOR UPDATE",
                (event.uid,),
            )
            sequence = event.sequence
            if found:
                old = await _load_one(conn, found[0])
                if _same(old, event):
                    return "unchanged"
                sequence = max(event.sequence, old.sequence + 1)
                await _delete_children(conn, found[0][0])
            params = (
                event.community,
                event.uid,
                event.kind.value,
                event.title,
                event.time_kind.value,
                _iso(event.start),
                event.tz,
                int(event.duration.total_seconds()),
                event.rrule,
                first,
                last,
                event.platform,
                event.channel,
                event.host,
                orjson.dumps(list(event.regions)).decode(),
                event.description,
                orjson.dumps([int(r.total_seconds()) for r in event.reminders]).decode()
                if event.reminders is not None
                else None,
                sequence,
                now,
                now,
            )
            rows = await _all(
                conn,
                "INSERT INTO cal_event (community, uid, kind, title, time_kind, start_local, tz, "
                "duration_s, rrule, first_utc, last_utc, platform, channel, host, regions, "
                "description, reminders, sequence, created, updated) VALUES ("
                + ", ".join(["%s"] * 20)
                + ") ON CONFLICT (uid) DO UPDATE SET community = excluded.community, "
                "kind = excluded.kind, title = excluded.title, time_kind = excluded.time_kind, "
                "start_local = excluded.start_local, tz = excluded.tz, "
                "duration_s = excluded.duration_s, rrule = excluded.rrule, "
                "first_utc = excluded.first_utc, last_utc = excluded.last_utc, "
                "platform = excluded.platform, channel = excluded.channel, host = excluded.host, "
                "regions = excluded.regions, description = excluded.description, "
                "reminders = excluded.reminders, sequence = excluded.sequence, "
                "updated = excluded.updated RETURNING id",
                params,
            )
            event_id = int(rows[0][0])
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO cal_exdate (event_id, recurrence_local) VALUES (%s, %s)",
                    [(event_id, _iso(x)) for x in sorted(event.exdates)],
                )
                await cur.executemany(
                    "INSERT INTO cal_override (event_id, recurrence_local, start_local, "
                    "duration_s, title, host, description) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    [
                        (
                            event_id,
                            _iso(o.recurrence_id),
                            _iso(o.start),
                            int(o.duration.total_seconds()),
                            o.title,
                            o.host,
                            o.description,
                        )
                        for o in event.overrides
                    ],
                )
            return "updated" if found else "new"

        return await self.store.transaction(run)

    async def delete(self, uid: str) -> bool:
        async def run(conn: Conn) -> bool:
            found = await _all(conn, "SELECT id FROM cal_event WHERE uid = %s", (uid,))
            if not found:
                return False
            await _delete_children(conn, found[0][0])
            await conn.execute("DELETE FROM cal_event WHERE id = %s", (found[0][0],))
            return True

        return await self.store.transaction(run)

    async def get(self, uid: str) -> Event | None:
        events = await self._select("WHERE uid = %s", [uid])
        return events[0] if events else None

    async def find(self, term: str, community: str | None = None) -> Event:
        """An event by UID or a unique UID prefix (as `cockpit calendar` prints it)."""
        term = term.strip()
        where = "WHERE (uid = %s OR substr(uid, 1, length(%s)) = %s)"
        params: list[Any] = [term, term, term]
        if community:
            where += " AND community = %s"
            params.append(community)
        found = await self._select(where + " ORDER BY uid = %s DESC, id LIMIT 11", [*params, term])
        if not term or not found:
            raise CockpitError(f"no calendar entry with UID {term!r} (see `cockpit calendar`)")
        if found[0].uid != term and len(found) > 1:
            listed = ", ".join(e.uid for e in found[:10])
            raise CockpitError(f"UID {term!r} is ambiguous: {listed}")
        return found[0]

    async def events(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        community: str | None = None,
        kind: EventKind | None = None,
    ) -> list[Event]:
        where: list[str] = []
        params: list[Any] = []
        if end is not None:
            where.append("first_utc < %s")
            params.append(to_ms(end))
        if start is not None:
            where.append("(last_utc IS NULL OR last_utc > %s)")
            params.append(to_ms(start))
        if community:
            where.append("community = %s")
            params.append(community)
        if kind is not None:
            where.append("kind = %s")
            params.append(kind.value)
        query = (
            "WHERE " + " AND ".join(where) if where else ""
        ) + ' ORDER BY first_utc, uid COLLATE "C"'
        return await self._select(query, params)

    async def occurrences(
        self,
        start: datetime,
        end: datetime,
        viewer: tzinfo = UTC,
        community: str | None = None,
        kind: EventKind | None = None,
    ) -> list[Occurrence]:
        found: list[Occurrence] = []
        for event in await self.events(start, end, community, kind):
            found.extend(occurrences(event, start, end, viewer))
        found.sort(key=lambda o: (o.start, o.title, o.uid))
        return found

    async def _select(self, where: str, params: Sequence[Any]) -> list[Event]:
        rows = await self.store.fetchall(f"SELECT {_EVENT_COLUMNS} FROM cal_event {where}", params)
        if not rows:
            return []
        ids = [r[0] for r in rows]
        exdates: dict[int, list[str]] = {}
        for event_id, value in await self.store.fetchall(
            "SELECT event_id, recurrence_local FROM cal_exdate WHERE event_id = ANY(%s)", (ids,)
        ):
            exdates.setdefault(event_id, []).append(value)
        overrides: dict[int, list[Any]] = {}
        for o in await self.store.fetchall(
            "SELECT event_id, recurrence_local, start_local, duration_s, title, host, description "
            'FROM cal_override WHERE event_id = ANY(%s) ORDER BY recurrence_local COLLATE "C"',
            (ids,),
        ):
            overrides.setdefault(o[0], []).append(o[1:])
        return [_event_from_row(r, exdates.get(r[0], []), overrides.get(r[0], [])) for r in rows]

    async def claim_reminder(
        self, uid: str, occurrence: datetime, offset: int, receiver: str
    ) -> bool:
        """Take a reminder for sending; False when it was sent (or is being sent) already.
        The row lock makes two processes claiming at once agree on one winner."""
        key = (uid, to_ms(occurrence), offset, receiver)
        now = to_ms(self.clock())

        async def run(conn: Conn) -> bool:
            made = await _all(
                conn,
                "INSERT INTO cal_reminder_sent (uid, occurrence_utc, offset_s, receiver, state, "
                "updated) VALUES (%s, %s, %s, %s, 'sending', %s) ON CONFLICT DO NOTHING "
                "RETURNING 1",
                (*key, now),
            )
            if made:
                return True
            row = await _all(
                conn,
                "SELECT state, attempts FROM cal_reminder_sent WHERE uid = %s "
                "AND occurrence_utc = %s AND offset_s = %s AND receiver = %s FOR UPDATE",
                key,
            )
            if row and row[0][0] == "failed" and row[0][1] < MAX_REMINDER_ATTEMPTS:
                await conn.execute(
                    "UPDATE cal_reminder_sent SET state = 'sending', updated = %s WHERE uid = %s "
                    "AND occurrence_utc = %s AND offset_s = %s AND receiver = %s",
                    (now, *key),
                )
                return True
            return False

        return await self.store.transaction(run)

    async def finish_reminder(
        self,
        uid: str,
        occurrence: datetime,
        offset: int,
        receiver: str,
        state: str,
        error: str | None = None,
    ) -> None:
        key = (uid, to_ms(occurrence), offset, receiver)
        now = to_ms(self.clock())

        async def run(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO cal_reminder_sent AS r (uid, occurrence_utc, offset_s, receiver, "
                "state, attempts, updated, error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (uid, occurrence_utc, offset_s, receiver) DO UPDATE SET "
                "state = excluded.state, attempts = r.attempts + excluded.attempts, "
                "updated = excluded.updated, error = excluded.error",
                (*key, state, 0 if state == "skipped" else 1, now, error),
            )

        await self.store.transaction(run)

    async def reminder_log(self, uid: str | None = None) -> list[dict[str, Any]]:
        query = (
            "SELECT uid, occurrence_utc, offset_s, receiver, state, attempts, updated, error "
            "FROM cal_reminder_sent"
        )
        params: list[Any] = []
        if uid:
            query += " WHERE uid = %s"
            params.append(uid)
        rows = await self.store.fetchall(query + " ORDER BY occurrence_utc, offset_s DESC", params)
        keys = (
            "uid",
            "occurrence",
            "offset_s",
            "receiver",
            "state",
            "attempts",
            "updated",
            "error",
        )
        out = []
        for r in rows:
            item = dict(zip(keys, r, strict=True))
            item["occurrence"] = from_ms(r[1])
            item["updated"] = from_ms(r[6])
            out.append(item)
        return out

    async def catch_up_rollup(self, max_rows: int | None = None) -> int:
        """Fold activities stored since the last call into the hour-of-week rollup."""
        return await self.store.transaction(lambda conn: _catch_up(conn, max_rows))

    async def rebuild_rollup(self) -> int:
        async def run(conn: Conn) -> int:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ROLLUP_LOCK,))
            await conn.execute("DELETE FROM cal_member_hour")
            await conn.execute("DELETE FROM cal_hour_members")
            await conn.execute("DELETE FROM cal_rollup_state WHERE key = 'rollup_hwm'")
            return await _catch_up(conn, None)

        return await self.store.transaction(run)

    def listener(self) -> Callable[[WriteResult], Awaitable[None]]:
        async def on_commit(result: WriteResult) -> None:
            if result.new_ids is not None:
                await self.catch_up_rollup()

        return on_commit

    async def hour_presence(self, community: str, since: datetime) -> dict[int, int]:
        rows = await self.store.fetchall(
            "SELECT h.hour_of_week, h.bits FROM cal_hour_members h "
            "JOIN community c ON c.id = h.community_id WHERE c.name = %s AND h.period >= %s",
            (community, to_ms(since) // PERIOD_MS),
        )
        out: dict[int, int] = {}
        for how, bits in rows:
            out[how] = out.get(how, 0) | int.from_bytes(bits, "little")
        return out

    async def member_hours(self, member_id: int) -> dict[int, int]:
        rows = await self.store.fetchall(
            "SELECT hour_of_week, sum(n) FROM cal_member_hour WHERE member_id = %s "
            "GROUP BY hour_of_week",
            (member_id,),
        )
        return {int(h): int(n) for h, n in rows}


async def _load_one(conn: Conn, row: Sequence[Any]) -> Event:
    exdates = [
        r[0]
        for r in await _all(
            conn, "SELECT recurrence_local FROM cal_exdate WHERE event_id = %s", (row[0],)
        )
    ]
    overrides = await _all(
        conn,
        "SELECT recurrence_local, start_local, duration_s, title, host, description "
        'FROM cal_override WHERE event_id = %s ORDER BY recurrence_local COLLATE "C"',
        (row[0],),
    )
    return _event_from_row(row, exdates, overrides)


async def _delete_children(conn: Conn, event_id: int) -> None:
    await conn.execute("DELETE FROM cal_exdate WHERE event_id = %s", (event_id,))
    await conn.execute("DELETE FROM cal_override WHERE event_id = %s", (event_id,))


async def _catch_up(conn: Conn, max_rows: int | None) -> int:
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ROLLUP_LOCK,))
    found = await _all(conn, "SELECT value FROM cal_rollup_state WHERE key = 'rollup_hwm'")
    low = int(found[0][0]) if found else 0
    top = int((await _all(conn, "SELECT coalesce(max(id), 0) FROM activity"))[0][0])
    high = min(top, low + max_rows) if max_rows else top
    if high <= low:
        return 0
    batch = await _all(
        conn,
        f"SELECT a.member_id, {_HOW} AS how, a.ts / {PERIOD_MS} AS period, a.community_id, "
        "count(*) FROM activity a JOIN member m ON m.id = a.member_id "
        "WHERE a.id > %s AND a.id <= %s AND a.kind IN ('message', 'reaction') AND m.is_bot = 0 "
        "GROUP BY 1, 2, 3, 4",
        (low, high),
    )
    if batch:
        cols = [list(c) for c in zip(*batch, strict=True)]
        fresh = await _all(
            conn,
            "SELECT b.c, b.p, b.h, b.m FROM unnest(%s::bigint[], %s::int[], %s::bigint[], "
            "%s::bigint[]) AS b(m, h, p, c) WHERE NOT EXISTS (SELECT 1 FROM cal_member_hour x "
            "WHERE x.member_id = b.m AND x.hour_of_week = b.h AND x.period = b.p) ORDER BY 1, 2, 3",
            cols[:4],
        )
        await conn.execute(
            "INSERT INTO cal_member_hour AS x (member_id, hour_of_week, period, community_id, n) "
            "SELECT * FROM unnest(%s::bigint[], %s::int[], %s::bigint[], %s::bigint[], "
            "%s::bigint[]) ON CONFLICT (member_id, hour_of_week, period) "
            "DO UPDATE SET n = x.n + excluded.n",
            cols,
        )
        await _set_bits(conn, fresh)
    await conn.execute(
        "INSERT INTO cal_rollup_state (key, value) VALUES ('rollup_hwm', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (high,),
    )
    return high - low


async def _set_bits(conn: Conn, cells: Sequence[Sequence[int]]) -> None:
    """Mark members present in (community, period, hour) cells."""
    groups: dict[tuple[int, int, int], list[int]] = {}
    for community_id, period, how, member_id in cells:
        groups.setdefault((community_id, period, how), []).append(member_id)
    for (community_id, period, how), members in groups.items():
        value = 0
        for m in members:
            value |= 1 << m
        row = await _all(
            conn,
            "SELECT bits FROM cal_hour_members WHERE community_id = %s AND period = %s "
            "AND hour_of_week = %s",
            (community_id, period, how),
        )
        if row:
            value |= int.from_bytes(row[0][0], "little")
        await conn.execute(
            "INSERT INTO cal_hour_members (community_id, hour_of_week, period, bits) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (community_id, period, hour_of_week) "
            "DO UPDATE SET bits = excluded.bits",
            (community_id, how, period, value.to_bytes((value.bit_length() + 7) // 8, "little")),
        )
