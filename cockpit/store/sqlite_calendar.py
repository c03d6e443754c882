"""The calendar's SQL for the SQLite store: events, the reminder log, the activity rollup.

Writes run in the store's writer thread (`store.transaction`), reads on its reader
connection (`store.fetchall`), so the calendar never blocks ingest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

import orjson

from cockpit.calendar.model import Event, EventKind, Occurrence, Override, TimeKind
from cockpit.calendar.recurrence import first_start, last_end, occurrences
from cockpit.errors import CockpitError
from cockpit.store.base import WriteResult
from cockpit.timeutil import from_ms, to_ms, utcnow

if TYPE_CHECKING:
    from cockpit.store.sqlite import SQLiteStore

HOUR_MS = 3_600_000
PERIOD_MS = 28 * 86_400_000  # rollup buckets are four weeks long
MAX_REMINDER_ATTEMPTS = 5
# hours since the epoch -> hour of the week with Monday 00:00 UTC as 0 (1970-01-01 was a Thursday)
_HOW = "(((a.ts / 3600000) % 168 + 168 + 72) % 168)"
_COUNTED_KINDS = "('message', 'reaction')"

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


class CalendarStore:
    """The calendar's view of a `SQLiteStore`."""

    def __init__(self, store: SQLiteStore, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    # ------------------------------------------------------------------ events

    async def save(self, event: Event) -> str:
        """Insert or replace an event by UID: 'new', 'updated' or 'unchanged'."""
        first = to_ms(first_start(event))
        last_dt = last_end(event)
        last = to_ms(last_dt) if last_dt is not None else None
        now = to_ms(self.clock())

        def run(conn: sqlite3.Connection) -> str:
            found = conn.execute(
                f"SELECT {_EVENT_COLUMNS} FROM cal_event WHERE uid = ?", (event.uid,)
            ).fetchone()
            sequence = event.sequence
            if found is not None:
                old = _load_one(conn, found)
                if _same(old, event):
                    return "unchanged"
                sequence = max(event.sequence, old.sequence + 1)
                _delete_children(conn, found[0])
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
            cur = conn.execute(
                "INSERT INTO cal_event (community, uid, kind, title, time_kind, start_local, tz, "
                "duration_s, rrule, first_utc, last_utc, platform, channel, host, regions, "
                "description, reminders, sequence, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (uid) DO UPDATE SET community = excluded.community, "
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
            event_id = int(cur.fetchone()[0])
            conn.executemany(
                "INSERT INTO cal_exdate (event_id, recurrence_local) VALUES (?, ?)",
                [(event_id, _iso(x)) for x in sorted(event.exdates)],
            )
            conn.executemany(
                "INSERT INTO cal_override (event_id, recurrence_local, start_local, duration_s, "
                "title, host, description) VALUES (?, ?, ?, ?, ?, ?, ?)",
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
            return "new" if found is None else "updated"

        return await self.store.transaction(run)

    async def delete(self, uid: str) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            found = conn.execute("SELECT id FROM cal_event WHERE uid = ?", (uid,)).fetchone()
            if found is None:
                return False
            _delete_children(conn, found[0])
            conn.execute("DELETE FROM cal_event WHERE id = ?", (found[0],))
            return True

        return await self.store.transaction(run)

    async def get(self, uid: str) -> Event | None:
        events = await self._select("WHERE uid = ?", [uid])
        return events[0] if events else None

    async def find(self, term: str, community: str | None = None) -> Event:
        """An event by UID or a unique UID prefix (as `cockpit calendar` prints it)."""
        term = term.strip()
        where = "WHERE (uid = ? OR substr(uid, 1, length(?)) = ?)"
        params: list[Any] = [term, term, term]
        if community:
            where += " AND community = ?"
            params.append(community)
        found = await self._select(where + " ORDER BY uid = ? DESC LIMIT 11", [*params, term])
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
        """Events with an occurrence that may fall in [start, end) (all of them without bounds)."""
        where: list[str] = []
        params: list[Any] = []
        if end is not None:
            where.append("first_utc < ?")
            params.append(to_ms(end))
        if start is not None:
            where.append("(last_utc IS NULL OR last_utc > ?)")
            params.append(to_ms(start))
        if community:
            where.append("community = ?")
            params.append(community)
        if kind is not None:
            where.append("kind = ?")
            params.append(kind.value)
        sql = ("WHERE " + " AND ".join(where) if where else "") + " ORDER BY first_utc, uid"
        return await self._select(sql, params)

    async def occurrences(
        self,
        start: datetime,
        end: datetime,
        viewer: tzinfo = UTC,
        community: str | None = None,
        kind: EventKind | None = None,
    ) -> list[Occurrence]:
        """Every instance in [start, end), oldest first; floating times read in `viewer`."""
        found: list[Occurrence] = []
        for event in await self.events(start, end, community, kind):
            found.extend(occurrences(event, start, end, viewer))
        found.sort(key=lambda o: (o.start, o.title, o.uid))
        return found

    async def _select(self, where: str, params: Sequence[Any]) -> list[Event]:
        rows = await self.store.fetchall(f"SELECT {_EVENT_COLUMNS} FROM cal_event {where}", params)
        if not rows:
            return []
        ids = orjson.dumps([r[0] for r in rows]).decode()
        exdates: dict[int, list[str]] = {}
        for event_id, value in await self.store.fetchall(
            "SELECT event_id, recurrence_local FROM cal_exdate "
            "WHERE event_id IN (SELECT value FROM json_each(?))",
            (ids,),
        ):
            exdates.setdefault(event_id, []).append(value)
        overrides: dict[int, list[Any]] = {}
        for o in await self.store.fetchall(
            "SELECT event_id, recurrence_local, start_local, duration_s, title, host, description "
            "FROM cal_override WHERE event_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY recurrence_local",
            (ids,),
        ):
            overrides.setdefault(o[0], []).append(o[1:])
        return [_event_from_row(r, exdates.get(r[0], []), overrides.get(r[0], [])) for r in rows]

    # --------------------------------------------------------------- reminders

    async def claim_reminder(
        self, uid: str, occurrence: datetime, offset: int, receiver: str
    ) -> bool:
        """Take a reminder for sending; False when it was sent (or is being sent) already.

        Claimed before sending and marked after: a crash in between leaves it claimed, so a
        reminder is never sent twice (at most once, as paging should be).
        """
        key = (uid, to_ms(occurrence), offset, receiver)
        now = to_ms(self.clock())

        def run(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT state, attempts FROM cal_reminder_sent WHERE uid = ? AND occurrence_utc = ? "
                "AND offset_s = ? AND receiver = ?",
                key,
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO cal_reminder_sent (uid, occurrence_utc, offset_s, receiver, state, "
                    "updated) VALUES (?, ?, ?, ?, 'sending', ?)",
                    (*key, now),
                )
                return True
            if row[0] == "failed" and row[1] < MAX_REMINDER_ATTEMPTS:
                conn.execute(
                    "UPDATE cal_reminder_sent SET state = 'sending', updated = ? WHERE uid = ? "
                    "AND occurrence_utc = ? AND offset_s = ? AND receiver = ?",
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
        """Record how a claimed reminder went: 'sent', 'failed' (retried) or 'skipped'."""
        key = (uid, to_ms(occurrence), offset, receiver)
        now = to_ms(self.clock())

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO cal_reminder_sent (uid, occurrence_utc, offset_s, receiver, state, "
                "attempts, updated, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (uid, occurrence_utc, offset_s, receiver) DO UPDATE SET "
                "state = excluded.state, attempts = attempts + excluded.attempts, "
                "updated = excluded.updated, error = excluded.error",
                (*key, state, 0 if state == "skipped" else 1, now, error),
            )

        await self.store.transaction(run)

    async def reminder_log(self, uid: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT uid, occurrence_utc, offset_s, receiver, state, attempts, updated, error "
            "FROM cal_reminder_sent"
        )
        params: list[Any] = []
        if uid:
            sql += " WHERE uid = ?"
            params.append(uid)
        rows = await self.store.fetchall(sql + " ORDER BY occurrence_utc, offset_s DESC", params)
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

    # ------------------------------------------------------------------ rollup

    async def catch_up_rollup(self, max_rows: int | None = None) -> int:
        """Fold activities stored since the last call into the hour-of-week rollup.

        Reads new rows by id range only (a high-water mark kept in the same transaction),
        so it is cheap per batch; on an existing store its first call is the backfill.
        Returns how many activity ids it covered.
        """
        return await self.store.transaction(lambda conn: _catch_up(conn, max_rows))

    async def rebuild_rollup(self) -> int:
        """Forget the rollup and build it again from every stored activity."""

        def run(conn: sqlite3.Connection) -> int:
            conn.execute("DELETE FROM cal_member_hour")
            conn.execute("DELETE FROM cal_hour_members")
            conn.execute("DELETE FROM cal_rollup_state WHERE key = 'rollup_hwm'")
            return _catch_up(conn, None)

        return await self.store.transaction(run)

    def listener(self) -> Callable[[WriteResult], Awaitable[None]]:
        """A `BatchingWriter` commit listener that keeps the rollup current at ingest."""

        async def on_commit(result: WriteResult) -> None:
            if result.new_ids is not None:
                await self.catch_up_rollup()

        return on_commit

    async def hour_presence(self, community: str, since: datetime) -> dict[int, int]:
        """Hour of week -> bitset of members (bit = member row id) active then, since `since`."""
        rows = await self.store.fetchall(
            "SELECT h.hour_of_week, h.bits FROM cal_hour_members h "
            "JOIN community c ON c.id = h.community_id WHERE c.name = ? AND h.period >= ?",
            (community, to_ms(since) // PERIOD_MS),
        )
        out: dict[int, int] = {}
        for how, bits in rows:
            out[how] = out.get(how, 0) | int.from_bytes(bits, "little")
        return out

    async def member_hours(self, member_id: int) -> dict[int, int]:
        """Hour of week -> activities of one member (for a member's rhythm in the pane)."""
        rows = await self.store.fetchall(
            "SELECT hour_of_week, sum(n) FROM cal_member_hour WHERE member_id = ? "
            "GROUP BY hour_of_week",
            (member_id,),
        )
        return {int(h): int(n) for h, n in rows}


def _load_one(conn: sqlite3.Connection, row: Sequence[Any]) -> Event:
    exdates = [
        r[0]
        for r in conn.execute(
            "SELECT recurrence_local FROM cal_exdate WHERE event_id = ?", (row[0],)
        )
    ]
    overrides = conn.execute(
        "SELECT recurrence_local, start_local, duration_s, title, host, description "
        "FROM cal_override WHERE event_id = ? ORDER BY recurrence_local",
        (row[0],),
    ).fetchall()
    return _event_from_row(row, exdates, overrides)


def _delete_children(conn: sqlite3.Connection, event_id: int) -> None:
    conn.execute("DELETE FROM cal_exdate WHERE event_id = ?", (event_id,))
    conn.execute("DELETE FROM cal_override WHERE event_id = ?", (event_id,))


def _catch_up(conn: sqlite3.Connection, max_rows: int | None) -> int:
    found = conn.execute("SELECT value FROM cal_rollup_state WHERE key = 'rollup_hwm'").fetchone()
    low = int(found[0]) if found else 0
    top = int(conn.execute("SELECT coalesce(max(id), 0) FROM activity").fetchone()[0])
    high = min(top, low + max_rows) if max_rows else top
    if high <= low:
        return 0
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS cal_batch (member_id INTEGER, hour_of_week INTEGER, "
        "period INTEGER, community_id INTEGER, n INTEGER, "
        "PRIMARY KEY (member_id, hour_of_week, period))"
    )
    conn.execute("DELETE FROM temp.cal_batch")
    conn.execute(
        f"INSERT INTO temp.cal_batch SELECT a.member_id, {_HOW}, a.ts / {PERIOD_MS}, "
        "a.community_id, count(*) FROM activity a JOIN member m ON m.id = a.member_id "
        f"WHERE a.id > ? AND a.id <= ? AND a.kind IN {_COUNTED_KINDS} AND m.is_bot = 0 "
        "GROUP BY 1, 2, 3",
        (low, high),
    )
    fresh = conn.execute(
        "SELECT b.community_id, b.period, b.hour_of_week, b.member_id FROM temp.cal_batch b "
        "WHERE NOT EXISTS (SELECT 1 FROM cal_member_hour c WHERE c.member_id = b.member_id "
        "AND c.hour_of_week = b.hour_of_week AND c.period = b.period) ORDER BY 1, 2, 3"
    ).fetchall()
    conn.execute(
        "INSERT INTO cal_member_hour (member_id, hour_of_week, period, community_id, n) "
        "SELECT member_id, hour_of_week, period, community_id, n FROM temp.cal_batch WHERE true "
        "ON CONFLICT (member_id, hour_of_week, period) DO UPDATE SET n = n + excluded.n"
    )
    set_bits(conn, fresh)
    conn.execute("DELETE FROM temp.cal_batch")
    conn.execute(
        "INSERT INTO cal_rollup_state (key, value) VALUES ('rollup_hwm', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (high,),
    )
    return high - low


def set_bits(conn: sqlite3.Connection, cells: Iterable[Sequence[int]]) -> None:
    """Mark members present in (community, period, hour) cells; rows sorted by those three."""
    groups: dict[tuple[int, int, int], list[int]] = {}
    for community_id, period, how, member_id in cells:
        groups.setdefault((community_id, period, how), []).append(member_id)
    for (community_id, period, how), members in groups.items():
        mask = bytearray(max(members) // 8 + 1)
        for m in members:
            mask[m >> 3] |= 1 << (m & 7)
        row = conn.execute(
            "SELECT bits FROM cal_hour_members WHERE community_id = ? AND period = ? "
            "AND hour_of_week = ?",
            (community_id, period, how),
        ).fetchone()
        value = int.from_bytes(mask, "little")
        if row is not None:
            value |= int.from_bytes(row[0], "little")
        conn.execute(
            "INSERT INTO cal_hour_members (community_id, hour_of_week, period, bits) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (community_id, period, hour_of_week) "
            "DO UPDATE SET bits = excluded.bits",
            (community_id, how, period, value.to_bytes((value.bit_length() + 7) // 8, "little")),
        )
