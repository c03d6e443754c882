"""Alert engine throughput and notification latency.

1. 1,000 keyword rules plus the windowed rules (flood, raid, cross-platform, unanswered,
   volume, quiet core) over synthetic chat, as the service runs them: a commit's rows made
   events, `Engine.observe_many`, then `Engine.evaluate`; commits as full as the writer makes
   them at that rate (its max_batch), then of 1,000 rows (twice the evaluations). Budget: >= 100,000/s, in CPU
   time of the engine (observe_many + evaluate); then with the rows made events as well, and
   in wall time (which suffers on a busy box).
   Baseline in the same run: the keyword matching alone done naively, each rule's regex
   tried one by one on every message. CPU µs per activity of each stage follow.
   Sentiment (VADER) is reported on its own: it is the one per-message cost that is not ours.
2. Latency from an activity stored (the writer's commit returns) to its notification handed
   to apprise, through the real store, BatchingWriter, AlertService and outbox, group_wait 0.
   Budget: p99 < 1 s.

    python bench/bench_alerts.py [--events 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cockpit.alerts.engine as engine_module  # noqa: E402
from cockpit.alerts.config import AlertingSettings, AnyRule, Receiver, parse_rules  # noqa: E402
from cockpit.alerts.detectors import KeywordDetector  # noqa: E402
from cockpit.alerts.engine import Engine  # noqa: E402
from cockpit.alerts.service import AlertService  # noqa: E402
from cockpit.model import Activity, Kind  # noqa: E402
from cockpit.pipeline import BatchingWriter  # noqa: E402
from cockpit.store.sqlite import SQLiteStore  # noqa: E402
from cockpit.store.sqlite_alerts import event_from_row  # noqa: E402

WORDS = [
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
    "be",
    "are",
    "have",
    "was",
    "just",
    "my",
    "so",
    "what",
    "can",
    "but",
    "not",
    "we",
    "at",
    "all",
    "do",
    "if",
    "when",
    "how",
    "get",
    "like",
    "about",
    "release",
    "update",
    "bot",
    "server",
    "channel",
    "help",
    "thanks",
    "docs",
    "token",
    "wallet",
    "mint",
    "price",
    "chart",
    "gm",
    "gn",
    "ser",
    "fren",
    "lol",
    "great",
    "nice",
    "issue",
    "bug",
    "fix",
    "discord",
    "telegram",
    "slack",
    "question",
    "answer",
    "deploy",
    "node",
    "rpc",
    "api",
    "key",
    "error",
    "crash",
    "login",
]
WINDOWED: list[dict[str, object]] = [
    {"name": "flood", "kind": "flood"},
    {"name": "raid", "kind": "raid", "joins": 20},
    {"name": "xp", "kind": "cross_platform"},
    {"name": "unanswered", "kind": "unanswered"},
    {"name": "volume", "kind": "volume"},
    {"name": "quiet", "kind": "quiet_core"},
]


def keyword_rules(rng: random.Random, n: int) -> list[dict[str, object]]:
    rules: list[dict[str, object]] = []
    for i in range(n):
        word = "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(5, 10))
        )
        words = [word] if i % 3 else [word, f"{word} {rng.choice(WORDS)}"]
        rules.append({"name": f"kw{i}", "kind": "keyword", "keywords": words})
    return rules


Row = tuple[Any, ...]  # a row as the service reads it (EVENT_SELECT)
# at 100,000 activities/s the writer's commits are full: the service gets this many at once
COMMIT: int = inspect.signature(BatchingWriter).parameters["max_batch"].default


def synthetic(rng: random.Random, n: int, hits: list[str]) -> list[Row]:
    t0 = 1_700_000_000_000
    out: list[Row] = []
    platforms = ("discord", "telegram", "slack", "whatsapp")
    for i in range(n):
        ts = t0 + i * 5  # 200 activities per simulated second
        if i % 50 == 0:
            out.append((i, "c1", rng.choice(platforms), f"j{i}", "join", ts, "g", "general",
                        f"n{i}", "new", "", None, None, None, 0, None))  # fmt: skip
            continue
        words = rng.choices(WORDS, k=rng.randrange(4, 20))
        if i % 200 == 1:  # (not 0: multiples of 50 are joins)
            words.append(rng.choice(hits))
        if i % 97 == 0:
            words.append(f"https://example.com/{i % 13}")
        text = " ".join(words).capitalize() + ("?" if i % 11 == 0 else "")
        if i % 40 == 0:
            text += "\n" + " ".join(rng.choices(WORDS, k=4))  # a second line
        author = rng.randrange(3000)
        ch = rng.randrange(20)
        mentions = f'["user{rng.randrange(3000)}"]' if i % 30 == 0 else None
        out.append((i, "c1", platforms[ch % 4], f"m{i}", "message", ts, str(ch), f"chan{ch}",
                    str(author), f"user{author}", text, f"m{i - 3}" if i % 7 == 0 else None,
                    None, mentions, 0, f"user{author}"))  # fmt: skip
    return out


def run_engine(engine: Engine, rows: list[Row], batch: int = 1000) -> tuple[float, float, float]:
    """As the service runs it: a commit's rows at a time made events (as the store does),
    observed, then an evaluation. Returns the CPU seconds of the engine (observe_many and
    evaluate) and of making the events, and the wall seconds of it all."""
    engine_cpu = making = 0.0
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        t0 = time.thread_time()
        events = [event_from_row(r) for r in rows[i : i + batch]]
        t1 = time.thread_time()
        engine.observe_many(events)
        now, events = events[-1].ts, []  # the batch is let go first, as the service does
        engine.evaluate(now)
        engine_cpu += time.thread_time() - t1
        making += t1 - t0
    return engine_cpu, making, time.perf_counter() - start


def stage_costs(rules: list[AnyRule], rows: list[Row], commit: int) -> dict[str, float]:
    """CPU µs per activity of each stage of `observe_many`/`evaluate`, timed by wrapping them
    (the wrappers cost a little: the stages add up to a bit more than the plain run)."""
    costs: dict[str, float] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            start = time.thread_time()
            try:
                return fn(*args)
            finally:
                costs[name] = costs.get(name, 0.0) + time.thread_time() - start

        return run

    engine = Engine(rules, clock=lambda: 0)
    for d in engine.detectors:
        if not isinstance(d, KeywordDetector):
            d.observe_many = timed(d.rule.kind, d.observe_many)  # type: ignore[method-assign]
    engine.evaluate = timed("evaluate (lifecycle, ticks)", engine.evaluate)  # type: ignore[method-assign]
    stages = {"Batch": "batch (fold texts, links)", "match_many": "keyword matching (1,000 rules)"}
    saved = {name: getattr(engine_module, name) for name in stages}
    for name, label in stages.items():
        setattr(engine_module, name, timed(label, saved[name]))
    try:
        costs["engine total"], costs["(rows made events)"], _ = run_engine(engine, rows, commit)
    finally:
        for name, original in saved.items():
            setattr(engine_module, name, original)
    return {name: took / len(rows) * 1e6 for name, took in costs.items()}


def naive(rules: list[dict[str, object]], rows: list[Row]) -> float:
    """The same keyword matching done naively (CPU seconds): each word's regex on each message."""
    patterns = [
        re.compile(r"\b" + re.escape(str(w)) + r"\b", re.IGNORECASE)
        for r in rules
        for w in r["keywords"]  # type: ignore[attr-defined]
    ]
    start = time.thread_time()
    for r in rows:
        if r[4] == "message":
            for p in patterns:
                p.search(r[10])
    return time.thread_time() - start


