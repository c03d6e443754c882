"""Alert engine throughput and notification latency.

1. 1,000 keyword rules plus the windowed rules (flood, raid, cross-platform, unanswered,
   volume) over synthetic chat: activities/s through `Engine.observe` (+ an evaluation per
   simulated second). Budget: >= 100,000/s. Baseline in the same run: the same keyword
   matching done naively, each rule's regex tried one by one on every message.
   Sentiment (VADER) is reported on its own: it is the one per-message cost that is not ours.
2. Latency from an activity stored (the writer's commit returns) to its notification handed
   to apprise, through the real store, BatchingWriter, AlertService and outbox, group_wait 0.
   Budget: p99 < 1 s.

    python bench/bench_alerts.py [--events 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cockpit.alerts.config import AlertingSettings, Receiver, parse_rules  # noqa: E402
from cockpit.alerts.engine import Engine  # noqa: E402
from cockpit.alerts.events import Event  # noqa: E402
from cockpit.alerts.service import AlertService  # noqa: E402
from cockpit.model import Activity, Kind  # noqa: E402
from cockpit.pipeline import BatchingWriter  # noqa: E402
from cockpit.store.sqlite import SQLiteStore  # noqa: E402

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
WINDOWED = [
    {"name": "flood", "kind": "flood"},
    {"name": "raid", "kind": "raid", "joins": 20},
    {"name": "xp", "kind": "cross_platform"},
    {"name": "unanswered", "kind": "unanswered"},
    {"name": "volume", "kind": "volume"},
]


def keyword_rules(rng: random.Random, n: int) -> list[dict[str, object]]:
    rules = []
    for i in range(n):
        word = "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(5, 10))
        )
        words = [word] if i % 3 else [word, f"{word} {rng.choice(WORDS)}"]
        rules.append({"name": f"kw{i}", "kind": "keyword", "keywords": words})
    return rules


def synthetic(rng: random.Random, n: int, hits: list[str]) -> list[Event]:
    t0 = 1_700_000_000_000
    out = []
    platforms = ("discord", "telegram", "slack", "whatsapp")
    for i in range(n):
        ts = t0 + i * 5  # 200 activities per simulated second
        if i % 50 == 0:
            out.append(
                Event(
                    i,
                    "c1",
                    rng.choice(platforms),
                    f"j{i}",
                    Kind.JOIN,
                    ts,
                    "g",
                    "general",
                    f"n{i}",
                    "new",
                )
            )
            continue
        words = rng.choices(WORDS, k=rng.randrange(4, 20))
        if i % 200 == 0:
            words.append(rng.choice(hits))
        if i % 97 == 0:
            words.append(f"https://example.com/{i % 13}")
        text = " ".join(words).capitalize() + ("?" if i % 11 == 0 else "")
        author = rng.randrange(3000)
        ch = rng.randrange(20)
        out.append(
            Event(i, "c1", platforms[ch % 4], f"m{i}", Kind.MESSAGE, ts, str(ch), f"chan{ch}",
                  str(author), f"user{author}", text, f"m{i - 3}" if i % 7 == 0 else None)
        )  # fmt: skip
    return out


def run_engine(engine: Engine, events: list[Event], batch: int = 1000) -> float:
    """As the service runs it: a commit's rows at a time, then an evaluation."""
    start = time.perf_counter()
    for i in range(0, len(events), batch):
        chunk = events[i : i + batch]
        engine.observe_many(chunk)
        engine.evaluate(chunk[-1].ts)
    return time.perf_counter() - start


def naive(rules: list[dict[str, object]], events: list[Event]) -> float:
    patterns = [
        re.compile(r"\b" + re.escape(str(w)) + r"\b", re.IGNORECASE)
        for r in rules
        for w in r["keywords"]  # type: ignore[attr-defined]
    ]
    start = time.perf_counter()
    for ev in events:
        if ev.kind is Kind.MESSAGE:
            for p in patterns:
                p.search(ev.text)
    return time.perf_counter() - start


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
    events = synthetic(rng, args.events, hits)
    rules = parse_rules(kw + WINDOWED)

    engine = Engine(rules, clock=lambda: 0)
    took = run_engine(engine, events)
    ours = len(events) / took
    fired = sum(1 for a in engine.alerts.values())
    print(f"engine, 1,000 keyword + 5 windowed rules: {ours:,.0f} activities/s "
          f"({len(events):,} in {took:.2f}s, {fired} open alerts)  budget >= 100,000/s")  # fmt: skip

    sub = events[: args.naive_events]
    base_took = naive(kw, sub)
    base = len(sub) / base_took
    print(f"naive baseline (each keyword rule's regex, one by one): {base:,.0f} activities/s "
          f"({len(sub):,} in {base_took:.2f}s)")  # fmt: skip
    print(f"ratio ours / naive: {ours / base:,.0f}x")

    senti = Engine(
        parse_rules([*kw, *WINDOWED, {"name": "mood", "kind": "sentiment"}]), clock=lambda: 0
    )
    took_s = run_engine(senti, events[:50_000])
    print(f"with the sentiment rule (VADER) as well: {50_000 / took_s:,.0f} activities/s")

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
