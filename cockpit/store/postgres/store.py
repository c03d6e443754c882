"""The PostgreSQL store: pooled psycopg 3 (async) connections, the same semantics as SQLite.

All PostgreSQL-specific SQL of the core lives here and in `schema.py`; each feature's in its
own module of this package. Writes of activities take one advisory lock per transaction, so
row ids commit in id order: the rollups' high-water marks (scoring, calendar) and the alert
engine's id ranges then never skip a row that a slower concurrent writer committed later.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
import psycopg
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from cockpit.errors import CockpitError, StoreError
from cockpit.model import Kind, Quarantined, Record
from cockpit.store import redact_url
from cockpit.store.base import (
    ActivityRow,
    ChannelRow,
    FeedQuery,
    ImportRecord,
    MemberRow,
    Store,
    StoreStats,
    WriteResult,
)
from cockpit.store.lease import Lease
from cockpit.store.postgres import fts
from cockpit.store.postgres.schema import MIGRATIONS
from cockpit.store.sqlite import SQLiteStore
from cockpit.timeutil import from_ms, to_ms, utcnow

if TYPE_CHECKING:  # the feature modules import this one
    from cockpit.scoring.config import ScoringSettings
    from cockpit.store.postgres.alerts import PgAlertStore
    from cockpit.store.postgres.calendar import PgCalendarStore
    from cockpit.store.postgres.collect import PgHealthStore
    from cockpit.store.postgres.moderation import PgModeration
    from cockpit.store.postgres.scoring import PgIdentityStore, PgScoringStore

T = TypeVar("T")
Conn = AsyncConnection[Any]

CHANNEL = "cockpit_changes"  # NOTIFY channel: payload "activity:<last id>" or "alert"
_MIGRATE_LOCK = 0x636B_6D69  # pg_advisory_xact_lock keys ("ckmi", "ckwr")
_WRITE_LOCK = 0x636B_7772
_RAW_LIMIT = 4096
_CACHE_LIMIT = 200_000
COPY_THRESHOLD = 2000
ANALYZE_AFTER = 100_000  # rows an import added before the planner's statistics are renewed  # batches this big (and every import batch) go in by COPY

_COLUMNS = (
    "community_id, platform, source_id, kind, ts, channel_id, member_id, text, reply_to, "
    "thread, mentions, attachments, reactions, edited_ts, deleted, extras, import_id, fts"
)
_TYPES = (
    "bigint",
    "text",
    "text",
    "text",
    "bigint",
    "bigint",
    "bigint",
    "text",
    "text",
    "text",
    "text",
    "int",
    "int",
    "bigint",
    "int",
    "text",
    "bigint",
    "tsvector",
)
_UNNEST = "SELECT * FROM unnest(" + ", ".join(f"%s::{t}[]" for t in _TYPES) + ")"
_STAGE = "stage_activity"
_STAGE_DDL = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (cat int, seq int, "
    + ", ".join(f"{c.strip()} {t}" for c, t in zip(_COLUMNS.split(","), _TYPES, strict=True))
    + ") ON COMMIT DELETE ROWS"
)

# The three kinds of row a batch holds, as in the SQLite store: a message seen again takes a
# newer edit and a higher reaction count; an edit updates (or stands in for an unknown
# message); a delete marks the message and leaves a tombstone for an unknown one.
_CONFLICT = (
    """ON CONFLICT (platform, source_id) DO UPDATE SET
    text = CASE WHEN excluded.edited_ts > coalesce(activity.edited_ts, -1)
                THEN excluded.text ELSE activity.text END,
    fts = CASE WHEN excluded.edited_ts > coalesce(activity.edited_ts, -1)
               THEN excluded.fts ELSE activity.fts END,
    edited_ts = CASE WHEN excluded.edited_ts > coalesce(activity.edited_ts, -1)
                     THEN excluded.edited_ts ELSE activity.edited_ts END,
    reactions = greatest(activity.reactions, excluded.reactions)
WHERE excluded.edited_ts > coalesce(activity.edited_ts, -1)
   OR excluded.reactions > activity.reactions""",
    """ON CONFLICT (platform, source_id) DO UPDATE SET
    text = excluded.text, fts = excluded.fts, edited_ts = excluded.edited_ts
