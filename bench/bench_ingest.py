"""Ingest throughput of the whole path (parse → normalize → store with FTS) against a baseline.

The baseline, measured in the same run: plain `sqlite3` `executemany` of the very rows our
path stored, into the same tables (activity + FTS, members, channels) of a fresh store, in one
transaction. Budgets: ours >= 0.5 x baseline, and >= 30,000 activities/s.

    python bench/bench_ingest.py [--messages 150000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gen_dce import write_dce  # noqa: E402
from cockpit.importing import import_file  # noqa: E402
from cockpit.plugin_api import ImportContext  # noqa: E402
from cockpit.registry import registry  # noqa: E402
from cockpit.store.sqlite import SQLiteStore  # noqa: E402

OUT = ROOT / "bench" / "out"
TABLES = ("community", "channel", "member", "activity")


def fresh(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


async def ours(export: Path, db: Path) -> tuple[int, float]:
    fresh(db)
    store = await SQLiteStore.open(db)
    importer = registry().importer_named("discord")
    start = time.perf_counter()
    report = await import_file(store, importer, export, ImportContext(community="bench"))
    elapsed = time.perf_counter() - start
    await store.close()
    return report.counts.new, elapsed


async def _empty_store(path: Path) -> None:
    fresh(path)
    store = await SQLiteStore.open(path)
    await store.close()


def baseline(source_db: Path, db: Path) -> tuple[int, float]:
    asyncio.run(_empty_store(db))
    src = sqlite3.connect(source_db)
    data = {t: src.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}
    src.close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous = FULL")
    start = time.perf_counter()
    conn.execute("BEGIN")
    for table in TABLES:
        rows = data[table]
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    conn.execute(
        "INSERT INTO activity_fts (rowid, text) SELECT id, text FROM activity WHERE text != ''"
    )
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(data["activity"]), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=150_000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    export = OUT / f"dce_{args.messages}.json"
    if not export.exists():
        write_dce(export, messages=args.messages, seed=3)
    size_mb = export.stat().st_size / 1e6
    ours_db, base_db = OUT / "ingest_ours.db", OUT / "ingest_baseline.db"
    n_ours, t_ours = asyncio.run(ours(export, ours_db))
    n_base, t_base = baseline(ours_db, base_db)
    rate_ours, rate_base = n_ours / t_ours, n_base / t_base
    ratio = rate_ours / rate_base
    print(
        f"export: {export.name}, {size_mb:.0f} MB, {args.messages} messages, cpus={os.cpu_count()}"
    )
    print(
        f"ours (parse+normalize+store+FTS, batched commits): {n_ours} activities in {t_ours:.2f} s = {rate_ours:,.0f}/s"
    )
    print(
        f"baseline (executemany of the same rows, one transaction): {n_base} in {t_base:.2f} s = {rate_base:,.0f}/s"
    )
    print(f"ratio ours/baseline: {ratio:.2f} (budget >= 0.50)")
    ok = ratio >= 0.5 and rate_ours >= 30_000
    print(f"budget: ratio >= 0.5 and >= 30,000/s: {'PASS' if ok else 'FAIL'}")
    for p in (ours_db, base_db):
        fresh(p)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