async def latency(samples: int) -> list[float]:
    rules = parse_rules(
        [{"name": "scam", "kind": "keyword", "keywords": ["free nitro"], "per": "channel"}]
    )
    settings = AlertingSettings(group_wait=timedelta(0), group_by=["alertname", "channel"])
    handed: dict[str, float] = {}

    def send(receiver: str, title: str, body: str, kind: str) -> None:
        handed[body.split("#")[-1].split()[0]] = time.perf_counter()  # channel name

    with tempfile.TemporaryDirectory() as tmp:
        store = await SQLiteStore.open(Path(tmp) / "bench.db")
        writer = BatchingWriter(store)
        service = AlertService(store, rules, [Receiver(name="r", urls=["json://127.0.0.1:9/"])],
                               settings, send=send, tick=0.2)  # fmt: skip
        await service.start(writer, warmup=False)
        stored: dict[str, float] = {}
        for i in range(samples):
            ch = f"c{i}"
            a = Activity("discord", f"s{i}", Kind.MESSAGE, datetime.now(UTC), ch, "spam", "u1",
                         "get free nitro", "bench")  # fmt: skip
            await writer.write_result([a])
            stored[ch] = time.perf_counter()
            await asyncio.sleep(0.01)
        deadline = time.perf_counter() + 10
        while len(handed) < samples and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        await service.close()
        await writer.close()
        await store.close()
    return sorted(handed[k] - stored[k] for k in stored if k in handed)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--naive-events", type=int, default=5_000)
    ap.add_argument("--latency-samples", type=int, default=200)
    args = ap.parse_args()
    rng = random.Random(4)
    kw = keyword_rules(rng, 1000)
    hits = [str(r["keywords"][0]) for r in kw[:50]]  # type: ignore[index]
    rows = synthetic(rng, args.events, hits)
    rules = parse_rules(kw + WINDOWED)
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))

    ours = 0.0
    for commit in (COMMIT, 1000):
        engine = Engine(rules, clock=lambda: 0)
        cpu, making, wall = run_engine(engine, rows, commit)
        rate = len(rows) / cpu
        ours = ours or rate
        print(f"engine, 1,000 keyword + {len(WINDOWED)} windowed rules, commits of {commit:,}: "
              f"{rate:,.0f} activities/s of CPU ({len(rows):,} in {cpu:.2f}s, "
              f"{len(engine.alerts)} open alerts)  budget >= 100,000/s")  # fmt: skip
        print(f"  with the rows made events (the store's part of the service path): "
              f"{len(rows) / (cpu + making):,.0f}/s of CPU, {len(rows) / wall:,.0f}/s wall")  # fmt: skip

    sub = rows[: args.naive_events]
    base = len(sub) / naive(kw, sub)
    print(f"naive baseline (each keyword's regex, one by one; keywords only): "
          f"{base:,.0f} activities/s of CPU ({len(sub):,} activities)")  # fmt: skip
    print(f"ratio ours / naive: {ours / base:,.0f}x")

    print(f"CPU µs per activity, by stage (commits of {COMMIT:,}):")
    for name, us in stage_costs(rules, rows[:100_000], COMMIT).items():
        print(f"  {name:32} {us:6.2f}")

    senti = Engine(
        parse_rules([*kw, *WINDOWED, {"name": "mood", "kind": "sentiment"}]), clock=lambda: 0
    )
    cpu_s, _, _ = run_engine(senti, rows[:50_000], COMMIT)
    print(f"with the sentiment rule (VADER) as well: {50_000 / cpu_s:,.0f} activities/s of CPU")

    lat = asyncio.run(latency(args.latency_samples))
    if lat:
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(f"stored -> handed to apprise (group_wait 0): {len(lat)}/{args.latency_samples} "
              f"delivered, p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms  budget p99 < 1000 ms")  # fmt: skip
    else:
        print("latency: nothing was handed to apprise")


if __name__ == "__main__":
    main()
