"""The 30-day leaderboard over 1,000,000 activities and 50,000 members, from the ranking
totals ingest keeps current, beside the plain aggregate query over activity in the same run
(budget: < 200 ms). Also what keeping the rollup costs at ingest, and rolling a day on.

Run: .venv/bin/python bench/bench_scoring.py [ACTIVITIES] [MEMBERS] [--db PATH]
(--db keeps the built store at PATH and reuses it when it is there.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cockpit.model import Activity, Kind
from cockpit.scoring.leaderboard import leaderboard, window_days
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_scoring import DAY_MS, ScoringStore

NOW = datetime(2024, 6, 1, tzinfo=UTC)
BATCH = 10_000  # what the import pipeline commits at once


def activities(n: int, members: int, seed: int = 1) -> list[Activity]:
    rng = random.Random(seed)
    span = 90 * 86_400
    out: list[Activity] = []
    for i in range(n):
        # half the traffic from a heavy few, half from anyone
        who = int(rng.paretovariate(1.2) * 7) % members if i % 2 else rng.randrange(members)
        ts = NOW - timedelta(seconds=span * (n - i) / n)
        reply = f"m{rng.randrange(max(1, i - 500), i)}" if i and rng.random() < 0.4 else None
        if i and rng.random() < 0.2:
            out.append(Activity("discord", f"r{i}", Kind.REACTION, ts, "general", f"u{who}",
                                str(who), "👍", "bench", reply_to=f"m{rng.randrange(max(0, i - 500), i)}"))  # fmt: skip
            continue
        out.append(Activity("discord", f"m{i}", Kind.MESSAGE, ts, f"c{i % 20}", f"u{who}",
                            str(who), f"message number {i} about things?", "bench", reply_to=reply))  # fmt: skip
    return out


async def build(store: SQLiteStore, n: int, members: int) -> None:
    """Write in import-sized batches; after each commit the ingest listener folds it in."""
    sc = ScoringStore(store, clock=lambda: NOW)
    on_commit = sc.listener()
    # every member appears once, so the store knows all of them
    seed = [Activity("discord", f"j{m}", Kind.JOIN, NOW - timedelta(days=100), "general",
                     f"u{m}", str(m), "", "bench") for m in range(members)]  # fmt: skip
    data = seed + activities(n, members)
    writing = folding = 0.0
    for i in range(0, len(data), BATCH):
        t = time.perf_counter()
        result = await store.write(data[i : i + BATCH])
        writing += time.perf_counter() - t
        t = time.perf_counter()
        await on_commit(result)
        folding += time.perf_counter() - t
    print(f"ingest {len(data):,} rows: store writes {writing:.1f} s")
    print(
        f"  rollup + ranking totals kept current (listener): {folding:.1f} s "
        f"= {len(data) / folding:,.0f} activities/s"
    )


async def timed(label: str, fn: Callable[[], Awaitable[Any]], runs: int = 7) -> float:
    """The first call alone (cold), then the median of `runs` more (warm)."""
    t = time.perf_counter()
    await fn()
    cold = time.perf_counter() - t
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t)
    warm = statistics.median(times)
    print(f"{label:<46} cold {cold * 1000:8.1f} ms   warm {warm * 1000:8.1f} ms (median of {runs})")
    return warm


async def main(n: int, members: int, db: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = db or Path(tmp) / "bench.db"
        built = path.exists()
        store = await SQLiteStore.open(path)
        if not built:
            await build(store, n, members)
        else:
            await ScoringStore(store, clock=lambda: NOW).catch_up()
            print(f"reusing {path}")
        rows = await store.fetchall("SELECT count(*) FROM score_day")
        totals = await store.fetchall("SELECT count(*) FROM score_total")
        print(f"rollup rows: {rows[0][0]:,}; ranking total rows: {totals[0][0]:,}")
        sc = ScoringStore(store, clock=lambda: NOW)
        f = await sc.filter("bench")
        start, end, _ = window_days("30d", NOW)
        assert start is not None
        print(f"load before reads: {os.getloadavg()[0]:.2f}")
        board = await timed(
            "30d leaderboard from the totals (top 50)",
            lambda: leaderboard(sc, "bench", "30d", NOW, limit=50, influence=False),
        )
        await timed(
            "30d leaderboard + influence (PageRank, cached)",
            lambda: leaderboard(sc, "bench", "30d", NOW, limit=50, influence=True),
            runs=3,
        )
        plain = await timed(
            "plain aggregate over activity (baseline)",
            lambda: sc.plain_scores(f, start * DAY_MS, end * DAY_MS, 50),
            runs=3,
        )
        scan = await timed(
            "30d ranking by a scan of the daily rollup",
            lambda: sc.window_scores(f, start + 1, end + 1, limit=50),  # not a kept window
            runs=3,
        )
        print(
            f"totals / plain: {board / plain:.3f}   totals / rollup scan: {board / scan:.3f}   "
            f"(budget 200 ms: {'ok' if board < 0.2 else 'OVER'})"
        )
        tomorrow = NOW + timedelta(days=1)
        rolled = ScoringStore(store, clock=lambda: tomorrow)
        t = time.perf_counter()
        await rolled.catch_up()
        print(f"rolling the totals on a day: {(time.perf_counter() - t) * 1000:.0f} ms")
        await timed(
            "30d leaderboard the day after (top 50)",
            lambda: leaderboard(rolled, "bench", "30d", tomorrow, limit=50, influence=False),
            runs=3,
        )
        await sc.catch_up()  # back to today, as a kept store was built
        await store.close()
        print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("activities", nargs="?", type=int, default=1_000_000)
    p.add_argument("members", nargs="?", type=int, default=50_000)
    p.add_argument("--db", type=Path, help="keep the store here (and reuse it)")
    a = p.parse_args()
    asyncio.run(main(a.activities, a.members, a.db))
