"""The SQLite store: WAL, one writer that batches, readers on their own connection.

All SQLite-specific SQL lives in this module and `sqlite_schema.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import sqlite3
import stat
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite
import orjson

from cockpit.errors import CockpitError, StoreError
from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.store.base import (
    ActivityRow,
    ChannelRow,
    FeedQuery,
    ImportRecord,
    MemberRow,
    Store,
    StoreFull,
    StoreStats,
    WriteResult,
)
from cockpit.store.lease import Lease
from cockpit.store.sqlite_alerts import AlertStore
from cockpit.store.sqlite_calendar import CalendarStore
from cockpit.store.sqlite_collect import SQLiteHealth
from cockpit.store.sqlite_identity import SQLiteIdentity
from cockpit.store.sqlite_moderation import SQLiteModeration
from cockpit.store.sqlite_schema import FEATURE_MIGRATIONS, MIGRATIONS, SCHEMA_VERSION
from cockpit.store.sqlite_scoring import ScoringStore
from cockpit.timeutil import Clock, from_ms, to_ms, utcnow

if TYPE_CHECKING:
    from cockpit.scoring.config import ScoringSettings

T = TypeVar("T")

_ACTIVITY_COLUMNS = (
    "community_id, platform, source_id, kind, ts, channel_id, member_id, text, reply_to, "
    "thread, mentions, attachments, reactions, edited_ts, deleted, extras, import_id"
)

# Rows are inserted with executemany: three times faster per row than any JSON-payload trick
# in SQLite 3.40. It holds the GIL while binding each row, so big imports parse in another
# process (cockpit/importing.py) rather than in another thread.
_INSERT = f"""
INSERT INTO activity ({_ACTIVITY_COLUMNS}) VALUES ({", ".join("?" * 17)})
"""

# Only the identity conflict is skipped (OR IGNORE would also swallow a NOT NULL violation).
INSERT_NEW = _INSERT + "ON CONFLICT (platform, source_id) DO NOTHING\n"

# A message seen again: take a newer edit, and a higher reaction count.
UPSERT_ACTIVITY = (
    _INSERT
    + """
ON CONFLICT (platform, source_id) DO UPDATE SET
    text = CASE WHEN excluded.edited_ts > coalesce(activity.edited_ts, -1)
                THEN excluded.text ELSE activity.text END,
    edited_ts = CASE WHEN excluded.edited_ts > coalesce(activity.edited_ts, -1)
                     THEN excluded.edited_ts ELSE activity.edited_ts END,
    reactions = max(activity.reactions, excluded.reactions)
WHERE excluded.edited_ts > coalesce(activity.edited_ts, -1)
   OR excluded.reactions > activity.reactions
"""
)

# An edit of a message: update it, or keep it as the message when the original is unknown.
UPSERT_EDIT = (
    _INSERT
    + """
ON CONFLICT (platform, source_id) DO UPDATE SET
    text = excluded.text, edited_ts = excluded.edited_ts
WHERE excluded.edited_ts >= coalesce(activity.edited_ts, -1) AND excluded.text != activity.text
"""
)

# A delete marks the message (its text stays for moderators); an unknown one leaves a tombstone.
UPSERT_DELETE = (
    _INSERT
    + """
ON CONFLICT (platform, source_id) DO UPDATE SET deleted = 1
WHERE activity.deleted = 0
"""
)

UPSERT_MEMBER = """
INSERT INTO member (community_id, platform, platform_user_id, handle, display_name, is_bot,
                    first_seen, last_seen)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (community_id, platform, platform_user_id) DO UPDATE SET
    handle = CASE WHEN excluded.last_seen >= coalesce(member.last_seen, 0)
                  THEN coalesce(excluded.handle, member.handle) ELSE member.handle END,
    display_name = CASE
        -- a name equal to the user id is a live event's placeholder: it never hides a real name
        WHEN excluded.display_name = excluded.platform_user_id
             AND member.display_name != member.platform_user_id THEN member.display_name
        WHEN excluded.last_seen >= coalesce(member.last_seen, 0) THEN excluded.display_name
        ELSE member.display_name END,
    is_bot = max(member.is_bot, excluded.is_bot),
    first_seen = min(coalesce(member.first_seen, excluded.first_seen), excluded.first_seen),
    last_seen = max(coalesce(member.last_seen, excluded.last_seen), excluded.last_seen)
"""

_FEED_SELECT = """
SELECT a.id, c.name, a.platform, a.source_id, a.kind, a.ts, ch.name, ch.source_id, a.member_id,
       m.display_name, m.handle, m.platform_user_id, m.is_bot, a.text, a.reply_to, a.thread,
       a.mentions, a.attachments, a.reactions, a.edited_ts, a.deleted, a.extras
FROM activity a
JOIN member m ON m.id = a.member_id
JOIN channel ch ON ch.id = a.channel_id
JOIN community c ON c.id = a.community_id
"""

_MEMBER_SELECT = """
SELECT m.id, c.name, m.platform, m.platform_user_id, m.handle, m.display_name, m.is_bot,
       m.first_seen, m.last_seen, m.activity_count
