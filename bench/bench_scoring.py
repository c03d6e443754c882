"""The 30-day leaderboard over 1,000,000 activities and 50,000 members, from the rollup,
beside the plain aggregate query over activity in the same run (budget: < 200 ms).

Run: .venv/bin/python bench/bench_scoring.py [ACTIVITIES] [MEMBERS]
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cockpit.model import Activity, Kind
from cockpit.scoring.leaderboard import leaderboard, window_days
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_scoring import DAY_MS, ScoringStore

NOW = datetime(2024, 6, 1, tzinfo=UTC)


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


async def timed(label: str, fn: object, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        await fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    print(f"{label:<48} {best * 1000:9.1f} ms (best of {runs})")
    return best


async def main(n: int, members: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = await SQLiteStore.open(Path(tmp) / "bench.db")
        sc = ScoringStore(store, clock=lambda: NOW)
        # every member appears once, so the store knows all of them
        seed = [Activity("discord", f"j{m}", Kind.JOIN, NOW - timedelta(days=100), "general",
                         f"u{m}", str(m), "", "bench") for m in range(members)]  # fmt: skip
        t = time.perf_counter()
        data = seed + activities(n, members)
        for i in range(0, len(data), 10_000):
            await store.write(data[i : i + 10_000])
            await sc.catch_up()  # what the ingest listener does after each commit
        print(
            f"ingest {len(data):,} rows with the rollup kept current: {time.perf_counter() - t:.1f} s"
        )
        rows = await store.fetchall("SELECT count(*) FROM score_day")
        print(f"rollup rows: {rows[0][0]:,}")
        f = await sc.filter("bench")
        start, end, _ = window_days("30d", NOW)
        assert start is not None
        rollup = await timed(
            "30d leaderboard from the rollup (top 50)",
            lambda: leaderboard(sc, "bench", "30d", NOW, limit=50, influence=False),
        )
        await timed(
            "30d leaderboard + influence (PageRank)",
            lambda: leaderboard(sc, "bench", "30d", NOW, limit=50, influence=True),
            runs=2,
        )
        plain = await timed(
            "plain aggregate over activity (baseline)",
            lambda: sc.plain_scores(f, start * DAY_MS, end * DAY_MS, 50),
        )
        print(
            f"rollup / plain: {rollup / plain:.2f}  (budget 200 ms: {'ok' if rollup < 0.2 else 'OVER'})"
        )
        await store.close()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(args[0] if args else 1_000_000, args[1] if len(args) > 1 else 50_000))
