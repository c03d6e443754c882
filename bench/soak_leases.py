"""Two collectors and ten attached readers on one PostgreSQL store, for minutes at a steady
rate (the issue's soak: 500 activities/s for ten minutes): nothing lost, nothing doubled,
the alert lease moving exactly once when the holder is killed with SIGKILL half way.

Each collector is a real `cockpit collect` process following its own JSON Lines file; the
feeder appends to both at the rate asked. The killed collector is started again a few
seconds later and resumes its file. Ten readers, each on a connection of its own, wait on
the store's change notices (LISTEN/NOTIFY) and read the newest feed page on each one; their
lag (a row's append to the file → the reader seeing it) is reported as p50/p99.

Run: .venv/bin/python bench/soak_leases.py [--minutes 10] [--rate 500] [--readers 10]
     [--url postgresql://admin-url] [--sqlite (the same on one SQLite file)]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgbench_server import server

from cockpit.store import open_store
from cockpit.store.base import FeedQuery, Store

TTL = 3.0


def config(tmp: Path, name: str, store: str) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(
        f"""
[cockpit]
community = "soak"
store = {json.dumps(store)}

[collect]
port = 0
lease_ttl = {TTL}

[[sources]]
type = "jsonl"
name = "{name}"
path = "{name}.jsonl"
poll_interval = 0.05

[[rules]]
name = "scam"
kind = "keyword"
keywords = ["free nitro"]
severity = "critical"
""",
        encoding="utf-8",
    )
    (tmp / f"{name}.jsonl").touch()
    return path


def start(tmp: Path, name: str) -> subprocess.Popen[bytes]:
    log = (tmp / f"{name}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "cockpit", "--config", str(tmp / f"{name}.toml"), "collect"],
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def lease_holder(store: Store) -> tuple[str, int] | None:
    for lease in await store.leases():
        if lease.name == "alerts" and lease.expires.timestamp() > time.time():
            return lease.holder, lease.token
    return None


class Reader:
    """An attached cockpit's loop: a change notice, then the newest feed page."""

    def __init__(self, store: Store, sent: dict[str, float]) -> None:
        self.store = store
        self.sent = sent
        self.lags: list[float] = []
        self.seen: set[str] = set()
        self.notices = 0

    async def run(self) -> None:
        async for _ in self.store.changes(0.2):
            self.notices += 1
            now = time.monotonic()
            for row in await self.store.feed(FeedQuery(limit=50)):
                sid = row.source_id
                if sid not in self.seen:
                    self.seen.add(sid)
                    t = self.sent.get(sid)
                    if t is not None:
                        self.lags.append(now - t)


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def soak(target: str, tmp: Path, minutes: float, rate: float, readers: int) -> dict[str, Any]:
    for name in ("a", "b"):
        config(tmp, name, target)
    procs = {"a": start(tmp, "a")}
    await asyncio.sleep(2.0)
    procs["b"] = start(tmp, "b")
    store = None
    for _ in range(100):
        try:
            store = await open_store(target, readonly=True)
            break
        except Exception:
            await asyncio.sleep(0.2)
    assert store is not None
    sent: dict[str, float] = {}
    attached = [await open_store(target, readonly=True) for _ in range(readers)]
    loops = [Reader(s, sent) for s in attached]
    tasks = [asyncio.create_task(r.run()) for r in loops]
    holders: list[tuple[str, int]] = []
    files = {n: (tmp / f"{n}.jsonl").open("a", encoding="utf-8") for n in ("a", "b")}
    duration = minutes * 60
    t0 = time.monotonic()
    n = 0
    killed_at: float | None = None
    restarted = False
    try:
        while (elapsed := time.monotonic() - t0) < duration:
            due = int(elapsed * rate)
            lines = {"a": [], "b": []}  # type: dict[str, list[str]]
            now = time.monotonic()
            stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            while n < due:
                n += 1
                name = "a" if n % 2 else "b"
                sid = f"{name}:{n}"
                sent[sid] = now
                lines[name].append(
                    json.dumps(
                        {
                            "platform": "slack" if name == "a" else "telegram",
                            "id": sid,
                            "kind": "message",
                            "ts": stamp,
                            "channel": "general",
                            "author": f"m{n % 997}",
                            "author_id": f"u{n % 997}",
                            "text": f"soak line {n}",
                        }
                    )
                )
            for name, batch in lines.items():
                if batch:
                    files[name].write("\n".join(batch) + "\n")
                    files[name].flush()
            held = await lease_holder(store)
            if held is not None and (not holders or holders[-1] != held):
                holders.append(held)
            if killed_at is None and elapsed > duration / 2 and held is not None:
                victim = "a" if f":{procs['a'].pid}:" in held[0] else "b"
                procs[victim].send_signal(signal.SIGKILL)
                procs[victim].wait()
                killed_at = elapsed
                print(f"  {elapsed:6.1f} s: killed collector {victim} (held the alert lease)")
            if killed_at is not None and not restarted and elapsed > killed_at + 5:
                procs[victim] = start(tmp, victim)
                restarted = True
                print(f"  {elapsed:6.1f} s: restarted collector {victim}")
            await asyncio.sleep(0.1)
        # drain: every line written must land once
        deadline = time.monotonic() + 60
        while (await store.stats()).activities < n and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        stored = (await store.stats()).activities
        held = await lease_holder(store)
        if held is not None and holders[-1] != held:
            holders.append(held)
    finally:
        for f in files.values():
            f.close()
        for p in procs.values():
            p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for s in attached:
            await s.close()
    unique = len({r.source_id for r in await store.feed(FeedQuery(limit=n + 10))})
    await store.close()
    lags = [x for r in loops for x in r.lags]
    return {
        "written": n,
        "stored": stored,
        "unique": unique,
        "holders": holders,
        "lag_p50": pct(lags, 0.5) * 1000,
        "lag_p99": pct(lags, 0.99) * 1000,
        "notices": statistics.mean(r.notices for r in loops),
        "rate": n / duration,
    }


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--readers", type=int, default=10)
    ap.add_argument("--url", help="a PostgreSQL admin URL (default: a throwaway server)")
    ap.add_argument("--sqlite", action="store_true", help="one SQLite file instead")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as td, server(None if a.sqlite else a.url) as srv:
        tmp = Path(td)
        target = str(tmp / "soak.db") if a.sqlite else srv.fresh_db()
        kind = "sqlite" if a.sqlite else "postgresql"
        print(
            f"soak on {kind}: {a.minutes} min at {a.rate:.0f}/s, 2 collectors, {a.readers} readers"
        )
        r = await soak(target, tmp, a.minutes, a.rate, a.readers)
        if not a.sqlite:
            srv.drop_db(target)
    moves = len(r["holders"]) - 1
    tokens = [t for _, t in r["holders"]]
    print(
        f"written {r['written']:,} ({r['rate']:.0f}/s), stored {r['stored']:,}, unique {r['unique']:,}"
    )
    print(f"lost {r['written'] - r['unique']:,}, doubled {r['stored'] - r['unique']:,}")
    print(f"alert lease: {moves} move(s), tokens {tokens}  (want exactly 1 move)")
    print(
        f"readers: change → seen lag p50 {r['lag_p50']:.0f} ms, p99 {r['lag_p99']:.0f} ms; "
        f"{r['notices']:.0f} notices each"
    )
    ok = r["written"] == r["stored"] == r["unique"] and moves == 1
    print("OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    asyncio.run(main())
