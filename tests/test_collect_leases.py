"""Two real `cockpit collect` processes on one store (SQLite file and PostgreSQL server).

Each follows its own JSON Lines file (one per platform, say); one of them evaluates the
alert rules for every row in the store and pages, the other writes only. The test kills the
evaluating collector with SIGKILL: the other takes the alert lease over (a higher fencing
token), pages for what comes next, and does not page again for what was already paged. A
restarted collector resumes its file without losing or doubling a row, and does not take
the lease back while the other holds it. Pages arrive at a real apprise `json://` endpoint.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cockpit.errors import StoreError
from cockpit.store import open_store
from cockpit.store.base import Lease, Store

pytestmark = pytest.mark.timeout(180)

TTL = 2.0  # the collectors' lease_ttl: a take-over within about 4/3 of it
DEADLINE = 45.0  # seconds any one condition may take on a loaded 2-core box


class Inbox:
    """apprise's json:// posts land here."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                inbox.received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def pages(self, word: str) -> int:
        return sum(word in (r.get("message", "") + r.get("title", "")) for r in self.received)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    yield box
    box.server.shutdown()


def config(tmp: Path, name: str, store: str, inbox: Inbox) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(
        f"""
[cockpit]
community = "c"
store = {json.dumps(store)}

[collect]
port = 0
health_every = 0.5
lease_ttl = {TTL}

[[sources]]
type = "jsonl"
name = "{name}"
path = "{name}.jsonl"
poll_interval = 0.05

[alerting]
group_wait = "0s"
evaluation_interval = "1s"

[[rules]]
name = "scam"
kind = "keyword"
keywords = ["free nitro"]
severity = "critical"

[[receivers]]
name = "oncall"
urls = ["{inbox.url}"]
""",
        encoding="utf-8",
    )
    (tmp / f"{name}.jsonl").touch()
    return path


class Collector:
    def __init__(self, tmp: Path, name: str, cfg: Path) -> None:
        self.tmp, self.name, self.cfg = tmp, name, cfg
        self.proc: subprocess.Popen[bytes] | None = None
        self.lines = 0

    def start(self) -> None:
        log = (self.tmp / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cockpit", "--config", str(self.cfg), "collect"],
            cwd=self.tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def write(self, text: str, author: str = "") -> None:
        self.lines += 1
        i = self.lines
        record = {
            "platform": "slack" if self.name == "a" else "telegram",
            "id": f"{self.name}:{i}",
            "kind": "message",
            "ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "channel": "general",
            "author": author or f"{self.name}-member",
            "author_id": author or f"{self.name}-u",
            "text": text,
        }
        with (self.tmp / f"{self.name}.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9

    def log(self) -> str:
        return (self.tmp / f"{self.name}.log").read_text(errors="replace")


async def until(what: str, cond: Any, logs: list[Collector]) -> float:
    """Wait for `cond()` (sync or async); the seconds it took."""
    t0 = time.monotonic()
    while True:
        got = cond()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return time.monotonic() - t0
        if time.monotonic() - t0 > DEADLINE:
            tails = "\n".join(f"--- {c.name}\n{c.log()[-3000:]}" for c in logs)
            pytest.fail(f"{what}: not within {DEADLINE} s\n{tails}")
        await asyncio.sleep(0.1)


async def alert_lease(store: Store) -> Lease | None:
    try:
        leases = await store.leases()
    except StoreError:  # opened while the first collector was still creating the tables
        return None
    for lease in leases:
        if lease.name == "alerts" and lease.expires.timestamp() > time.time():
            return lease
    return None


def pid_of(lease: Lease | None) -> int | None:
    return None if lease is None else int(lease.holder.split(":")[1])


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_two_collectors_one_evaluates_and_takes_over_after_kill(
    backend: str, tmp_path: Path, inbox: Inbox, request: pytest.FixtureRequest
) -> None:
    target = (
        str(tmp_path / "shared.db") if backend == "sqlite" else request.getfixturevalue("pg_url")
    )
    a = Collector(tmp_path, "a", config(tmp_path, "a", target, inbox))
    b = Collector(tmp_path, "b", config(tmp_path, "b", target, inbox))
    both = [a, b]
    a.start()
    store: Store | None = None
    try:

        async def opened() -> bool:
            nonlocal store
            try:
                store = await open_store(target, readonly=True)
            except Exception:
                return False
            return True

        await until("the store exists", opened, both)
        assert store is not None
        st = store

        async def held_by(c: Collector) -> bool:
            return pid_of(await alert_lease(st)) == c.pid

        await until("collector a holds the alert lease", lambda: held_by(a), both)
        first = await alert_lease(st)
        assert first is not None
        b.start()
        for i in range(20):
            a.write(f"hello from a {i}")
            b.write(f"hello from b {i}")
        b.write("free nitro here, first wave")  # written by b, evaluated by a

        async def stored(n: int) -> bool:
            return (await st.stats()).activities == n

        await until("41 rows stored", lambda: stored(41), both)
        await until("the first wave paged", lambda: inbox.pages("first wave") >= 1, both)
        assert await held_by(a)  # b did not take it while a renews

        a.kill()
        took = await until("b took the alert lease over", lambda: held_by(b), both)
        second = await alert_lease(st)
        assert second is not None and second.token > first.token
        b.write("free nitro again, second wave", author="another-scammer")
        await until("the second wave paged", lambda: inbox.pages("second wave") >= 1, both)

        a.start()  # a comes back: resumes its file, does not take the lease back
        for i in range(20, 30):
            a.write(f"hello from a {i}")
        await until("every row once", lambda: stored(52), both)
        await asyncio.sleep(TTL * 2)  # a renewal round or two of the restarted a
        assert await held_by(b)
        # two pages: the first wave, then its group again with the second wave; b neither
        # re-sent the first page on taking over nor sent any page twice
        pages = [r["message"] for r in inbox.received]
        assert len(pages) == 2, pages
        assert "first wave" in pages[0] and "second wave" not in pages[0]
        assert "second wave" in pages[1]
        print(f"\n{backend}: lease moved in {took:.1f} s after kill -9 (ttl {TTL} s)")
    finally:
        for c in both:
            c.stop()
        if store is not None:
            await store.close()
    assert "Traceback" not in a.log() + b.log(), a.log()[-3000:] + b.log()[-3000:]