WHERE excluded.edited_ts >= coalesce(activity.edited_ts, -1) AND excluded.text != activity.text""",
    """ON CONFLICT (platform, source_id) DO UPDATE SET deleted = 1
WHERE activity.deleted = 0""",
)
_RETURNING = " RETURNING id, member_id, ts, (xmax = 0) AS fresh"


def _counted(insert: str) -> str:
    """An activity upsert that also counts the new rows into their members, in the same
    statement; answers (new rows, rows changed, first new id, last new id)."""
    return (
        f"WITH ins AS ({insert}{_RETURNING}), "
        "agg AS (SELECT member_id, count(*) AS c, min(ts) AS lo, max(ts) AS hi FROM ins "
        "WHERE fresh GROUP BY member_id), "
        "upd AS (UPDATE member m SET activity_count = m.activity_count + agg.c, "
        "first_seen = least(coalesce(m.first_seen, agg.lo), agg.lo), "
        "last_seen = greatest(coalesce(m.last_seen, agg.hi), agg.hi) "
        "FROM agg WHERE m.id = agg.member_id) "
        "SELECT count(*) FILTER (WHERE fresh), count(*), min(id) FILTER (WHERE fresh), "
        "max(id) FILTER (WHERE fresh) FROM ins"
    )


UPSERT_MEMBERS = """
INSERT INTO member AS m (community_id, platform, platform_user_id, handle, display_name, is_bot,
                         first_seen, last_seen)
SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::int[],
                     %s::bigint[], %s::bigint[])
ON CONFLICT (community_id, platform, platform_user_id) DO UPDATE SET
    handle = CASE WHEN excluded.last_seen >= coalesce(m.last_seen, 0)
                  THEN coalesce(excluded.handle, m.handle) ELSE m.handle END,
    display_name = CASE
        WHEN excluded.display_name = excluded.platform_user_id
             AND m.display_name != m.platform_user_id THEN m.display_name
        WHEN excluded.last_seen >= coalesce(m.last_seen, 0) THEN excluded.display_name
        ELSE m.display_name END,
    is_bot = greatest(m.is_bot, excluded.is_bot),
    first_seen = least(coalesce(m.first_seen, excluded.first_seen), excluded.first_seen),
    last_seen = greatest(coalesce(m.last_seen, excluded.last_seen), excluded.last_seen)
RETURNING id, community_id, platform, platform_user_id, display_name, handle, is_bot
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


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def now_ms() -> int:
    return to_ms(utcnow())


