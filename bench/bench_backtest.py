"""Backtest of the default rule set over stored history. Budget: 1,000,000 activities < 15 s.

The store holds 30 days of synthetic chat on five platforms (questions, replies, reactions,
joins with two raids, spam waves across platforms). The shipped cockpit.toml's rules are
replayed through `cockpit.alerts.backtest` as `cockpit rules backtest` does. Baseline in
the same run: reading the same history from the store alone (no engine), so the ratio is
what the rules cost on top of the read.

    python bench/bench_backtest.py [--activities 1000000] [--db PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cockpit.alerts.backtest import PAGE, backtest  # noqa: E402
from cockpit.config import load_config  # noqa: E402
from cockpit.model import Activity, Kind  # noqa: E402
from cockpit.registry import registry  # noqa: E402
from cockpit.store.sqlite import SQLiteStore  # noqa: E402
from cockpit.timeutil import to_ms  # noqa: E402

NOW = datetime(2024, 6, 1, tzinfo=UTC)
DAYS = 30
PLATFORMS = ("discord", "telegram", "slack", "whatsapp", "discourse")
# chat as it mostly is: neutral words, a few warm ones, now and then a complaint (about one
# message in five reaches the sentiment analyser, as in the demo's community)
WORDS = [
    "release",
    "deploy",
    "docs",
    "roadmap",
    "fix",
    "thanks",
    "help",
    "config",
    "webhook",
    "token",
    "api",
    "nightly",
    "sync",
    "dashboard",
    "theme",
    "login",
    "update",
    "feature",
    "great",
    "works",
    "tried",
    "again",
    "today",
    "the",
    "a",
    "to",
    "and",
    "of",
    "is",
    "in",
    "it",
    "you",
    "that",
    "for",
    "on",
    "with",
    "this",
    "my",
    "we",
    "can",
    "just",
    "so",
    "what",
    "about",
    "from",
    "have",
    "will",
    "new",
    "channel",
    "server",
    "meeting",
    "link",
    "screenshot",
    "version",
    "python",
    "rust",
    "mobile",
    "app",
    "weekend",
]
COMPLAINTS = ("broken", "bug", "error", "annoying", "not working", "no idea", "slow")
BATCH = 10_000


def history(n: int, members: int, seed: int = 3) -> list[Activity]:
    rng = random.Random(seed)
    span = DAYS * 86_400
    out: list[Activity] = []
    raid_at = {int(n * 0.3), int(n * 0.7)}
    for i in range(n):
        ts = NOW - timedelta(seconds=span * (n - i) / n)
        platform = PLATFORMS[i % len(PLATFORMS)]
        who = rng.randrange(members)
        channel = ("general", "help", "dev", "random")[rng.randrange(4)]
        if i in raid_at:  # 40 joins within a minute
            for k in range(40):
                out.append(Activity(platform, f"raid{i}-{k}", Kind.JOIN, ts + timedelta(seconds=k),
                                    "general", f"raider{i}-{k}", f"r{i}-{k}", "", "bench"))  # fmt: skip
            continue
        r = rng.random()
        if r < 0.15:
            out.append(Activity(platform, f"x{i}", Kind.REACTION, ts, channel, f"u{who}", str(who),
                                "👍", "bench", reply_to=f"m{max(0, i - rng.randrange(1, 50))}"))  # fmt: skip
            continue
        if r < 0.16:
            out.append(Activity(platform, f"j{i}", Kind.JOIN, ts, "general", f"u{who}", str(who), "", "bench"))  # fmt: skip
            continue
        if r < 0.1603:  # a spam wave copy: the same text on every platform within minutes
            text = "free nitro airdrop, claim your prize at https://nitro-gift.example/claim now"
        else:
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 14)))
            if rng.random() < 0.2:
                text += " " + rng.choice(COMPLAINTS)
            if r < 0.25:
                text = "how do I " + text + "?"
        reply = f"m{max(0, i - rng.randrange(1, 30))}" if rng.random() < 0.35 else None
        out.append(Activity(platform, f"m{i}", Kind.MESSAGE, ts, channel, f"u{who}", str(who),
                            text, "bench", reply_to=reply))  # fmt: skip
    return out


async def build(path: Path, n: int) -> int:
    store = await SQLiteStore.open(path)
    try:
        have = (await store.stats()).activities
        if have >= n:
            return have
        data = history(n, members=20_000)
        for i in range(0, len(data), BATCH):
            await store.write(data[i : i + BATCH])
        return (await store.stats()).activities
    finally:
        await store.close()


async def main(n: int, db: Path | None) -> int:
    path = db or Path(tempfile.mkdtemp(prefix="bench-backtest-")) / "store.db"
    t = time.perf_counter()
    stored = await build(path, n)
    print(
        f"store: {stored:,} activities over {DAYS} days ({time.perf_counter() - t:.1f} s to build)"
    )
    config = load_config(ROOT / "cockpit.toml", registry())
    rules = config.rules
    store = await SQLiteStore.open(path, readonly=True)
    try:
        start, end = to_ms(NOW - timedelta(days=DAYS + 1)), to_ms(NOW + timedelta(hours=1))
        t = time.perf_counter()
        read = 0
        after = None
        while True:  # baseline: the same pages read without the engine
            page = await store.alerts.events_in(start, end, after, PAGE)
            if not page:
                break
            read += len(page)
            after = (page[-1].ts, page[-1].id)
        read_s = time.perf_counter() - t
        t = time.perf_counter()
        result = await backtest(store.alerts, rules, config.alerting, start, end)
        took = time.perf_counter() - t
    finally:
        await store.close()
    print(f"baseline: reading {read:,} activities alone: {read_s:.2f} s")
    print(
        f"backtest of the default rule set ({len(rules)} rules): {result.activities:,} activities, "
        f"{result.evaluations:,} evaluations in {took:.2f} s = {result.activities / took:,.0f}/s "
        f"({took / read_s:.1f}x the read alone)"
    )
    for name, report in result.reports.items():
        state = (
            "not replayable"
            if not report.replayable
            else f"{report.fires} fires, {len(report.members)} members"
        )
        print(f"  {name:<28} {state}")
    budget = 15.0 * n / 1_000_000
    ok = took < budget
    print(f"budget: < {budget:.1f} s for {n:,} activities: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="keep the generated store here (reused)")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.activities, args.db)))
