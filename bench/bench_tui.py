"""TUI budgets: first paint on a 1,000,000-activity store, key latency and memory under 500 writes/s.

    .venv/bin/python bench/bench_tui.py [--rows 1000000] [--duration 60] [--rate 500]

The generated store is cached under bench/out/ (git-ignored). Prints the figures and
whether each budget (first paint < 1.5 s, keys < 100 ms, RSS < 250 MB) is met.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual import events

from cockpit.config import CockpitSettings, Config
from cockpit.model import Activity, Kind
from cockpit.registry import Registry
from cockpit.store.sqlite import SQLiteStore

OUT = Path(__file__).resolve().parent / "out"
PLATFORMS = ("discord", "telegram", "slack", "whatsapp", "discourse")
WORDS = [
    "the",
    "release",
    "import",
    "error",
    "thanks",
    "docs",
    "please",
    "help",
    "roadmap",
    "event",
    "welcome",
    "bridge",
]
NOW = datetime(2024, 5, 14, 14, 30, tzinfo=UTC)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_activity(i: int, ts: datetime) -> Activity:
    platform = PLATFORMS[i % len(PLATFORMS)]
    member = (i * 7919) % 5000
    return Activity(
        platform=platform,
        source_id=f"b{i}",
        kind=Kind.JOIN if i % 97 == 0 else Kind.MESSAGE,
        ts=ts,
        channel=f"channel-{i % 40}",
        author=f"member {member}",
        author_id=str(member),
        text=" ".join(WORDS[(i + k) % len(WORDS)] for k in range(8)),
        community="bench",
        reply_to=f"b{i - 1}" if i % 5 == 0 and i else None,
    )


async def build_store(path: Path, rows: int) -> None:
    if path.exists():
        return
    tmp = path.with_suffix(".tmp")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    store = await SQLiteStore.open(tmp)
    start = NOW - timedelta(seconds=rows)
    batch = 50_000
    t0 = time.perf_counter()
    for first in range(0, rows, batch):
        await store.write(
            [
                make_activity(i, start + timedelta(seconds=i))
                for i in range(first, min(rows, first + batch))
            ]
        )
        print(
            f"  generated {min(rows, first + batch):,} rows ({time.perf_counter() - t0:.0f} s)",
            file=sys.stderr,
        )
    await store.close()
    tmp.rename(path)


def config() -> Config:
    return Config(None, CockpitSettings(community="bench", timezone="Europe/Berlin"), None, [])


async def first_paint(path: Path) -> float:
    from cockpit.app import CockpitApp
    from cockpit.widgets.feed import FeedView  # type: ignore[import-not-found, unused-ignore]

    t0 = time.perf_counter()
    app = CockpitApp(
        store_path=path, config=config(), registry=Registry(), attach=True, clock=lambda: NOW
    )
    async with app.run_test(size=(160, 48)) as pilot:
        while not app.screen_stack[0].query(FeedView):
            await asyncio.sleep(0.005)
        view = app.screen_stack[0].query_one(FeedView)
        while not (app.ready and view.rows and not view.fetching):
            await asyncio.sleep(0.005)
        await pilot.pause()  # one full paint with rows and header
        elapsed = time.perf_counter() - t0
    return elapsed


async def live(duration: float, rate: int) -> tuple[list[float], float, int]:
    from cockpit.app import CockpitApp
    from cockpit.widgets.feed import FeedView  # type: ignore[import-not-found, unused-ignore]

    path = OUT / "tui_live.db"
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    app = CockpitApp(store_path=path, config=config(), registry=Registry(), attach=False)
    latencies: list[float] = []
    written = 0
    async with app.run_test(size=(80, 24)):
        while app.writer is None:
            await asyncio.sleep(0.01)
        view = app.screen_stack[0].query_one(FeedView)
        while app.writer is None:
            await asyncio.sleep(0.01)
        writer = app.writer

        async def produce() -> None:
            nonlocal written
            tick = 0.1
            per_tick = max(1, int(rate * tick))
            next_at = time.perf_counter()
            while True:
                rows = [make_activity(written + k, datetime.now(UTC)) for k in range(per_tick)]
                await writer.write(rows)
                written += per_tick
                next_at += tick
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

        task = asyncio.create_task(produce())
        end = time.perf_counter() + duration
        key = "up"
        while time.perf_counter() < end:
            await asyncio.sleep(0.25)
            before = view.cursor
            t0 = time.perf_counter()
            # a key event straight into the app's queue, as the terminal driver delivers it
            app.post_message(events.Key(key, None))
            while view.cursor == before and view.rows and time.perf_counter() - t0 < 1:
                await asyncio.sleep(0.001)
            latencies.append((time.perf_counter() - t0) * 1000)
            key = "down" if key == "up" else "up"
        task.cancel()
        memory = rss_mb()
    return latencies, memory, written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--duration",
        type=float,
        default=60.0,
        help="seconds under live load (600 = the 10-minute budget)",
    )
    parser.add_argument(
        "--rate", type=int, default=500, help="activities per second written while measuring"
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"tui_{args.rows}.db"
    asyncio.run(build_store(path, args.rows))
    paint = asyncio.run(first_paint(path))
    print(
        f"first full paint, {args.rows:,} activities: {paint * 1000:.0f} ms (budget 1500 ms) {'OK' if paint < 1.5 else 'OVER'}"
    )
    lat, memory, written = asyncio.run(live(args.duration, args.rate))
    p50 = statistics.median(lat)
    p95 = sorted(lat)[int(len(lat) * 0.95) - 1] if len(lat) > 1 else lat[0]
    worst = max(lat)
    print(
        f"live {args.duration:.0f} s at {args.rate}/s ({written:,} written): key latency p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, max {worst:.1f} ms (budget 100 ms) {'OK' if p95 < 100 else 'OVER'}"
    )
    print(
        f"resident memory after {args.duration:.0f} s: {memory:.0f} MB (budget 250 MB) {'OK' if memory < 250 else 'OVER'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
