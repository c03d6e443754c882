"""The big store on both backends, side by side: generated activities and members (default
the issue's 10,000,000 / 200,000; `--activities/--members` scale it), then the 30-day top 50
(budget < 200 ms), a feed search of a word (< 300 ms) and an attached cockpit's first
paint (< 1.5 s: open read-only, stats, the first feed page, the alert counts), and the
leaderboard's first answer in a fresh process (its PageRank is computed once, then cached).

Run: .venv/bin/python bench/bench_big_store.py --activities 1000000 --members 200000
     [--url postgresql://... (default: a throwaway server)] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pgbench_server import server

from cockpit.model import Activity, Kind
from cockpit.scoring.leaderboard import leaderboard
from cockpit.store import open_store
from cockpit.store.base import FeedQuery, Store, WriteResult

NOW = datetime(2024, 6, 1, tzinfo=UTC)
BATCH = 10_000
COMMON = [
    "gm",
    "ok",
    "thanks",
    "the",
    "a",
    "to",
    "is",
    "and",
    "wallet",
    "token",
    "swap",
    "bridge",
    "price",
    "when",
    "moon",
]
RARE = ["staking", "validator", "governance", "airdrop", "café", "привет", "多谢"]


def batches(n: int, members: int, seed: int = 7) -> Iterator[list[Activity]]:
    """Activities over 90 days, oldest first: half from a heavy few, half from anyone; 30%
    replies; 15% reactions; now and then a rarer word."""
    rng = random.Random(seed)
    span = 90 * 86_400
    batch: list[Activity] = []
    for i in range(n):
        who = int(rng.paretovariate(1.2) * 7) % members if i % 2 else rng.randrange(members)
        ts = NOW - timedelta(seconds=span * (n - i) / n)
        if i and rng.random() < 0.15:
            batch.append(Activity("discord", f"r{i}", Kind.REACTION, ts, "general", f"u{who}",
                                  str(who), "👍", "bench", reply_to=f"m{rng.randrange(max(0, i - 500), i)}"))  # fmt: skip
        else:
            words = [rng.choice(COMMON) for _ in range(rng.randint(2, 12))]
            if rng.random() < 0.02:
                words.insert(rng.randrange(len(words)), rng.choice(RARE))
            reply = f"m{rng.randrange(max(1, i - 500), i)}" if i and rng.random() < 0.3 else None
            batch.append(Activity("discord", f"m{i}", Kind.MESSAGE, ts, f"c{i % 20}",
                                  f"u{who}", str(who), " ".join(words), "bench", reply_to=reply))  # fmt: skip
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def build(target: str, n: int, members: int) -> float:
    store = await open_store(target, clock=lambda: NOW)
    t = time.perf_counter()
    try:
        rec = await store.begin_import("bench", "generated", "bench")
        on_commit = store.scoring().listener()
        done = 0
        for batch in batches(n, members):
            done += len(batch)
            result = await store.write_prepared(store.prepare(batch), import_id=rec.id,
                                                import_position=done)  # fmt: skip
            await on_commit(result)
            if done % 500_000 == 0:
                print(
                    f"  {target[:30]}: {done:,} stored ({time.perf_counter() - t:.0f} s)",
                    flush=True,
                )
        await store.finish_import(rec.id, WriteResult(done))
        return time.perf_counter() - t
    finally:
        await store.close()


async def timed(fn: Callable[[], Awaitable[Any]], runs: int = 7) -> tuple[float, Any]:
    """Median milliseconds of `runs` calls after one warm-up, and the last answer."""
    out = await fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = await fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


async def measure(target: str) -> dict[str, Any]:
    t = time.perf_counter()
    store: Store = await open_store(target, readonly=True, clock=lambda: NOW)
    await store.stats()
    await store.feed(FeedQuery(limit=100))
    await store.alerts.counts()
    paint = (time.perf_counter() - t) * 1000
    scoring = store.scoring()
    t = time.perf_counter()
    await leaderboard(scoring, "bench", "30d", NOW, limit=20)
    cold = (time.perf_counter() - t) * 1000
    stats = await store.stats()
    try:
        top, board = await timed(lambda: leaderboard(scoring, "bench", "30d", NOW, limit=50))
        word, hits = await timed(lambda: store.feed(FeedQuery(search="staking", limit=50)))
        prefix, _ = await timed(lambda: store.feed(FeedQuery(search="valid*", limit=50)))
        two, _ = await timed(lambda: store.feed(FeedQuery(search="wallet governance", limit=50)))
    finally:
        await store.close()
    return {
        "rows": stats.activities,
        "members": stats.members,
        "top50": top,
        "board": len(board),
        "search": word,
        "hits": len(hits),
        "prefix": prefix,
        "two": two,
        "paint": paint,
        "cold": cold,
    }


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--activities", type=int, default=10_000_000)
    ap.add_argument("--members", type=int, default=200_000)
    ap.add_argument("--url", help="a PostgreSQL admin URL (default: a throwaway server)")
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    a = ap.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp, server(a.url) as srv:
        targets = {"sqlite": str(Path(tmp) / "big.db"), "postgresql": srv.fresh_db()}
        try:
            for name, target in targets.items():
                if a.only and name != a.only:
                    continue
                print(
                    f"building {name}: {a.activities:,} activities, {a.members:,} members",
                    flush=True,
                )
                built = await build(target, a.activities, a.members)
                results[name] = {"build": built, **await measure(target)}
        finally:
            srv.drop_db(targets["postgresql"])
    names = list(results)
    print(f"\n{'':28}" + "".join(f"{n:>14}" for n in names))
    rows = [
        ("activities", "rows", "{:,}"),
        ("members", "members", "{:,}"),
        ("build + rollup (s)", "build", "{:.0f}"),
        ("30-day top 50 (ms) <200", "top50", "{:.1f}"),
        ("feed search 'staking' (ms) <300", "search", "{:.1f}"),
        ("  hits shown", "hits", "{}"),
        ("feed search 'valid*' (ms)", "prefix", "{:.1f}"),
        ("feed search two words (ms)", "two", "{:.1f}"),
        ("first paint (ms) <1500", "paint", "{:.0f}"),
        ("first top 20, cold (ms)", "cold", "{:.0f}"),
    ]
    for label, key, fmt in rows:
        print(f"{label:28}" + "".join(f"{fmt.format(results[n][key]):>14}" for n in names))


if __name__ == "__main__":
    asyncio.run(main())
