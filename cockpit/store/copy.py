"""`cockpit store copy FROM TO`: move a whole store to another (SQLite file or PostgreSQL
URL, either way), table by table, rows and ids unchanged.

Resumable and exactly once: each page of a table is inserted in one transaction with the
key it reached (in a `store_copy` table on the target), so a copy stopped at any instant
goes on after the last committed page, and a page is never inserted twice (conflicts are
skipped too). At the end every table's count is compared; the progress table is dropped
only when they all match. The source must not be written meanwhile (stop the collector).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cockpit.errors import CockpitError
from cockpit.store import open_store
from cockpit.store.base import Store
from cockpit.store.postgres import PostgresStore, fts
from cockpit.store.sqlite import SQLiteStore

PAGE = 5000
# tables every backend keeps for itself: never copied
_OWN = {"feature_schema", "cockpit_schema", "sqlite_sequence", "store_copy", "sqlite_stat1"}
_FIRST = ["community", "channel", "member", "import_file", "activity", "cal_event"]
_PROGRESS = (
    "CREATE TABLE IF NOT EXISTS store_copy (tbl TEXT PRIMARY KEY, source TEXT NOT NULL, "
    "last_key TEXT, done INTEGER NOT NULL DEFAULT 0, copied BIGINT NOT NULL DEFAULT 0)"
)


@dataclass(frozen=True, slots=True)
class TableReport:
    table: str
    source: int
    target: int
    copied: int  # by this run


class _Side:
    """Raw table access to one store, for the copy only (inside cockpit/store)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pg = isinstance(store, PostgresStore)
        self.mark = "%s" if self.pg else "?"

    async def rows(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        if isinstance(self.store, PostgresStore):
            return await self.store.fetchall(query.replace("?", "%s"), params)
        assert isinstance(self.store, SQLiteStore)
        return await self.store.fetchall(query, params)

    async def tables(self) -> list[str]:
        if self.pg:
            found = await self.rows(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        else:
            found = await self.rows(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE "
                "'CREATE VIRTUAL%' AND name NOT LIKE 'activity_fts%'"
            )
        return [str(r[0]) for r in found if r[0] not in _OWN]

    async def columns(self, table: str) -> list[str]:
        if self.pg:
            found = await self.rows(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "AND table_schema = current_schema() ORDER BY ordinal_position",
                (table,),
            )
            return [str(r[0]) for r in found]
        return [str(r[1]) for r in await self.rows(f'PRAGMA table_info("{table}")')]

    async def key(self, table: str) -> list[str]:
        """The primary key's columns, in order ([] when the table has none)."""
        if self.pg:
            found = await self.rows(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = ?::regclass AND i.indisprimary "
                "ORDER BY array_position(i.indkey, a.attnum)",
                (table,),
            )
            return [str(r[0]) for r in found]
        info = await self.rows(f'PRAGMA table_info("{table}")')
        return [str(r[1]) for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]

    async def count(self, table: str) -> int:
        return int((await self.rows(f'SELECT count(*) FROM "{table}"'))[0][0])

    async def page(
        self, table: str, cols: list[str], key: list[str], after: list[Any] | None
    ) -> list[Any]:
        names = ", ".join(f'"{c}"' for c in cols)
        order = ", ".join(f'"{c}"' for c in key)
        query = f'SELECT {names} FROM "{table}"'
        params: list[Any] = []
        if after is not None:
            query += f" WHERE ({order}) > ({', '.join('?' * len(key))})"
            params.extend(after)
        query += f" ORDER BY {order} LIMIT {PAGE}"
        return await self.rows(query, params)

    async def write(
        self,
        table: str,
        cols: list[str],
        rows: list[Any],
        progress: tuple[str, str | None, int, int],
        replace: bool = False,
    ) -> None:
        """Insert `rows` (conflicts skipped) and record `progress` in one transaction."""
        names = ", ".join(f'"{c}"' for c in cols)
        tbl, last_key, done, n = progress
        if isinstance(self.store, PostgresStore):
            pg_cols = cols + (["fts"] if table == "activity" else [])
            text_at = cols.index("text") if table == "activity" else -1

            async def run(conn: Any) -> None:
                if replace:
                    await conn.execute(f'DELETE FROM "{table}"')
                await conn.execute(
                    f'CREATE TEMP TABLE IF NOT EXISTS "copy_{table}" (LIKE "{table}") '
                    "ON COMMIT DROP"
                )
                col_list = ", ".join(f'"{c}"' for c in pg_cols)
                async with (
                    conn.cursor() as cur,
                    cur.copy(f'COPY "copy_{table}" ({col_list}) FROM STDIN') as cp,
                ):
                    for r in rows:
                        if text_at >= 0:
                            r = (*r, fts.tsvector(r[text_at]) if r[text_at] else None)
                        await cp.write_row(r)
                await conn.execute(
                    f'INSERT INTO "{table}" ({col_list}) SELECT {col_list} FROM "copy_{table}" '
                    "ON CONFLICT DO NOTHING"
                )
                await conn.execute(
                    "INSERT INTO store_copy (tbl, source, last_key, done, copied) "
                    "VALUES (%s, '', %s, %s, %s) ON CONFLICT (tbl) DO UPDATE SET "
                    "last_key = excluded.last_key, done = excluded.done, "
                    "copied = store_copy.copied + excluded.copied",
                    (tbl, last_key, done, n),
                )

            await self.store.transaction(run)
            return
        assert isinstance(self.store, SQLiteStore)
        marks = ", ".join("?" * len(cols))

        def run_sqlite(conn: sqlite3.Connection) -> None:
            if replace:
                conn.execute(f'DELETE FROM "{table}"')
            conn.executemany(f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({marks})', rows)
            if table == "activity" and rows:
                at = cols.index("id")
                conn.executemany(
                    "INSERT INTO activity_fts (rowid, text) SELECT id, text FROM activity "
                    "WHERE id = ? AND text != ''",
                    [(r[at],) for r in rows],
                )
            conn.execute(
                "INSERT INTO store_copy (tbl, source, last_key, done, copied) "
                "VALUES (?, '', ?, ?, ?) ON CONFLICT (tbl) DO UPDATE SET "
                "last_key = excluded.last_key, done = excluded.done, "
                "copied = store_copy.copied + excluded.copied",
                (tbl, last_key, done, n),
            )

        await self.store.transaction(run_sqlite)

    async def execute(self, query: str, params: Sequence[Any] = ()) -> None:
        if isinstance(self.store, PostgresStore):

            async def run(conn: Any) -> None:
                await conn.execute(query.replace("?", "%s"), params)

            await self.store.transaction(run)
            return
        assert isinstance(self.store, SQLiteStore)
        await self.store.transaction(lambda conn: conn.execute(query, params))

    async def settle(self) -> None:
        """After the copy: identity sequences past the copied ids (PostgreSQL)."""
        if not self.pg:
            return
        for table in await self.tables():
            if "id" in await self.key(table):
                seq = await self.rows("SELECT pg_get_serial_sequence(?, 'id')", (table,))
                if seq and seq[0][0]:
                    await self.rows(
                        f'SELECT setval(?, coalesce((SELECT max(id) FROM "{table}"), 0) + 1, '
                        "false)",
                        (seq[0][0],),
                    )


def _order(tables: list[str]) -> list[str]:
    """Parents before the tables that refer to them."""
    return [t for t in _FIRST if t in tables] + sorted(t for t in tables if t not in _FIRST)


async def copy_store(
    source: str | Path, target: str | Path, progress: Callable[[str], None] = lambda _: None
) -> list[TableReport]:
    """Copy every table of `source` into `target`; the per-table counts, verified."""
    src_store = await open_store(source, readonly=True)
    try:
        dst_store = await open_store(target)
    except BaseException:
        await src_store.close()
        raise
    try:
        return await _copy(_Side(src_store), _Side(dst_store), src_store.path, progress)
    finally:
        await dst_store.close()
        await src_store.close()


async def _copy(
    src: _Side, dst: _Side, name: str, progress: Callable[[str], None]
) -> list[TableReport]:
    await dst.execute(_PROGRESS)
    state = {
        str(r[0]): (r[1], r[2], int(r[3]))
        for r in await dst.rows("SELECT tbl, source, last_key, done FROM store_copy")
    }
    if not state and (await dst.rows("SELECT count(*) FROM activity"))[0][0]:
        raise CockpitError(
            f"{dst.store.path}: the target store already holds activities "
            "(copy into a new, empty store)"
        )
    if not state:
        await dst.execute("INSERT INTO store_copy (tbl, source, done) VALUES ('*', ?, 0)", (name,))
    elif state.get("*", ("",))[0] != name:
        raise CockpitError(
            f"{dst.store.path}: an unfinished copy from {state.get('*', ('?',))[0]} is here, "
            f"not from {name}"
        )
    theirs = set(await dst.tables())
    tables = _order([t for t in await src.tables() if t in theirs])
    copied: dict[str, int] = {}
    for table in tables:
        _, last_key, done = state.get(table, ("", None, 0))
        copied[table] = 0
        if done:
            continue
        cols = [c for c in await src.columns(table) if c in set(await dst.columns(table))]
        key = await src.key(table)
        if not key:  # no key to page by (small tables): replaced whole, in one transaction
            rows = await src.rows(f'SELECT {", ".join(cols)} FROM "{table}"')
            await dst.write(table, cols, rows, (table, None, 1, len(rows)), replace=True)
            copied[table] = len(rows)
            continue
        at = [cols.index(k) for k in key]
        after = orjson.loads(last_key) if last_key else None
        while True:
            rows = await src.page(table, cols, key, after)
            if not rows:
                await dst.execute("UPDATE store_copy SET done = 1 WHERE tbl = ?", (table,))
                break
            after = [rows[-1][i] for i in at]
            mark = orjson.dumps(after).decode()
            await dst.write(table, cols, rows, (table, mark, 0, len(rows)))
            copied[table] += len(rows)
            progress(f"{table}: {copied[table]} rows")
    await dst.settle()
    reports = [TableReport(t, await src.count(t), await dst.count(t), copied[t]) for t in tables]
    wrong = [r for r in reports if r.source != r.target]
    if wrong:
        listed = ", ".join(f"{r.table} {r.source} -> {r.target}" for r in wrong)
        raise CockpitError(
            f"{dst.store.path}: counts differ after the copy ({listed}); "
            "was the source written meanwhile?"
        )
    await dst.execute("DROP TABLE store_copy")
    return reports