FROM member m JOIN community c ON c.id = m.community_id
"""

_RAW_LIMIT = 4096
_CACHE_LIMIT = 200_000


def fts_query(text: str) -> str:
    """Turn what a user typed into a safe FTS5 query: every word must occur; `word*` is a prefix."""
    terms = []
    for word in text.split():
        prefix = word.endswith("*") and len(word) > 1
        word = word.rstrip("*")
        if not word:
            continue
        quoted = '"' + word.replace('"', '""') + '"'
        terms.append(quoted + ("*" if prefix else ""))
    if not terms:
        raise CockpitError(f"--search {text!r}: nothing to search for")
    return " ".join(terms)


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _row_to_activity(r: sqlite3.Row | tuple[Any, ...]) -> ActivityRow:
    return ActivityRow(
        id=r[0],
        community=r[1],
        platform=r[2],
        source_id=r[3],
        kind=Kind(r[4]),
        ts=from_ms(r[5]),
        channel=r[6],
        channel_id=r[7],
        member_id=r[8],
        author=r[9],
        author_handle=r[10],
        author_id=r[11],
        is_bot=bool(r[12]),
        text=r[13],
        reply_to=r[14],
        thread=r[15],
        mentions=tuple(orjson.loads(r[16])) if r[16] else (),
        attachments=r[17],
        reactions=r[18],
        edited_ts=from_ms(r[19]) if r[19] is not None else None,
        deleted=bool(r[20]),
        extras=orjson.loads(r[21]) if r[21] else {},
    )


def _row_to_member(r: sqlite3.Row | tuple[Any, ...]) -> MemberRow:
    return MemberRow(
        id=r[0],
        community=r[1],
        platform=r[2],
        platform_user_id=r[3],
        handle=r[4],
        display_name=r[5],
        is_bot=bool(r[6]),
        first_seen=from_ms(r[7]) if r[7] is not None else None,
        last_seen=from_ms(r[8]) if r[8] is not None else None,
        activity_count=r[9],
    )


def _create_private(path: Path) -> None:
    """Create the store file before SQLite opens it: owner read-write, the group as the umask
    allows (the documented set-up, UMask=0027, lets operators of the group --attach), never
    anyone else. SQLite gives its -wal and -shm files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o660)  # the umask narrows it further
    os.close(fd)


@dataclass(slots=True)
class _Batch:
    """A write, validated and serialised on the caller's thread."""

    count: int = 0
    # rows for plain upserts, edits and deletes; ids of owners are filled in by the writer
    rows: tuple[list[list[Any]], list[list[Any]], list[list[Any]]] = field(
        default_factory=lambda: ([], [], [])
    )
    quarantined: list[Quarantined] = field(default_factory=list)
    communities: set[str] = field(default_factory=set)
    channels: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # (community, platform, author id) -> [handle, display name, is_bot, first ts, last ts]
    members: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)


def _prepare(records: Sequence[Record]) -> _Batch:
    batch = _Batch()
    rows: tuple[list[list[Any]], list[list[Any]], list[list[Any]]] = ([], [], [])
    firsts: dict[int, dict[tuple[str, str], list[Any]]] = {id(r): {} for r in rows}
    members = batch.members
    for rec in records:
        if not isinstance(rec, Activity):
            batch.quarantined.append(rec)
            continue
        problem = rec.validate()
        if problem is not None:
            batch.quarantined.append(
                Quarantined(
                    rec.platform or "?",
                    "pipeline",
                    f"{rec.platform}:{rec.source_id}",
                    problem,
                    _dumps(rec)[:_RAW_LIMIT],
                )
            )
            continue
        a = rec  # times need no conversion: to_ms is exact for any offset
        if not a.channel_id:
            a.channel_id = a.channel
        if not a.author:
            a.author = a.author_handle or a.author_id
        community = a.community or "default"
        ts = to_ms(a.ts)
        edited = to_ms(a.edited_ts) if a.edited_ts is not None else None
        kind = a.kind
        target, deleted = rows[0], 0
        if kind is Kind.EDIT:
            target, kind = rows[1], Kind.MESSAGE
            edited = edited if edited is not None else ts
        elif kind is Kind.DELETE:
            target, kind, deleted = rows[2], Kind.MESSAGE, 1
        row = [
            community,
            a.platform,
            a.source_id,
            kind.value,
            ts,
            a.channel_id,
            a.author_id,
            a.text,
            a.reply_to,
            a.thread,
            _dumps(a.mentions) if a.mentions else None,
            a.attachments,
            a.reactions,
            edited,
            deleted,
            _dumps(a.extras) if a.extras else None,
            None,  # import id, set by the writer
        ]
        # One row per activity and statement: a later copy in the same batch is merged into
        # the first (newest edit and highest reaction count win), so no statement touches a
        # row it inserted itself before that row is in the full-text index.
        seen = firsts[id(target)]
        first = seen.get((a.platform, a.source_id))
        if first is None:
            seen[(a.platform, a.source_id)] = row
            target.append(row)
        else:
            if row[13] is not None and (first[13] is None or row[13] > first[13]):
                first[7], first[13] = row[7], row[13]
            first[12] = max(first[12], row[12])
        batch.communities.add(community)
        batch.channels[(community, a.platform, a.channel_id)] = a.channel
        key = (community, a.platform, a.author_id)
        entry = members.get(key)
        if entry is None:
            members[key] = [a.author_handle, a.author, int(a.is_bot), ts, ts]
        else:
            if ts >= entry[4]:
                entry[0] = a.author_handle or entry[0]
                entry[1] = a.author
                entry[4] = ts
            entry[2] = entry[2] or int(a.is_bot)
            entry[3] = min(entry[3], ts)
        batch.count += 1
    batch.rows = rows
    return batch