class PostgresStore(Store):
    """A store in a PostgreSQL database. Open with `await PostgresStore.open(url)`."""

    def __init__(
        self,
        url: str,
        pool: AsyncConnectionPool[Conn],
        readonly: bool,
        clock: Callable[[], datetime],
    ) -> None:
        self.path = redact_url(url)
        self.url = url
        self.pool = pool
        self.readonly = readonly
        self.clock = clock
        self._alerts: PgAlertStore | None = None
        self._calendar: PgCalendarStore | None = None
        self._identity: PgIdentityStore | None = None
        self._moderation: PgModeration | None = None
        self._health: PgHealthStore | None = None
        self._communities: dict[str, int] = {}
        self._channels: dict[tuple[str, str, str], tuple[int, str]] = {}
        self._members: dict[tuple[str, str, str], tuple[int, str, str | None, int]] = {}

    # ----------------------------------------------------------------- opening

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        readonly: bool = False,
        clock: Callable[[], datetime] = utcnow,
        max_size: int = 4,
    ) -> PostgresStore:
        options = "-c default_transaction_read_only=on" if readonly else ""
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True, "options": options},
            name="cockpit",
        )
        try:
            await pool.open(wait=True, timeout=15)
        except (psycopg.Error, PoolTimeout) as exc:
            await pool.close()
            raise CockpitError(f"{redact_url(url)}: cannot connect ({_first_line(exc)})") from None
        store = cls(url, pool, readonly, clock)
        try:
            if readonly:
                await store._check_schema()
            else:
                await store._migrate()
        except BaseException:
            await pool.close()
            raise
        return store

    async def _versions(self, conn: Conn) -> dict[str, int]:
        cur = await conn.execute("SELECT to_regclass('cockpit_schema') IS NOT NULL")
        row = await cur.fetchone()
        if not row or not row[0]:
            return {}
        cur = await conn.execute("SELECT feature, version FROM cockpit_schema")
        return {str(f): int(v) for f, v in await cur.fetchall()}

    async def _check_schema(self) -> None:
        async with self._connection() as conn:
            have = await self._versions(conn)
        for feature, scripts in MIGRATIONS.items():
            version = have.get(feature, 0)
            if version != len(scripts):
                hint = (
                    " (open it once with a writing command to migrate)"
                    if version < len(scripts)
                    else ""
                )
                raise CockpitError(
                    f"{self.path}: store schema {feature} v{version}, this cockpit reads "
                    f"v{len(scripts)}{hint}"
                )

    async def _migrate(self) -> None:
        """Every pending migration in one transaction, under an advisory lock: a second
        process starting at the same moment waits, then finds nothing left to do. A store
        already current is only read, so roles that may not create tables (the README's
        read-only and moderators' roles) open it too."""
        try:
            async with self._connection() as conn:
                have = await self._versions(conn)
            if all(have.get(f, 0) == len(scripts) for f, scripts in MIGRATIONS.items()):
                return
            async with self._connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS cockpit_schema "
                    "(feature TEXT PRIMARY KEY, version INTEGER NOT NULL)"
                )
                have = await self._versions(conn)
                for feature, scripts in MIGRATIONS.items():
                    version = have.get(feature, 0)
                    if version > len(scripts):
                        raise CockpitError(
                            f"{self.path}: the {feature} tables are v{version}, written by a "
                            f"newer cockpit (this one knows v{len(scripts)})"
                        )
                    for script in scripts[version:]:
                        await conn.execute(script)
                    if version < len(scripts):
                        await conn.execute(
                            "INSERT INTO cockpit_schema (feature, version) VALUES (%s, %s) "
                            "ON CONFLICT (feature) DO UPDATE SET version = excluded.version",
                            (feature, len(scripts)),
                        )
        except psycopg.Error as exc:
            raise CockpitError(
                f"{self.path}: cannot prepare the store ({_first_line(exc)})"
            ) from None

    async def close(self) -> None:
        await self.pool.close()

    # ------------------------------------------------------ feature repositories

    @property
    def writable(self) -> bool:
        return not self.readonly

    @property
    def alerts(self) -> PgAlertStore:
        from cockpit.store.postgres.alerts import PgAlertStore

        if self._alerts is None:
            self._alerts = PgAlertStore(self)
        return self._alerts

    @property
    def calendar(self) -> PgCalendarStore:
        from cockpit.store.postgres.calendar import PgCalendarStore

        if self._calendar is None:
            self._calendar = PgCalendarStore(self, self.clock)
        return self._calendar

    @property
    def moderation(self) -> PgModeration:
        from cockpit.store.postgres.moderation import PgModeration

        if self._moderation is None:
            self._moderation = PgModeration(self)
        return self._moderation

    @property
    def identity(self) -> PgIdentityStore:
        from cockpit.store.postgres.scoring import PgIdentityStore

        if self._identity is None:
            self._identity = PgIdentityStore(self, self.clock)
        return self._identity

    @property
    def health(self) -> PgHealthStore:
        from cockpit.store.postgres.collect import PgHealthStore

        if self._health is None:
            self._health = PgHealthStore(self)
        return self._health

    def scoring(self, settings: ScoringSettings | None = None) -> PgScoringStore:
        from cockpit.store.postgres.scoring import PgScoringStore

        return PgScoringStore(self, settings, self.clock)

    # --------------------------------------------------------------- plumbing

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Conn]:
        """A pooled connection; the driver's errors leave as `StoreError`."""
        try:
            async with self.pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise StoreError(f"{self.path}: {_first_line(exc)}") from exc

    def _writable(self) -> None:
        if self.readonly:
            raise CockpitError(f"{self.path}: opened read-only")

    async def transaction(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """Run `fn(conn)` in one transaction on a pooled connection (rolled back on error)."""
        self._writable()
        async with self._connection() as conn, conn.transaction():
            return await fn(conn)

    async def fetchall(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of a read query (`%s` placeholders)."""
        async with self._connection() as conn:
            cur = await conn.execute(query, params)
            return list(await cur.fetchall())

    async def notify(self, conn: Conn, payload: str) -> None:
        """Tell attached cockpits (LISTEN) that something changed, on commit of `conn`'s
        transaction."""
        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    async def changes(self, interval: float = 0.5) -> AsyncGenerator[str, None]:
        """Payloads of committed changes as they happen ("activity:<last id>", "alert"), on a
        connection of its own: an attached TUI waits on this instead of polling."""
        conn = await AsyncConnection.connect(self.url, autocommit=True)
        try:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
            async for note in conn.notifies():
                yield note.payload
        finally:
            await conn.close()

    async def wait_for_change(self, timeout: float) -> str | None:
        """The next change's payload, or None after `timeout` seconds without one."""
        gen = self.changes()
        try:
            return await asyncio.wait_for(anext(gen), timeout)
        except TimeoutError:
            return None
        finally:
            await gen.aclose()

    # ------------------------------------------------------------------ leases

    async def lease(self, name: str, holder: str, ttl: timedelta) -> Lease | None:
        """Take or renew the lease `name` for `holder` until now + ttl; None while another
        holder's lease runs. A new holder (or a re-take after expiry) gets a higher token."""
        self._writable()
        now = to_ms(self.clock())
        until = now + int(ttl.total_seconds() * 1000)
        async with self._connection() as conn:
            cur = await conn.execute(
                "INSERT INTO lease AS l (name, holder, token, expires) VALUES (%s, %s, 1, %s) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "token = CASE WHEN l.holder = excluded.holder AND l.expires > %s THEN l.token "
                "ELSE l.token + 1 END, expires = excluded.expires "
                "WHERE l.holder = excluded.holder OR l.expires <= %s RETURNING token",
                (name, holder, until, now, now),
            )
            row = await cur.fetchone()
        return Lease(name, holder, int(row[0]), from_ms(until)) if row else None

    async def release(self, lease: Lease) -> None:
        """Give a lease up at once (the token stays, so the next holder's is higher)."""
        self._writable()
        async with self._connection() as conn:
            await conn.execute(
                "UPDATE lease SET expires = 0 WHERE name = %s AND holder = %s AND token = %s",
                (lease.name, lease.holder, lease.token),
            )

    async def leases(self) -> list[Lease]:
        rows = await self.fetchall("SELECT name, holder, token, expires FROM lease ORDER BY name")
        return [Lease(r[0], r[1], int(r[2]), from_ms(int(r[3]))) for r in rows]

    async def lease_current(self, lease: Lease) -> bool:
        """Whether `lease` still holds (same token, not expired): check before acting."""
        rows = await self.fetchall(
            "SELECT 1 FROM lease WHERE name = %s AND token = %s AND expires > %s",
            (lease.name, lease.token, to_ms(self.clock())),
        )
        return bool(rows)

    # ------------------------------------------------------------------ writes

    @staticmethod
    def prepare(records: Sequence[Record]) -> Any:
        """The SQLite store's validation and rows, each with its full-text lexemes added:
        an import runs this in its parser process, away from the writer."""
        batch = SQLiteStore.prepare(records)
        for rows in batch.rows:
            for r in rows:
                r.append(fts.tsvector(r[7]) if r[7] else None)
        return batch

    async def write(
        self,
        records: Sequence[Record],
        cursors: Sequence[tuple[str, str]] = (),
        import_id: int | None = None,
        import_position: int | None = None,
    ) -> WriteResult:
        return await self.write_prepared(self.prepare(records), cursors, import_id, import_position)

    async def write_prepared(
        self,
        prepared: Any,
        cursors: Sequence[tuple[str, str]] = (),
        import_id: int | None = None,
        import_position: int | None = None,
    ) -> WriteResult:
        self._writable()
        batch = prepared
        try:
            async with self._connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
                result = await self._store_activities(conn, batch, import_id)
                now = now_ms()
                quarantined: list[Quarantined] = batch.quarantined
                if quarantined:
                    async with conn.cursor() as cur:
                        await cur.executemany(
                            "INSERT INTO quarantine (received, platform, origin, position, reason, "
                            "raw, import_id) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                            "ON CONFLICT DO NOTHING",
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
                                for q in quarantined
                            ],
                        )
                result = WriteResult(
                    result.new, result.duplicate, result.updated, len(quarantined), result.new_ids
                )
                if cursors:
                    await conn.execute(
                        "INSERT INTO cursor (key, value, updated) "
                        "SELECT k, v, %s FROM unnest(%s::text[], %s::text[]) AS c(k, v) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                        "updated = excluded.updated",
                        (now, [k for k, _ in cursors], [v for _, v in cursors]),
                    )
                if import_id is not None and result.new_ids is not None:
                    await conn.execute(
                        "INSERT INTO import_range (import_id, first_id, last_id) "
                        "VALUES (%s, %s, %s)",
                        (import_id, *result.new_ids),
                    )
                if import_id is not None:
                    await conn.execute(
                        "UPDATE import_file SET position = coalesce(%s, position), "
                        "new = new + %s, duplicate = duplicate + %s, updated = updated + %s, "
                        "quarantined = quarantined + %s WHERE id = %s",
                        (
                            import_position,
                            result.new,
                            result.duplicate,
                            result.updated,
                            result.quarantined,
                            import_id,
                        ),
                    )
                if result.new_ids is not None:
                    await self.notify(conn, f"activity:{result.new_ids[1]}")
        except BaseException:
            # what the rolled-back transaction added is not in the store after all
            self._communities.clear()
            self._channels.clear()
            self._members.clear()
            raise
        return result

    async def _store_activities(self, conn: Conn, batch: Any, import_id: int | None) -> WriteResult:
        if not batch.count:
            return WriteResult()
        await self._upsert_owners(conn, batch)
        communities, channels, members = self._communities, self._channels, self._members
        payloads: list[list[list[Any]]] = []
        for rows in batch.rows:
            out = []
            for r in rows:
                name, platform = r[0], r[1]
                out.append(
                    [
                        communities[name],
                        platform,
                        r[2],
                        r[3],
                        r[4],
                        channels[(name, platform, r[5])][0],
                        members[(name, platform, r[6])][0],
                        *r[7:16],
                        import_id,
                        r[17] if len(r) > 17 else (fts.tsvector(r[7]) if r[7] else None),
                    ]
                )
            payloads.append(out)
        bulk = import_id is not None or sum(map(len, payloads)) >= COPY_THRESHOLD
        returned: list[tuple[int, int, int | None, int | None]] = []
        if bulk:
            await conn.execute(_STAGE_DDL)
            async with conn.cursor() as cur:
                async with cur.copy(f"COPY {_STAGE} (cat, seq, {_COLUMNS}) FROM STDIN") as copy:
                    for cat, rows in enumerate(payloads):
                        for seq, row in enumerate(rows):
                            await copy.write_row((cat, seq, *row))
                for cat, rows in enumerate(payloads):
                    if rows:
                        await cur.execute(
                            _counted(
                                f"INSERT INTO activity AS activity ({_COLUMNS}) "
                                f"SELECT {_COLUMNS} FROM {_STAGE} WHERE cat = %s ORDER BY seq "
                                + _CONFLICT[cat]
                            ),
                            (cat,),
                        )
                        returned.extend(await cur.fetchall())
                await cur.execute(f"TRUNCATE {_STAGE}")
        else:
            for cat, rows in enumerate(payloads):
                if rows:
                    columns = [list(c) for c in zip(*rows, strict=True)]
                    cur = await conn.execute(
                        _counted(
                            f"INSERT INTO activity AS activity ({_COLUMNS}) {_UNNEST} "
                            + _CONFLICT[cat]
                        ),
                        columns,
                    )
                    returned.extend(await cur.fetchall())
        new = sum(int(r[0]) for r in returned)
        changed = sum(int(r[1]) for r in returned)
        firsts = [r[2] for r in returned if r[2] is not None]
        lasts = [r[3] for r in returned if r[3] is not None]
        updated = min(max(0, changed - new), batch.count - new)
        return WriteResult(
            new=new,
            duplicate=batch.count - new - updated,
            updated=updated,
            new_ids=(int(min(firsts)), int(max(lasts))) if new else None,
        )

    async def _upsert_owners(self, conn: Conn, batch: Any) -> None:
        """Communities, channels and members the batch names, with their ids in the caches;
        only what is new or renamed costs a row in a statement."""
        for name in sorted(batch.communities):
            if name not in self._communities:
                cur = await conn.execute(
                    "INSERT INTO community (name) VALUES (%s) ON CONFLICT (name) DO UPDATE "
                    "SET name = excluded.name RETURNING id",
                    (name,),
                )
                row = await cur.fetchone()
                assert row is not None
                self._communities[name] = int(row[0])
        if len(self._channels) > _CACHE_LIMIT:
            self._channels.clear()
        pending = [
            (key, name)
            for key, name in sorted(batch.channels.items())
            if (known := self._channels.get(key)) is None or known[1] != name
        ]
        if pending:
            cur = await conn.execute(
                "INSERT INTO channel AS ch (community_id, platform, source_id, name) "
                "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[]) "
                "ON CONFLICT (community_id, platform, source_id) DO UPDATE SET "
                "name = CASE WHEN excluded.name != excluded.source_id THEN excluded.name "
                "ELSE ch.name END RETURNING id, community_id, platform, source_id",
                (
                    [self._communities[k[0]] for k, _ in pending],
                    [k[1] for k, _ in pending],
                    [k[2] for k, _ in pending],
                    [n for _, n in pending],
                ),
            )
            ids = {(int(r[1]), r[2], r[3]): int(r[0]) for r in await cur.fetchall()}
            for key, name in pending:
                self._channels[key] = (ids[(self._communities[key[0]], key[1], key[2])], name)
        if len(self._members) > _CACHE_LIMIT:
            self._members.clear()
        changed = []
        for key, (handle, name, bot, lo, hi) in sorted(batch.members.items()):
            member = self._members.get(key)
            if (
                member is None
                or (member[1] != name and name != key[2])
                or (handle and member[2] != handle)
                or bot > member[3]
            ):
                changed.append(
                    (key, (self._communities[key[0]], *key[1:], handle, name, bot, lo, hi))
                )
        if changed:
            columns = [list(c) for c in zip(*(v for _, v in changed), strict=True)]
            cur = await conn.execute(UPSERT_MEMBERS, columns)
            back = {(int(r[1]), r[2], r[3]): r for r in await cur.fetchall()}
            for key, values in changed:
                r = back[(values[0], values[1], values[2])]
                self._members[key] = (int(r[0]), r[4], r[5], int(r[6]))

    async def get_cursor(self, key: str) -> str | None:
        rows = await self.fetchall("SELECT value FROM cursor WHERE key = %s", (key,))
        return str(rows[0][0]) if rows else None

    async def begin_import(self, fingerprint: str, path: str, fmt: str) -> ImportRecord:
        async def run(conn: Conn) -> ImportRecord:
            now = now_ms()
            # insert-or-find in one statement: two importers of one file meet on the row
            cur = await conn.execute(
                "INSERT INTO import_file (fingerprint, path, format, state, started) "
                "VALUES (%s, %s, %s, 'running', %s) ON CONFLICT (fingerprint) DO NOTHING "
                "RETURNING id",
                (fingerprint, path, fmt, now),
            )
            made = await cur.fetchone()
            if made is not None:
                return ImportRecord(int(made[0]), fingerprint, path, fmt, "running", 0)
            cur = await conn.execute(
                "SELECT id, state, position, new, duplicate, updated, quarantined "
                "FROM import_file WHERE fingerprint = %s FOR UPDATE",
                (fingerprint,),
            )
            row = await cur.fetchone()
            assert row is not None
            if row[1] == "refused":
                await conn.execute(
                    "UPDATE import_file SET state = 'running', position = 0, new = 0, "
                    "duplicate = 0, updated = 0, quarantined = 0, path = %s, started = %s, "
                    "reason = NULL WHERE id = %s",
                    (path, now, row[0]),
                )
                return ImportRecord(int(row[0]), fingerprint, path, fmt, "running", 0)
            return ImportRecord(
                int(row[0]),
                fingerprint,
                path,
                fmt,
                row[1],
                int(row[2]),
                WriteResult(int(row[3]), int(row[4]), int(row[5]), int(row[6])),
            )

        return await self.transaction(run)

    async def finish_import(self, import_id: int, counts: WriteResult) -> None:
        self._writable()
        async with self._connection() as conn:
            await conn.execute(
                "UPDATE import_file SET state = 'done', finished = %s WHERE id = %s",
                (now_ms(), import_id),
            )
            # a big import changes what the planner should expect; autovacuum would get
            # there later, the first reads after the import should not wait for it
            if counts.new >= ANALYZE_AFTER:
                await conn.execute("ANALYZE")

    async def refuse_import(self, import_id: int, reason: str) -> int:
        async def run(conn: Conn) -> int:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
            cur = await conn.execute(
                "WITH gone AS (DELETE FROM activity a USING import_range r "
                "WHERE r.import_id = %s AND a.id BETWEEN r.first_id AND r.last_id "
                "AND a.import_id = %s RETURNING a.member_id), "
                "per AS (SELECT member_id, count(*) AS n FROM gone GROUP BY member_id), "
                "fix AS (UPDATE member m SET activity_count = greatest(0, m.activity_count - "
                "per.n) FROM per WHERE m.id = per.member_id) "
                "SELECT coalesce(sum(n), 0) FROM per",
                (import_id, import_id),
            )
            row = await cur.fetchone()
            await conn.execute("DELETE FROM import_range WHERE import_id = %s", (import_id,))
            await conn.execute("DELETE FROM quarantine WHERE import_id = %s", (import_id,))
            await conn.execute(
                "UPDATE import_file SET state = 'refused', position = 0, new = 0, "
                "duplicate = 0, updated = 0, quarantined = 0, reason = %s, finished = %s "
                "WHERE id = %s",
                (reason, now_ms(), import_id),
            )
            return int(row[0]) if row else 0

        try:
            return await self.transaction(run)
        finally:
            self._members.clear()

    # ------------------------------------------------------------------- reads

    async def feed(self, query: FeedQuery) -> list[ActivityRow]:
        where: list[str] = []
        params: list[Any] = []
        if query.since is not None:
            where.append("a.ts >= %s")
            params.append(to_ms(query.since))
        if query.until is not None:
            where.append("a.ts < %s")
            params.append(to_ms(query.until))
        if query.platforms:
            where.append("a.platform = ANY(%s)")
            params.append(list(query.platforms))
        if query.channels:
            where.append("(lower(ch.name) = ANY(%s) OR ch.source_id = ANY(%s))")
            params.append([c.lstrip("#").lower() for c in query.channels])
            params.append(list(query.channels))
        if query.member_ids:
            where.append("a.member_id = ANY(%s)")
            params.append(list(query.member_ids))
        if query.kinds:
            where.append("a.kind = ANY(%s)")
            params.append([k.value for k in query.kinds])
        if query.community:
            where.append("c.name = %s")
            params.append(query.community)
        if query.search:
            q = fts.tsquery(query.search)
            if not q:
                return []
            where.append("a.fts @@ %s::tsquery")
            params.append(q)
        if query.before is not None:
            ts_ms, row_id = to_ms(query.before[0]), query.before[1]
            where.append("(a.ts < %s OR (a.ts = %s AND a.id < %s))")
            params.extend((ts_ms, ts_ms, row_id))
        if query.after_id is not None:
            where.append("a.id > %s")
            params.append(query.after_id)
        text = _FEED_SELECT
        if where:
            text += " WHERE " + " AND ".join(where)
        text += " ORDER BY a.ts DESC, a.id DESC LIMIT %s"
        params.append(query.limit)
        return [_row_to_activity(r) for r in await self.fetchall(text, params)]

    async def activity(self, platform: str, source_id: str) -> ActivityRow | None:
        rows = await self.fetchall(
            _FEED_SELECT + " WHERE a.platform = %s AND a.source_id = %s", (platform, source_id)
        )
        return _row_to_activity(rows[0]) if rows else None

    async def members(
        self, community: str | None = None, platform: str | None = None, limit: int | None = None
    ) -> list[MemberRow]:
        where, params = [], []
        if community:
            where.append("c.name = %s")
            params.append(community)
        if platform:
            where.append("m.platform = %s")
            params.append(platform)
        text = _MEMBER_SELECT + (" WHERE " + " AND ".join(where) if where else "")
        text += " ORDER BY m.activity_count DESC, m.id"
        if limit is not None:
            text += f" LIMIT {int(limit)}"
        return [_row_to_member(r) for r in await self.fetchall(text, params)]

    async def find_members(self, term: str, community: str | None = None) -> list[MemberRow]:
        term = term.strip()
        handle = term.lstrip("@")
        text = _MEMBER_SELECT + (
            " WHERE (m.platform_user_id = %s OR lower(m.handle) = lower(%s)"
            " OR lower(m.display_name) = lower(%s) OR m.id::text = %s)"
        )
        params: list[Any] = [term, handle, term, term]
        if community:
            text += " AND c.name = %s"
            params.append(community)
        text += " ORDER BY m.activity_count DESC LIMIT 50"
        return [_row_to_member(r) for r in await self.fetchall(text, params)]

    async def channels(self, community: str | None = None) -> list[ChannelRow]:
        text = (
            "SELECT ch.id, c.name, ch.platform, ch.source_id, ch.name FROM channel ch "
            "JOIN community c ON c.id = ch.community_id"
        )
        params: list[Any] = []
        if community:
            text += " WHERE c.name = %s"
            params.append(community)
        text += ' ORDER BY ch.platform, ch.name COLLATE "C"'
        return [ChannelRow(*r) for r in await self.fetchall(text, params)]

    async def stats(self) -> StoreStats:
        rows = await self.fetchall(
            "SELECT (SELECT count(*) FROM activity), (SELECT count(*) FROM member), "
            "(SELECT count(*) FROM channel), (SELECT count(*) FROM community), "
            "(SELECT count(*) FROM quarantine), (SELECT max(ts) FROM activity)"
        )
        r = rows[0]
        return StoreStats(r[0], r[1], r[2], r[3], r[4], from_ms(r[5]) if r[5] is not None else None)

    async def quarantine(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self.fetchall(
            "SELECT received, platform, origin, position, reason, raw FROM quarantine "
            "ORDER BY id DESC LIMIT %s",
            (limit,),
        )
        keys = ("received", "platform", "origin", "position", "reason", "raw")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    async def max_activity_id(self) -> int:
        rows = await self.fetchall("SELECT coalesce(max(id), 0) FROM activity")
        return int(rows[0][0])

    async def member(self, member_id: int) -> MemberRow | None:
        rows = await self.fetchall(_MEMBER_SELECT + " WHERE m.id = %s", (member_id,))
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
        text = "SELECT (a.ts - %s) / %s AS b, count(*) FROM activity a"
        where: list[str] = ["a.ts >= %s"]
        params: list[Any] = [start, size, start]
        if community:
            text += " JOIN community c ON c.id = a.community_id"
            where.append("c.name = %s")
            params.append(community)
        if member_id is not None:
            where.append("a.member_id = %s")
            params.append(member_id)
        if platform:
            where.append("a.platform = %s")
            params.append(platform)
        text += " WHERE " + " AND ".join(where) + " GROUP BY b ORDER BY b"
        found = {int(b): int(n) for b, n in await self.fetchall(text, params)}
        last = max(found, default=-1)
        end = to_ms(until) if until is not None else now_ms()
        if until is not None:
            where_end = (end - start) // size
            found = {b: n for b, n in found.items() if b <= where_end}
            last = max(found, default=-1)
        now_bucket = max(last, (end - start) // size)
        return [(from_ms(start + i * size), found.get(i, 0)) for i in range(now_bucket + 1)]

    async def active_members(self, since: datetime, community: str | None = None) -> int:
        text = "SELECT count(DISTINCT a.member_id) FROM activity a"
        params: list[Any] = []
        if community:
            text += " JOIN community c ON c.id = a.community_id AND c.name = %s"
            params.append(community)
        text += " WHERE a.ts >= %s AND a.kind IN ('message', 'reaction')"
        params.append(to_ms(since))
        rows = await self.fetchall(text, params)
        return int(rows[0][0])

    async def integrity_check(self) -> str:
        """'ok' when the tables answer and the schema is current (PostgreSQL checks pages
        itself; there is no file to verify)."""
        try:
            await self.fetchall("SELECT count(*) FROM cockpit_schema")
        except psycopg.Error as exc:
            return _first_line(exc)
        return "ok"


def _loads(value: str | None, empty: Any) -> Any:
    return orjson.loads(value) if value else empty


def _row_to_activity(r: Sequence[Any]) -> ActivityRow:
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
        mentions=tuple(_loads(r[16], ())),
        attachments=r[17],
        reactions=r[18],
        edited_ts=from_ms(r[19]) if r[19] is not None else None,
        deleted=bool(r[20]),
        extras=_loads(r[21], {}),
    )


def _row_to_member(r: Sequence[Any]) -> MemberRow:
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
