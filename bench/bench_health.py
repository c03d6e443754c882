"""The health view and its topics over a big store: the demo's multilingual history (default
1,000,000 activities over 90 days) on SQLite, then `health` for the last 7 days cold and
warm, and the topic step alone (two weeks of up to 20,000 messages each, read in their
languages, phrases and the significance test). Budget: < 500 ms each, warm.

Run: .venv/bin/python bench/bench_health.py [--activities 1000000] [--db PATH (kept)]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from cockpit.plugins.demo import history
from cockpit.scoring.health import TOPIC_SAMPLE, health, topic_heat
from cockpit.scoring.repository import DAY_MS
from cockpit.scoring.topics import message_terms
from cockpit.store.sqlite import SQLiteStore
from cockpit.timeutil import to_ms

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


async def build(path: Path, n: int) -> float:
    t = time.perf_counter()
    store = await SQLiteStore.open(path)
    try:
        rows = itertools.islice(history(now=NOW, days=90, members=max(500, n // 400)), n)
        batch = []
        for a in rows:
            batch.append(a)
            if len(batch) == 10_000:
                await store.write(batch)
                batch = []
        await store.write(batch)
        await store.scoring().catch_up()
    finally:
        await store.close()
    return time.perf_counter() - t


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--activities", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=Path("/tmp/cockpit-bench-health.db"))
    a = ap.parse_args()
    if not a.db.exists():
        took = await build(a.db, a.activities)
        print(f"built {a.activities:,} activities in {took:.0f} s ({a.db})")
    store = await SQLiteStore.open(a.db, readonly=True)
    try:
        scoring = store.scoring()
        stats = await store.stats()
        print(f"store: {stats.activities:,} activities")
        times = []
        for _ in range(4):
            t = time.perf_counter()
            await health(scoring, "demo", "7d", NOW)
            times.append((time.perf_counter() - t) * 1000)
        f = await scoring.filter("demo")
        end = to_ms(NOW)
        week = 7 * DAY_MS
        this = await scoring.texts(f, end - week, end, TOPIC_SAMPLE)
        before = await scoring.texts(f, end - 2 * week, end - week, TOPIC_SAMPLE)
        message_terms.cache_clear()
        t = time.perf_counter()
        topic_heat(this, before)
        cold_topics = (time.perf_counter() - t) * 1000
        warm = []
        for _ in range(3):
            t = time.perf_counter()
            heat = topic_heat(this, before)
            warm.append((time.perf_counter() - t) * 1000)
    finally:
        await store.close()
    warm_health = statistics.median(times[1:])
    warm_topics = statistics.median(warm)
    print(f"messages compared: {len(this):,} this week, {len(before):,} the week before")
    print(f"health 7d   cold {times[0]:8.0f} ms   warm {warm_health:8.0f} ms   (budget warm < 500)")
    print(
        f"topics      cold {cold_topics:8.0f} ms   warm {warm_topics:8.0f} ms   (budget warm < 500)"
    )
    print("rising:", ", ".join(f"{t['term']} ({t['last_week']}→{t['this_week']})" for t in heat))
    ok = warm_health < 500 and warm_topics < 500
    print("budget", "met" if ok else "MISSED")


if __name__ == "__main__":
    asyncio.run(main())
