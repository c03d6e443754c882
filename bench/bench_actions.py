"""An operator's request to the platform call and back, through the store: p50 and p99
(budget p99 < 500 ms), on SQLite and PostgreSQL.

The submitter and the token holder are separate store handles (as an attached cockpit and
`cockpit collect` are); the holder's actor makes a real HTTP call to a loopback stand-in.
Latency is submit → the submitter sees the outcome (`wait_for_outcome`).

Run: .venv/bin/python bench/bench_actions.py [--requests 200] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from pgbench_server import server

from cockpit.moderation.executor import ActionExecutor
from cockpit.moderation.repository import NewCase
from cockpit.moderation.service import wait_for_outcome
from cockpit.plugin_api import ACTIONS, ActionCall, ActionOutcome, ActionTarget
from cockpit.store import open_store
from cockpit.timeutil import utcnow


class StandIn:
    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class HttpActor:
    """Bans with one PUT, as Discord's REST does."""

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


async def run(target: str, n: int, url: str) -> list[float]:
    submitter = await open_store(target)
    holder = await open_store(target)
    ex = ActionExecutor(holder, {("discord", "c"): HttpActor(url)}, "bench:1:x", wake_every=1.0)
    await ex.start()
    out = []
    try:
        for i in range(n):
            t = time.perf_counter()
            case = await submitter.moderation.submit(
                NewCase(
                    "c",
                    "ban",
                    "bench",
                    "ops",
                    f"u{i}",
                    [ActionTarget("discord", "c", user_id=str(i))],
                ),
                utcnow(),
            )
            done = await wait_for_outcome(submitter, case.number, 10, "ops")
            assert done.state == "done", done
            out.append((time.perf_counter() - t) * 1000)
    finally:
        await ex.stop()
        await holder.close()
        await submitter.close()
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    ap.add_argument("--url", help="a PostgreSQL admin URL (default: a throwaway server)")
    a = ap.parse_args()
    stand = StandIn()
    with tempfile.TemporaryDirectory() as tmp, server(a.url) as srv:
        targets = {"sqlite": str(Path(tmp) / "a.db"), "postgresql": srv.fresh_db()}
        print(f"{'store':<12} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  (budget p99 < 500 ms)")
        for name, target in targets.items():
            if a.only and name != a.only:
                continue
            lat = sorted(await run(target, a.requests, stand.url))
            p50 = statistics.median(lat)
            p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
            verdict = "met" if p99 < 500 else "MISSED"
            print(f"{name:<12} {p50:8.1f} {p99:8.1f} {lat[-1]:8.1f}  {verdict}")
        srv.drop_db(targets["postgresql"])
    stand.server.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
