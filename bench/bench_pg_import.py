"""Import into PostgreSQL through the store beside a plain COPY of the same rows into the
same tables, in the same run (budget: the store at >= 0.5x plain COPY's rate).

The store's side is `cockpit import` of a .jsonl file of the rows: parsed and prepared
(FTS lexemes included) in the parser process, then per batch of 10,000 one transaction:
COPY into a staging table, INSERT ... ON CONFLICT from it, member counts, import progress. The plain COPY gets its rows ready-made (ids resolved, lexemes computed) and only
loads them: it is the floor no import can beat.

Run: .venv/bin/python bench/bench_pg_import.py [--rows N] [--url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
from pgbench_server import server

from cockpit.importing import import_paths
from cockpit.model import Activity, Kind
from cockpit.registry import registry
from cockpit.store.base import WriteResult
from cockpit.store.postgres import PostgresStore, fts
from cockpit.timeutil import iso_z

NOW = datetime(2024, 6, 1, tzinfo=UTC)
BATCH = 10_000
WORDS = [
    "the",
    "a",
    "staking",
    "token",
    "wallet",
    "bridge",
    "swap",
    "gm",
    "wen",
    "café",
    "naïve",
    "über",
    "mañana",
    "привет",
    "你好",
]


def activities(n: int, members: int, seed: int = 1) -> list[Activity]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        who = rng.randrange(members)
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14)))
        out.append(Activity("discord", f"m{i}", Kind.MESSAGE, NOW - timedelta(seconds=n - i),
                            f"c{i % 20}", f"u{who}", str(who), text, "bench"))  # fmt: skip
    return out


async def via_store(url: str, data: list[Activity], path: Path) -> float:
    """`cockpit import` of a .jsonl file of the rows, timed from open to close."""
    with path.open("wb") as fh:
        for a in data:
            fh.write(orjson.dumps({"platform": a.platform, "id": a.source_id, "kind": "message",
                                   "ts": iso_z(a.ts), "channel": a.channel, "author": a.author,
                                   "author_id": a.author_id, "text": a.text}) + b"\n")  # fmt: skip
    t = time.perf_counter()
    store = await PostgresStore.open(url)
    try:
        [report] = await import_paths(
            store,
            registry(),
            [path],
            community="bench",
            tz=None,
            tz_name=None,
            platform="jsonl",
            warn=print,
        )
        assert report.counts.new == len(data), report
    finally:
        await store.close()
    return time.perf_counter() - t


async def via_writes(url: str, data: list[Activity]) -> float:
    """The store's write path alone: batches prepared ahead (as the parser process does)."""
    prepared = [PostgresStore.prepare(data[i : i + BATCH]) for i in range(0, len(data), BATCH)]
    t = time.perf_counter()
    store = await PostgresStore.open(url)
    try:
        rec = await store.begin_import("bench-writes", "bench", "jsonl")
        done = 0
        for batch in prepared:
            done += batch.count
            await store.write_prepared(batch, import_id=rec.id, import_position=done)
        await store.finish_import(rec.id, WriteResult(done))
    finally:
        await store.close()
    return time.perf_counter() - t


def plain_copy(url: str, data: list[Activity], members: int) -> float:
    """The same rows, ready-made, loaded with COPY into the same (freshly migrated) tables."""
    rows = []
    for i, a in enumerate(data):
        text = a.text
        rows.append((i + 1, 1, "discord", a.source_id, "message", int(a.ts.timestamp() * 1000),
                     int(a.channel[1:]) + 1, int(a.author_id) + 1, text, 0, 0, 0,
                     fts.tsvector(text)))  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        t = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("INSERT INTO community (id, name) VALUES (1, 'bench')")
            with cur.copy(
                "COPY channel (id, community_id, platform, source_id, name) FROM STDIN"
            ) as cp:
                for c in range(20):
                    cp.write_row((c + 1, 1, "discord", f"c{c}", f"c{c}"))
            with cur.copy("COPY member (id, community_id, platform, platform_user_id, display_name) "
                          "FROM STDIN") as cp:  # fmt: skip
                for m in range(members):
                    cp.write_row((m + 1, 1, "discord", str(m), f"u{m}"))
            with cur.copy("COPY activity (id, community_id, platform, source_id, kind, ts, channel_id, "
                          "member_id, text, attachments, reactions, deleted, fts) FROM STDIN") as cp:  # fmt: skip
                for r in rows:
                    cp.write_row(r)
        return time.perf_counter() - t


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=300_000)
    ap.add_argument("--members", type=int, default=20_000)
    ap.add_argument("--url", help="an admin URL (default: a throwaway server)")
    a = ap.parse_args()
    data = activities(a.rows, a.members)
    with server(a.url) as srv:
        store_db, writes_db, copy_db = srv.fresh_db(), srv.fresh_db(), srv.fresh_db()
        try:
            await (await PostgresStore.open(copy_db)).close()  # the same tables, migrated
            with tempfile.TemporaryDirectory() as tmp:
                t_store = await via_store(store_db, data, Path(tmp) / "bench.jsonl")
            t_writes = await via_writes(writes_db, data)
            t_copy = await asyncio.to_thread(plain_copy, copy_db, data, a.members)
        finally:
            for db in (store_db, writes_db, copy_db):
                srv.drop_db(db)
    r_store, r_copy = a.rows / t_store, a.rows / t_copy
    print(f"rows: {a.rows:,} activities, {a.members:,} members, batches of {BATCH:,}")
    r_writes = a.rows / t_writes
    print(f"cockpit import (parse included) : {t_store:7.2f} s  {r_store:10,.0f} rows/s")
    print(f"store writes (batches prepared) : {t_writes:7.2f} s  {r_writes:10,.0f} rows/s")
    print(f"plain COPY                      : {t_copy:7.2f} s  {r_copy:10,.0f} rows/s")
    for name, rate in (("import", r_store), ("writes", r_writes)):
        ratio = rate / r_copy
        verdict = "ok" if ratio >= 0.5 else "UNDER BUDGET"
        print(f"ratio {name}/COPY: {ratio:.2f}x (budget >= 0.5x): {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