class SQLiteStore(Store):
    """A store in one SQLite file. Open with `await SQLiteStore.open(path)`."""

    def __init__(
        self,
        path: str,
        writer: aiosqlite.Connection | None,
        reader: aiosqlite.Connection,
        clock: Clock = utcnow,
    ):
        self.path = path
        self.clock = clock
        self._w = writer
        self._r = reader
        self._alerts: AlertStore | None = None
        self._calendar: CalendarStore | None = None
        self._identity: SQLiteIdentity | None = None
        self._moderation: SQLiteModeration | None = None
        self._health: SQLiteHealth | None = None
        # what the store already holds, so unchanged communities, channels and members cost
        # nothing per batch: community name -> id; (community, platform, channel id) -> (id,
        # name); (community, platform, author id) -> (id, display name, handle, is_bot)
        self._communities: dict[str, int] = {}
        self._channels: dict[tuple[str, str, str], tuple[int, str]] = {}
        self._members: dict[tuple[str, str, str], tuple[int, str, str | None, int]] = {}

    # ----------------------------------------------------------------- opening

    @classmethod
    async def open(
        cls, path: str | Path, *, readonly: bool = False, clock: Clock = utcnow
    ) -> SQLiteStore:
        p = Path(path)
        _check_store_path(p, readonly)
        if readonly:
            writer = None
        else:
            if not p.exists():
                try:
                    _create_private(p)
                except OSError as exc:
                    raise CockpitError(f"{p}: cannot create the store ({exc.strerror})") from None
            writer = await cls._connect(p)
            try:
                await cls._migrate(writer, p)
            except BaseException as exc:
                await writer.close()
                if isinstance(exc, sqlite3.DatabaseError):
                    raise CockpitError(f"{p}: not a cockpit store ({exc})") from None
                raise
        reader = await cls._connect(p, query_only=True)
        if readonly:
            try:
                version = (await (await reader.execute("PRAGMA user_version")).fetchone() or (0,))[
                    0
                ]
                foreign = await _foreign_tables(reader) if version == 0 else []
            except sqlite3.DatabaseError as exc:
                await reader.close()
                raise CockpitError(f"{p}: not a cockpit store ({exc})") from None
            if foreign:
                await reader.close()
                raise CockpitError(_foreign_message(p, foreign))
            if version != SCHEMA_VERSION:
                await reader.close()
                raise CockpitError(
                    f"{p}: store schema v{version}, this cockpit reads v{SCHEMA_VERSION}"
                    + (
                        " (open it once with a writing command to migrate)"
                        if version < SCHEMA_VERSION
                        else ""
                    )
                )
        return cls(str(p), writer, reader, clock)

    @staticmethod
    async def _connect(p: Path, query_only: bool = False) -> aiosqlite.Connection:
        pending = aiosqlite.connect(p, isolation_level=None)
        # A store left open by a crashing command must not keep the process alive at exit;
        # commits are synchronous, so nothing acknowledged is lost when the thread dies.
        pending._thread.daemon = True
        try:
            conn = await pending
        except sqlite3.DatabaseError as exc:
            raise CockpitError(f"{p}: cannot open the store ({exc})") from None
        try:
            await conn.execute("PRAGMA busy_timeout = 10000")
            if not query_only:
                mode = await _switch_to_wal(conn)
                if mode is None or str(mode[0]).lower() != "wal":
                    raise CockpitError(f"{p}: cannot switch the store to WAL mode")
                await conn.execute("PRAGMA synchronous = FULL")
            else:
                await conn.execute("PRAGMA query_only = 1")
            await conn.execute("PRAGMA cache_size = -32768")
            await conn.execute("PRAGMA temp_store = MEMORY")
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise CockpitError(f"{p}: not a cockpit store ({exc})") from None
            raise
        return conn

    @staticmethod
    async def _migrate(conn: aiosqlite.Connection, p: Path) -> None:
        row = await (await conn.execute("PRAGMA user_version")).fetchone()
        version = int(row[0]) if row else 0
        if version == 0:
            # never add our schema beside another application's tables; read under the
            # write lock, so a cockpit creating the same store right now is not mistaken
            await conn.execute("BEGIN IMMEDIATE")
            try:
                row = await (await conn.execute("PRAGMA user_version")).fetchone()
                version = int(row[0]) if row else 0
                foreign = await _foreign_tables(conn) if version == 0 else []
            finally:
                await conn.execute("COMMIT")
            if foreign:
                raise CockpitError(_foreign_message(p, foreign))
        if version > SCHEMA_VERSION:
            raise CockpitError(
                f"{p}: store schema v{version} was written by a newer cockpit (this one knows v{SCHEMA_VERSION})"
            )
        for number in range(version, SCHEMA_VERSION):
            await _apply(
                conn,
                MIGRATIONS[number],
                "PRAGMA user_version",
                (),
                number,
                f"PRAGMA user_version = {number + 1}",
                (),
            )
        for feature, scripts in FEATURE_MIGRATIONS.items():
            found = await (
                await conn.execute(
                    "SELECT version FROM feature_schema WHERE feature = ?", (feature,)
                )
            ).fetchone()
            have = int(found[0]) if found else 0
            if have > len(scripts):
                raise CockpitError(
                    f"{p}: the {feature} tables are v{have}, written by a newer cockpit "
                    f"(this one knows v{len(scripts)})"
                )
            for number in range(have, len(scripts)):
                await _apply(
                    conn,
                    scripts[number],
                    "SELECT version FROM feature_schema WHERE feature = ?",
                    (feature,),
                    number,
                    "INSERT INTO feature_schema (feature, version) VALUES (?, ?) "
                    "ON CONFLICT (feature) DO UPDATE SET version = excluded.version",
                    (feature, number + 1),
                )

    async def close(self) -> None:
        if self._w is not None:
            try:
                # only an optimisation: on a full disk it fails, and that must not be a crash
                with contextlib.suppress(sqlite3.OperationalError):
                    await self._w.execute("PRAGMA optimize")
            finally:
                await self._w.close()
        await self._r.close()

    # ------------------------------------------------------------ the features

    @property
    def writable(self) -> bool:
        return self._w is not None

    @property
    def alerts(self) -> AlertStore:
        if self._alerts is None:
            self._alerts = AlertStore(self)
        return self._alerts

    @property
    def calendar(self) -> CalendarStore:
        if self._calendar is None:
            self._calendar = CalendarStore(self, self.clock)
        return self._calendar

    @property
    def moderation(self) -> SQLiteModeration:
        if self._moderation is None:
            self._moderation = SQLiteModeration(self)
        return self._moderation

    @property
    def identity(self) -> SQLiteIdentity:
        if self._identity is None:
            self._identity = SQLiteIdentity(self, self.clock)
        return self._identity

    @property
    def health(self) -> SQLiteHealth:
        if self._health is None:
            self._health = SQLiteHealth(self)
        return self._health

    def scoring(self, settings: ScoringSettings | None = None) -> ScoringStore:
        return ScoringStore(self, settings, self.clock)

    def _writer(self) -> aiosqlite.Connection:
        if self._w is None:
            raise CockpitError(f"{self.path}: opened read-only")
        return self._w

    async def run_write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` on the writer's connection, in its thread: for feature modules
        (`sqlite_<feature>.py`) that keep their own tables. `fn` manages its transaction."""
        return await self._in_writer_thread(fn)

    async def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` inside BEGIN IMMEDIATE ... COMMIT on the writer (rolled back on error)."""

        def run(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        try:
            return await self._in_writer_thread(run)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of a read query on the reader connection (never blocks the writer)."""
        try:
            return await self._fetchall(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    async def _in_writer_thread(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a whole transaction in the writer's own thread: one hop, no per-statement ping-pong."""
        w = self._writer()
        return await w._execute(lambda: fn(w._conn))  # type: ignore[no-untyped-call,no-any-return]

    # ------------------------------------------------------------------ writes

    async def write(
        self,
        records: Sequence[Record],
        cursors: Sequence[tuple[str, str]] = (),
        import_id: int | None = None,
        import_position: int | None = None,
    ) -> WriteResult:
        return await self.write_prepared(_prepare(records), cursors, import_id, import_position)

    @staticmethod
    def prepare(records: Sequence[Record]) -> _Batch:
        return _prepare(records)

    async def write_prepared(
        self,
        prepared: Any,
        cursors: Sequence[tuple[str, str]] = (),
        import_id: int | None = None,
        import_position: int | None = None,
    ) -> WriteResult:
        batch: _Batch = prepared

        def run(conn: sqlite3.Connection) -> WriteResult:
            try:
                result = self._write_sync(conn, batch, cursors, import_id, import_position)
                if import_id is not None:
                    # An import's committed pages go into the main file at once: were the
                    # disk to fill, taking the import back must not first need room to
                    # checkpoint a WAL of uncheckpointed batches.
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                return result
            except BaseException as exc:
                # what the rolled-back transaction added is not in the store after all
                self._communities.clear()
                self._channels.clear()
                self._members.clear()
                if import_id is not None and _is_full(exc):
                    raise StoreFull(
                        f"{self.path}: the disk is full ({exc})", _free_bytes(self.path)
                    ) from None
                raise

        return await self._in_writer_thread(run)

    def _write_sync(
        self,
        conn: sqlite3.Connection,
        batch: _Batch,
        cursors: Sequence[tuple[str, str]],
        import_id: int | None,
        import_position: int | None,
    ) -> WriteResult:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = self._store_activities(conn, batch, import_id)
            now = int(time.time() * 1000)
            if batch.quarantined:
                conn.executemany(
                    "INSERT OR IGNORE INTO quarantine (received, platform, origin, position, reason, raw, "
                    "import_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            now,
                            q.platform,
                            q.origin,
                            q.position,
                            q.reason,
                            q.raw[:_RAW_LIMIT],
                            import_id,
                        )
                        for q in batch.quarantined
                    ],
                )
            result = WriteResult(
                result.new, result.duplicate, result.updated, len(batch.quarantined), result.new_ids
            )
            if cursors:
                conn.executemany(
                    "INSERT INTO cursor (key, value, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
                    [(k, v, now) for k, v in cursors],
                )
            if import_id is not None and result.new_ids is not None:
                conn.execute(
                    "INSERT INTO import_range (import_id, first_id, last_id) VALUES (?, ?, ?)",
                    (import_id, *result.new_ids),
                )
            if import_id is not None:
                conn.execute(
                    "UPDATE import_file SET position = coalesce(?, position), new = new + ?, "
                    "duplicate = duplicate + ?, updated = updated + ?, quarantined = quarantined + ? "
                    "WHERE id = ?",
                    (
                        import_position,
                        result.new,
                        result.duplicate,
                        result.updated,
                        result.quarantined,
                        import_id,
                    ),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _store_activities(
        self, conn: sqlite3.Connection, batch: _Batch, import_id: int | None
    ) -> WriteResult:
        if not batch.count:
            return WriteResult()
        self._upsert_owners(conn, batch)
        communities, channels, members = self._communities, self._channels, self._members
        payloads = []
        for rows in batch.rows:
            for r in rows:  # owners' keys become their ids, in place
                name, platform = r[0], r[1]
                r[0] = communities[name]
                r[5] = channels[(name, platform, r[5])][0]
                r[6] = members[(name, platform, r[6])][0]
                r[16] = import_id
            payloads.append(rows)
        seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'activity'").fetchone()
        max_before = int(seq[0]) if seq else 0
        # rowcount counts rows inserted or updated by the statements themselves (not the FTS
        # triggers). New rows are indexed before the next statement can edit them: the FTS
        # update trigger removes a row's old text from the index, which must be there.
        changed = 0
        indexed = max_before
        normal, edits, deletes = payloads
        if normal:
            # Fresh rows go in by the cheap path; only when some were already stored do the
            # ones that can change a stored row (an edit, reactions) go through the upsert.
            inserted = max(0, conn.executemany(INSERT_NEW, normal).rowcount)
            changed += inserted
            indexed = self._index_new(conn, indexed)
            if inserted < len(normal):
                maybe = [r for r in normal if r[13] is not None or r[12]]
                if maybe:
                    changed += max(0, conn.executemany(UPSERT_ACTIVITY, maybe).rowcount)
        for sql, rows in ((UPSERT_EDIT, edits), (UPSERT_DELETE, deletes)):
            if rows:
                changed += max(0, conn.executemany(sql, rows).rowcount)
                indexed = self._index_new(conn, indexed)
        max_after = indexed
        new = 0
        if max_after > max_before:
            new = conn.execute(
                "SELECT count(*) FROM activity WHERE id > ?", (max_before,)
            ).fetchone()[0]
            conn.execute(
                "UPDATE member SET activity_count = activity_count + n.c, "
                "first_seen = min(coalesce(first_seen, n.lo), n.lo), "
                "last_seen = max(coalesce(last_seen, n.hi), n.hi) FROM "
                "(SELECT member_id, count(*) AS c, min(ts) AS lo, max(ts) AS hi FROM activity "
                "WHERE id > ? GROUP BY member_id) AS n WHERE member.id = n.member_id",
                (max_before,),
            )
        updated = min(max(0, changed - new), batch.count - new)
        return WriteResult(
            new=new,
            duplicate=batch.count - new - updated,
            updated=updated,
            new_ids=(max_before + 1, max_after) if new else None,
        )

    @staticmethod
    def _index_new(conn: sqlite3.Connection, indexed: int) -> int:
        """Add rows inserted after id `indexed` to the full-text index; returns the new mark."""
        seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'activity'").fetchone()
        top = int(seq[0]) if seq else 0
        if top > indexed:
            conn.execute(
                "INSERT INTO activity_fts (rowid, text) SELECT id, text FROM activity "
                "WHERE id > ? AND text != ''",
                (indexed,),
            )
        return max(top, indexed)

    def _upsert_owners(self, conn: sqlite3.Connection, batch: _Batch) -> None:
        """Communities, channels and members the batch names, with their ids in the caches;
        only what is new or renamed costs a statement."""
        for name in batch.communities:
            if name not in self._communities:
                conn.execute("INSERT OR IGNORE INTO community (name) VALUES (?)", (name,))
                row = conn.execute("SELECT id FROM community WHERE name = ?", (name,)).fetchone()
                self._communities[name] = int(row[0])
        if len(self._channels) > _CACHE_LIMIT:
            self._channels.clear()
        for key, name in batch.channels.items():
            known = self._channels.get(key)
            if known is not None and known[1] == name:
                continue
            cid = self._communities[key[0]]
            conn.execute(
                "INSERT INTO channel (community_id, platform, source_id, name) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (community_id, platform, source_id) DO UPDATE SET name = excluded.name "
                # a name equal to the channel id is a placeholder; it never hides a real name
                "WHERE channel.name != excluded.name AND excluded.name != excluded.source_id",
                (cid, key[1], key[2], name),
            )
            row = conn.execute(
                "SELECT id FROM channel WHERE community_id = ? AND platform = ? AND source_id = ?",
                (cid, key[1], key[2]),
            ).fetchone()
            self._channels[key] = (int(row[0]), name)
        if len(self._members) > _CACHE_LIMIT:
            self._members.clear()
        changed = []
        for key, (handle, name, bot, lo, hi) in batch.members.items():
            member = self._members.get(key)
            if (
                member is None
                or (member[1] != name and name != key[2])
                or (handle and member[2] != handle)
                or bot > member[3]
            ):
                changed.append(
                    (key, (self._communities[key[0]], key[1], key[2], handle, name, bot, lo, hi))
                )
        if changed:
            conn.executemany(UPSERT_MEMBER, [values for _, values in changed])
            select = (
                "SELECT id, display_name, handle, is_bot FROM member "
                "WHERE community_id = ? AND platform = ? AND platform_user_id = ?"
            )
            for key, values in changed:
                mid, name, handle, bot = conn.execute(select, values[:3]).fetchone()
                self._members[key] = (int(mid), name, handle, int(bot))

    async def get_cursor(self, key: str) -> str | None:
        row = await (
            await self._r.execute("SELECT value FROM cursor WHERE key = ?", (key,))
        ).fetchone()
        return str(row[0]) if row else None

    async def begin_import(self, fingerprint: str, path: str, fmt: str) -> ImportRecord:
        await asyncio.to_thread(_reserve, self.path)
        try:
            rec = await self._begin_import(fingerprint, path, fmt)
        except BaseException:
            _release(self.path)
            raise
        if rec.state == "done":
            _release(self.path)
        return rec

    async def _begin_import(self, fingerprint: str, path: str, fmt: str) -> ImportRecord:
        def run(conn: sqlite3.Connection) -> ImportRecord:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT id, state, position, new, duplicate, updated, quarantined FROM import_file "
                    "WHERE fingerprint = ?",
                    (fingerprint,),
                ).fetchone()
                now = int(time.time() * 1000)
                if row is None:
                    cur = conn.execute(
                        "INSERT INTO import_file (fingerprint, path, format, state, started) "
                        "VALUES (?, ?, ?, 'running', ?)",
                        (fingerprint, path, fmt, now),
                    )
                    rec = ImportRecord(
                        int(cur.lastrowid or 0), fingerprint, path, fmt, "running", 0
                    )
                    _mark_import_start(conn, rec.id, now)
                elif row[1] == "refused":
                    # a refused file left nothing behind: start over from the top
                    conn.execute(
                        "UPDATE import_file SET state = 'running', position = 0, new = 0, duplicate = 0, "
                        "updated = 0, quarantined = 0, path = ?, started = ?, reason = NULL WHERE id = ?",
                        (path, now, row[0]),
                    )
                    rec = ImportRecord(row[0], fingerprint, path, fmt, "running", 0)
                    _mark_import_start(conn, rec.id, now)
                else:
                    rec = ImportRecord(
                        row[0], fingerprint, path, fmt, row[1], row[2], WriteResult(*row[3:7])
                    )
                conn.execute("COMMIT")
                return rec
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        try:
            return await self._in_writer_thread(run)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    async def finish_import(self, import_id: int, counts: WriteResult) -> None:
        w = self._writer()
        await w.execute(
            "UPDATE import_file SET state = 'done', finished = ? WHERE id = ?",
            (int(time.time() * 1000), import_id),
        )
        await w.execute("DELETE FROM cursor WHERE key = ?", (_import_mark_key(import_id),))
        _release(self.path)

    async def refuse_import(self, import_id: int, reason: str) -> int:
        try:
            return await self._refuse_import(import_id, reason)
        except sqlite3.OperationalError as exc:
            if not _is_full(exc):
                raise
        finally:
            # the space held back for this moment: the checkpoint below needs it
            _release(self.path)
        # The disk is full: one transaction deleting everything needs as much WAL space as
        # the import took. Take it back in slices, each committed and checkpointed into the
        # main file in place, so the WAL stays small; the import is marked refused first,
        # so an interruption can only leave rows a re-import finds as duplicates.
        return await self._in_writer_thread(
            lambda conn: _refuse_in_slices(conn, import_id, reason, self._members, self._channels)
        )

    async def _refuse_import(self, import_id: int, reason: str) -> int:
        def run(conn: sqlite3.Connection) -> int:
            conn.execute("BEGIN IMMEDIATE")
            try:
                ranges = conn.execute(
                    "SELECT first_id, last_id FROM import_range WHERE import_id = ?", (import_id,)
                ).fetchall()
                removed = 0
                for first, last in ranges:
                    where = "id BETWEEN ? AND ? AND import_id = ?"
                    params = (first, last, import_id)
                    counts = conn.execute(
                        f"SELECT member_id, count(*) FROM activity WHERE {where} GROUP BY member_id",
                        params,
                    ).fetchall()
                    conn.executemany(
                        "UPDATE member SET activity_count = max(0, activity_count - ?) WHERE id = ?",
                        [(c, m) for m, c in counts],
                    )
                    removed += conn.execute(f"DELETE FROM activity WHERE {where}", params).rowcount
                conn.execute("DELETE FROM import_range WHERE import_id = ?", (import_id,))
                conn.execute("DELETE FROM quarantine WHERE import_id = ?", (import_id,))
                _drop_import_owners(conn, import_id)
                conn.execute(
                    "UPDATE import_file SET state = 'refused', position = 0, new = 0, duplicate = 0, "
                    "updated = 0, quarantined = 0, reason = ?, finished = ? WHERE id = ?",
                    (reason, int(time.time() * 1000), import_id),
                )
                conn.execute("COMMIT")
                return int(removed)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._members.clear()
                self._channels.clear()

        return await self._in_writer_thread(run)

    # ------------------------------------------------------------------- reads

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self._r.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def feed(self, query: FeedQuery) -> list[ActivityRow]:
        where: list[str] = []
        params: list[Any] = []
        if query.since is not None:
            where.append("a.ts >= ?")
            params.append(to_ms(query.since))
        if query.until is not None:
            where.append("a.ts < ?")
            params.append(to_ms(query.until))
        if query.platforms:
            where.append(f"a.platform IN ({', '.join('?' * len(query.platforms))})")
            params.extend(query.platforms)
        if query.channels:
            names = [c.lstrip("#").lower() for c in query.channels]
            marks = ", ".join("?" * len(names))
            where.append(f"(lower(ch.name) IN ({marks}) OR ch.source_id IN ({marks}))")
            params.extend(names)
            params.extend(query.channels)
        if query.member_ids:
            where.append(f"a.member_id IN ({', '.join('?' * len(query.member_ids))})")
            params.extend(query.member_ids)
        if query.kinds:
            where.append(f"a.kind IN ({', '.join('?' * len(query.kinds))})")
            params.extend(k.value for k in query.kinds)
        if query.community:
            where.append("c.name = ?")
            params.append(query.community)
        if query.search:
            where.append("a.id IN (SELECT rowid FROM activity_fts WHERE activity_fts MATCH ?)")
            params.append(fts_query(query.search))
        if query.before is not None:
            ts_ms, row_id = to_ms(query.before[0]), query.before[1]
            where.append("(a.ts < ? OR (a.ts = ? AND a.id < ?))")
            params.extend((ts_ms, ts_ms, row_id))
        if query.after_id is not None:
            where.append("a.id > ?")
            params.append(query.after_id)
        sql = _FEED_SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY a.ts DESC, a.id DESC LIMIT ?"
        params.append(query.limit)
        try:
            rows = await self._fetchall(sql, params)
        except sqlite3.OperationalError as exc:
            if query.search and "fts5" in str(exc).lower():
                raise CockpitError(f"--search {query.search!r}: {exc}") from None
            raise
        return [_row_to_activity(r) for r in rows]

    async def activity(self, platform: str, source_id: str) -> ActivityRow | None:
        rows = await self._fetchall(
            _FEED_SELECT + " WHERE a.platform = ? AND a.source_id = ?", (platform, source_id)
        )
        return _row_to_activity(rows[0]) if rows else None

    async def members(
        self, community: str | None = None, platform: str | None = None, limit: int | None = None
    ) -> list[MemberRow]:
        where, params = [], []
        if community:
            where.append("c.name = ?")
            params.append(community)
        if platform:
            where.append("m.platform = ?")
            params.append(platform)
        sql = _MEMBER_SELECT + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY m.activity_count DESC, m.id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_row_to_member(r) for r in await self._fetchall(sql, params)]

    async def find_members(self, term: str, community: str | None = None) -> list[MemberRow]:
        term = term.strip()
        handle = term.lstrip("@")
        sql = _MEMBER_SELECT + (
            " WHERE (m.platform_user_id = ? OR m.handle = ? COLLATE NOCASE"
            " OR m.display_name = ? COLLATE NOCASE"
            " OR CAST(m.id AS TEXT) = ?)"
        )
        params: list[Any] = [term, handle, term, term]
        if community:
            sql += " AND c.name = ?"
            params.append(community)
        sql += " ORDER BY m.activity_count DESC LIMIT 50"
        return [_row_to_member(r) for r in await self._fetchall(sql, params)]

    async def channels(self, community: str | None = None) -> list[ChannelRow]:
        sql = (
            "SELECT ch.id, c.name, ch.platform, ch.source_id, ch.name FROM channel ch "
            "JOIN community c ON c.id = ch.community_id"
        )
        params: list[Any] = []
        if community:
            sql += " WHERE c.name = ?"
            params.append(community)
        sql += " ORDER BY ch.platform, ch.name"
        return [ChannelRow(*r) for r in await self._fetchall(sql, params)]

    async def stats(self) -> StoreStats:
        rows = await self._fetchall(
            "SELECT (SELECT count(*) FROM activity), (SELECT count(*) FROM member), "
            "(SELECT count(*) FROM channel), (SELECT count(*) FROM community), "
            "(SELECT count(*) FROM quarantine), (SELECT max(ts) FROM activity)"
        )
        r = rows[0]
        return StoreStats(r[0], r[1], r[2], r[3], r[4], from_ms(r[5]) if r[5] is not None else None)

    async def quarantine(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self._fetchall(
            "SELECT received, platform, origin, position, reason, raw FROM quarantine "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        keys = ("received", "platform", "origin", "position", "reason", "raw")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    async def max_activity_id(self) -> int:
        rows = await self._fetchall("SELECT coalesce(max(id), 0) FROM activity")
        return int(rows[0][0])

    async def member(self, member_id: int) -> MemberRow | None:
        rows = await self._fetchall(_MEMBER_SELECT + " WHERE m.id = ?", (member_id,))
        return _row_to_member(rows[0]) if rows else None

    async def activity_counts(
        self,
        since: datetime,
        bucket: timedelta,
        community: str | None = None,
        member_id: int | None = None,
        platform: str | None = None,
        until: datetime | None = None,
    ) -> list[tuple[datetime, int]]:
        size = max(1, int(bucket.total_seconds() * 1000))
        start = to_ms(since)
        sql = "SELECT (a.ts - ?) / ? AS b, count(*) FROM activity a"
        where: list[str] = ["a.ts >= ?"]
        params: list[Any] = [start, size, start]
        if community:
            sql += " JOIN community c ON c.id = a.community_id"
            where.append("c.name = ?")
            params.append(community)
        if member_id is not None:
            where.append("a.member_id = ?")
            params.append(member_id)
        if platform:
            where.append("a.platform = ?")
            params.append(platform)
        sql += " WHERE " + " AND ".join(where) + " GROUP BY b ORDER BY b"
        found = {int(b): int(n) for b, n in await self._fetchall(sql, params)}
        last = max(found, default=-1)
        end = to_ms(until) if until is not None else int(time.time() * 1000)
        if until is not None:
            where_end = (end - start) // size
            found = {b: n for b, n in found.items() if b <= where_end}
            last = max(found, default=-1)
        now_bucket = max(last, (end - start) // size)
        return [(from_ms(start + i * size), found.get(i, 0)) for i in range(now_bucket + 1)]

    async def active_members(self, since: datetime, community: str | None = None) -> int:
        sql = "SELECT count(DISTINCT a.member_id) FROM activity a"
        params: list[Any] = []
        if community:
            sql += " JOIN community c ON c.id = a.community_id AND c.name = ?"
            params.append(community)
        sql += " WHERE a.ts >= ? AND a.kind IN ('message', 'reaction')"
        params.append(to_ms(since))
        rows = await self._fetchall(sql, params)
        return int(rows[0][0])

    async def integrity_check(self) -> str:
        rows = await self._fetchall("PRAGMA integrity_check")
        return "; ".join(str(r[0]) for r in rows)

    # ------------------------------------------- leases and change notices

    async def lease(self, name: str, holder: str, ttl: timedelta) -> Lease | None:
        """Take or renew the lease `name` for `holder` until now + ttl; None while another
        holder's lease runs. A new holder (or a re-take after expiry) gets a higher token."""
        now = to_ms(self.clock())
        until = now + int(ttl.total_seconds() * 1000)

        def run(conn: sqlite3.Connection) -> Any:
            return conn.execute(
                "INSERT INTO lease AS l (name, holder, token, expires) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "token = CASE WHEN l.holder = excluded.holder AND l.expires > ? THEN l.token "
                "ELSE l.token + 1 END, expires = excluded.expires "
                "WHERE l.holder = excluded.holder OR l.expires <= ? RETURNING token",
                (name, holder, until, now, now),
            ).fetchone()

        row = await self.transaction(run)
        return Lease(name, holder, int(row[0]), from_ms(until)) if row else None

    async def release(self, lease: Lease) -> None:
        """Give a lease up at once (the token stays, so the next holder's is higher)."""
        await self.transaction(
            lambda conn: conn.execute(
                "UPDATE lease SET expires = 0 WHERE name = ? AND holder = ? AND token = ?",
                (lease.name, lease.holder, lease.token),
            )
        )

    async def lease_current(self, lease: Lease) -> bool:
        """Whether `lease` still holds (same token, not expired): check before acting."""
        rows = await self._fetchall(
            "SELECT 1 FROM lease WHERE name = ? AND token = ? AND expires > ?",
            (lease.name, lease.token, to_ms(self.clock())),
        )
        return bool(rows)

    async def leases(self) -> list[Lease]:
        rows = await self.fetchall("SELECT name, holder, token, expires FROM lease ORDER BY name")
        return [Lease(r[0], r[1], int(r[2]), from_ms(int(r[3]))) for r in rows]

    async def changes(self, interval: float = 0.5) -> AsyncGenerator[str, None]:
        """Committed changes as they are seen ("activity:<last id>", "alert"): SQLite has no
        notifications, so this polls two cheap maxima every `interval` seconds."""
        last = (-1, -1, -1)
        while True:
            rows = await self._fetchall(
                "SELECT (SELECT coalesce(max(id), 0) FROM activity), "
                "(SELECT coalesce(max(updated), 0) FROM alert), "
                "(SELECT coalesce(max(updated), 0) FROM mod_case)"
            )
            now = (int(rows[0][0]), int(rows[0][1]), int(rows[0][2]))
            if last != (-1, -1, -1):
                if now[0] > last[0]:
                    yield f"activity:{now[0]}"
                if now[1] > last[1]:
                    yield "alert"
                if now[2] > last[2]:
                    yield "case"
            last = now
            await asyncio.sleep(interval)

    async def wait_for_change(self, timeout: float) -> str | None:
        """The next change's notice, or None after `timeout` seconds without one."""
        gen = self.changes(min(0.1, timeout / 4))  # three max() on keys: cheap at 10/s
        try:
            return await asyncio.wait_for(anext(gen), timeout)
        except TimeoutError:
            return None
        finally:
            await gen.aclose()


def _is_full(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and (
        getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "is full" in str(exc)
    )


def _free_bytes(path: str) -> int | None:
    try:
        st = os.statvfs(Path(path).parent)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


_SLICE = 2000  # activities deleted per transaction when taking back on a full disk
# Space held beside the store while an import runs, given back when the disk fills: the
# WAL's committed pages must be checkpointed into the main file before anything can be
# deleted, and that needs room (up to the autocheckpoint's 4 MB plus one batch).
RESERVE_BYTES = 8 * 1024 * 1024


def _reserve(path: str) -> None:
    """Hold up to RESERVE_BYTES (a quarter of what is free, at most) in `PATH-reserve`."""
    target = Path(path + "-reserve")
    free = _free_bytes(path) or 0
    size = min(RESERVE_BYTES, free // 4)
    if size <= 0 or target.exists():
        return
    try:
        fd = os.open(target, os.O_CREAT | os.O_WRONLY, 0o600)
    except OSError:
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(target)
    finally:
        os.close(fd)


def _release(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path + "-reserve")


def _refuse_in_slices(
    conn: sqlite3.Connection,
    import_id: int,
    reason: str,
    members: dict[Any, Any],
    channels: dict[Any, Any],
) -> int:
    """`refuse_import` for a full disk: mark first, then delete slice by slice."""

    def commit_and_shrink(sql: str, params: tuple[Any, ...]) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            n = conn.execute(sql, params).rowcount
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(n)

    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        commit_and_shrink(
            "UPDATE import_file SET state = 'refused', position = 0, new = 0, duplicate = 0, "
            "updated = 0, quarantined = 0, reason = ?, finished = ? WHERE id = ?",
            (reason, int(time.time() * 1000), import_id),
        )
        ranges = conn.execute(
            "SELECT first_id, last_id FROM import_range WHERE import_id = ?", (import_id,)
        ).fetchall()
        removed = 0
        for first, last in ranges:
            for lo in range(int(first), int(last) + 1, _SLICE):
                hi = min(int(last), lo + _SLICE - 1)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    where = "id BETWEEN ? AND ? AND import_id = ?"
                    counts = conn.execute(
                        f"SELECT member_id, count(*) FROM activity WHERE {where} GROUP BY member_id",
                        (lo, hi, import_id),
                    ).fetchall()
                    conn.executemany(
                        "UPDATE member SET activity_count = max(0, activity_count - ?) WHERE id = ?",
                        [(c, m) for m, c in counts],
                    )
                    removed += conn.execute(
                        f"DELETE FROM activity WHERE {where}", (lo, hi, import_id)
                    ).rowcount
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        commit_and_shrink("DELETE FROM quarantine WHERE import_id = ?", (import_id,))
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM import_range WHERE import_id = ?", (import_id,))
            _drop_import_owners(conn, import_id)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return removed
    finally:
        members.clear()
        channels.clear()


def _import_mark_key(import_id: int) -> str:
    return f"import:{import_id}:owners-before"


def _mark_import_start(conn: sqlite3.Connection, import_id: int, now: int) -> None:
    """Remember the highest member and channel ids before an import adds any (in `cursor`),
    so a refusal can take back the members and channels only that file created."""
    member = conn.execute("SELECT coalesce(max(id), 0) FROM member").fetchone()[0]
    channel = conn.execute("SELECT coalesce(max(id), 0) FROM channel").fetchone()[0]
    conn.execute(
        "INSERT INTO cursor (key, value, updated) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
        (_import_mark_key(import_id), f"{member},{channel}", now),
    )


def _drop_import_owners(conn: sqlite3.Connection, import_id: int) -> None:
    """After a refused import's activities are gone: members and channels created since it
    began that nothing else uses (no activity; a member not linked to a person by hand)."""
    key = _import_mark_key(import_id)
    row = conn.execute("SELECT value FROM cursor WHERE key = ?", (key,)).fetchone()
    if row is None:
        return  # begun by an older cockpit: nothing known about what it created
    member, channel = (int(v) for v in str(row[0]).split(","))
    conn.execute(
        "DELETE FROM member WHERE id > ? AND person_id IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM activity WHERE activity.member_id = member.id)",
        (member,),
    )
    conn.execute(
        "DELETE FROM channel WHERE id > ? "
        "AND NOT EXISTS (SELECT 1 FROM activity WHERE activity.channel_id = channel.id)",
        (channel,),
    )
    conn.execute("DELETE FROM cursor WHERE key = ?", (key,))


def _check_store_path(p: Path, readonly: bool) -> None:
    """Refuse, with the real cause, a path SQLite would fail on obscurely (or silently)."""
    try:
        st = p.stat()
    except FileNotFoundError:
        if readonly:
            raise CockpitError(
                f"{p}: no store here yet (import an export or run `cockpit collect` first)"
            ) from None
        return
    except OSError as exc:  # a parent that is a file, a path too long, no permission
        raise CockpitError(f"{p}: cannot use this path as a store ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise CockpitError(f"{p}: is a directory, not a store file (name a file inside it)")
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "not a regular file"
        )
        raise CockpitError(f"{p}: is {kind}, not a store file")
    # A writer needs the file and its directory (for the -wal and -shm files) writable;
    # SQLite would otherwise open read-only and fail at the first write.
    try:
        os.close(os.open(p, os.O_RDWR if not readonly else os.O_RDONLY))
    except OSError as exc:
        why = (
            "read-only or immutable file"
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
            else "cannot open it"
        )
        raise CockpitError(
            f"{p}: cannot {'read' if readonly else 'write'} the store ({exc.strerror}: {why})"
        ) from None
    if not os.access(p.parent, os.W_OK | os.X_OK) and not readonly:
        raise CockpitError(
            f"{p}: the directory {p.parent} is not writable (the store needs its -wal and -shm files there)"
        )


async def _foreign_tables(conn: aiosqlite.Connection) -> list[str]:
    """Tables in an unversioned database: another application's if there are any."""
    rows = await (
        await conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name LIMIT 6"
        )
    ).fetchall()
    return [str(r[0]) for r in rows]


def _foreign_message(p: Path, tables: list[str]) -> str:
    listed = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
    return (
        f"{p}: not a cockpit store: an SQLite database of another application "
        f"(tables {listed}); choose another --db path"
    )


async def _switch_to_wal(conn: aiosqlite.Connection) -> Any:
    """PRAGMA journal_mode = WAL, waiting out another process that is creating the same store
    (the switch answers "locked" at once instead of using the busy timeout)."""
    for attempt in range(100):
        try:
            return await (await conn.execute("PRAGMA journal_mode = WAL")).fetchone()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            await asyncio.sleep(0.05)
    return None


async def _apply(
    conn: aiosqlite.Connection,
    script: str,
    probe: str,
    probe_params: tuple[Any, ...],
    number: int,
    mark: str,
    params: tuple[Any, ...],
) -> None:
    """Migration `number` and its version mark in one transaction; skipped when another
    process opening the same store got there first (the version is read under the lock)."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        row = await (await conn.execute(probe, probe_params)).fetchone()
        if row is not None and int(row[0]) > number:
            await conn.execute("COMMIT")
            return
        # executescript would commit first; run statement by statement inside the transaction
        for statement in _split_sql(script):
            await conn.execute(statement)
        await conn.execute(mark, params)
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buf: list[str] = []
    for line in script.splitlines():
        buf.append(line)
        joined = "\n".join(buf).strip()
        if not joined:
            buf = []
            continue
        if sqlite3.complete_statement(joined):
            statements.append(joined)
            buf = []
    tail = "\n".join(buf).strip()
    if tail:
        statements.append(tail)
    return statements
