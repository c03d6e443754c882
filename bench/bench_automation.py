"""An automatic action, from a stored triggering activity to the platform call: p50 and p99
(budget p99 < 1 s), on SQLite and PostgreSQL.

The path is the collector's own: the writer commits a scam post by a fresh author; the alert
service (its real tasks running) evaluates the rule, the automation files the case (mode
"auto"); the executor holding the token claims it and bans through a real HTTP call to a
loopback stand-in. Latency is the commit returning → the stand-in receiving the PUT.

Run: .venv/bin/python bench/bench_automation.py [--posts 150] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from pgbench_server import server

from cockpit.alerts.config import AlertingSettings, parse_rules
from cockpit.alerts.service import AlertService
from cockpit.config import CockpitSettings, Config, SourceConfig
from cockpit.model import Activity, Kind
from cockpit.moderation.automation import Automation
from cockpit.moderation.config import ModerationSettings
from cockpit.moderation.executor import ActionExecutor
from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import ACTIONS, ActionCall, ActionOutcome
from cockpit.plugins.demo import DemoSettings
from cockpit.registry import registry as load_registry
from cockpit.store import open_store

RULES = parse_rules(
    [
        {
            "name": "nitro",
            "kind": "keyword",
            "keywords": ["free nitro"],
            "per": "author",
            "severity": "critical",
            "actions": [{"do": "ban"}],
            "mode": "auto",
        }
    ]
)


class StandIn:
    """Discord's ban route; notes when each ban arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        stand = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stand.arrived[self.path.rsplit("/", 1)[-1]] = time.perf_counter()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class HttpActor:
    def __init__(self, url: str) -> None:
        self.actions = {"discord": ACTIONS}
        self.http = httpx.AsyncClient(base_url=url)

    async def perform(self, call: ActionCall) -> ActionOutcome:
        r = await self.http.put(f"/guilds/1/bans/{call.target.user_id}", json={})
        return ActionOutcome("done" if r.status_code == 204 else "failed", f"HTTP {r.status_code}")

    async def verify(self, call: ActionCall) -> ActionOutcome | None:
        return None

    async def aclose(self) -> None:
        await self.http.aclose()


def config() -> Config:
    demo = SourceConfig("demo", "demo", "c", True, DemoSettings())
    return Config(
        None,
        CockpitSettings(community="c"),
        None,
        [demo],
        sections={
            "moderation": ModerationSettings(auto_cap={"count": 100_000, "within": "10m"}),
            "alerting": AlertingSettings(),
        },
    )


async def run(target: str, posts: int, stand: StandIn) -> list[float]:
    store = await open_store(target)
    holder = await open_store(target)  # the executor's own handle, as in the collector
    cfg = config()
    automation = Automation(store, load_registry(), cfg)
    alerts = AlertService(store, RULES, [], cfg.alerting, automation=automation)
    writer = BatchingWriter(store)
    await alerts.start(writer, warmup=False)
    ex = ActionExecutor(holder, {("discord", "c"): HttpActor(stand.url)}, "bench:1:x")
    await ex.start()
    latencies: list[float] = []
    try:
        for i in range(posts):
            uid = f"9{i:06d}"
            post = Activity(
                platform="discord",
                source_id=f"b{i}",
                kind=Kind.MESSAGE,
                ts=datetime.now(UTC),
                channel="general",
                channel_id="g",
                author=f"spam{i}",
                author_id=uid,
                text="get FREE NITRO https://dlscord.gift/x",
                community="c",
            )
            await writer.write_result([post])
            stored = time.perf_counter()
            end = stored + 10
            while uid not in stand.arrived and time.perf_counter() < end:
                await asyncio.sleep(0.002)
            if uid not in stand.arrived:
                raise SystemExit(f"post {i}: no ban within 10 s")
            latencies.append((stand.arrived[uid] - stored) * 1000)
            await asyncio.sleep(0.02)
    finally:
        await ex.stop()
        await writer.close()
        await alerts.close()
        await holder.close()
        await store.close()
    return latencies


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=150)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    ap.add_argument("--url", help="a PostgreSQL admin URL (default: a throwaway server)")
    a = ap.parse_args()
    stand = StandIn()
    with tempfile.TemporaryDirectory() as tmp, server(a.url) as srv:
        targets = {"sqlite": str(Path(tmp) / "a.db"), "postgresql": srv.fresh_db()}
        print(f"{'store':<12} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  (budget p99 < 1000 ms)")
        for name, target in targets.items():
            if a.only and name != a.only:
                continue
            stand.arrived.clear()
            lat = sorted(await run(target, a.posts, stand))
            p50 = statistics.median(lat)
            p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
            verdict = "met" if p99 < 1000 else "MISSED"
            print(f"{name:<12} {p50:8.1f} {p99:8.1f} {lat[-1]:8.1f}  {verdict}")
        srv.drop_db(targets["postgresql"])
    stand.server.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
