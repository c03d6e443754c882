"""Issue 7 accepted end to end: `cockpit collect` as a real process against every stand-in.

Telegram (getUpdates, with a 429 storm), Discord (REST under rate limits + Gateway) and
Discourse run in this process on 127.0.0.1; Slack and WhatsApp deliveries are signed (and
forged) here and posted to the collector's own webhook server. Messages keep flowing while
the collector is killed with SIGKILL and started again; webhook deliveries that got no 200
are sent again, as the platforms retry them. At the end every message is stored exactly
once, nothing forged is, and both a cockpit TUI attached to the store (Textual's Pilot) and a
read-only store (what `cockpit --attach` opens) saw the rows arrive while the collector ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from discord_fake import (
    API,
    GUILD,
    TOKEN,
    FakeDiscordRest,
    FakeGateway,
    Limits,
    api_message,
    running,
    snowflake_at,
)
from fakeplatform import serve
from test_connector_discourse import FakeDiscourse, post
from test_connector_telegram import FakeTelegram, msg_update
from websockets.exceptions import ConnectionClosed

from cockpit.app import CockpitApp
from cockpit.config import load_config
from cockpit.plugins.slack.events import sign as slack_sign
from cockpit.plugins.whatsapp.cloud import sign as whatsapp_sign
from cockpit.registry import registry
from cockpit.store.base import FeedQuery
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_collect import load_health
from cockpit.widgets.feed import FeedView

pytestmark = pytest.mark.timeout(150)

FIXTURES = Path(__file__).parent / "fixtures"
TG_TOKEN = "T0K"
TG_CHAT = "-1001234567890"
CHANNEL = "1100000000000000001"
SLACK_SECRET = "e2e-slack-signing-secret"
WA_SECRET = "e2e-app-secret"
WA_VERIFY = "e2e-verify"
DEADLINE = 30.0  # seconds any one condition may take on a loaded 2-core box
STORM = 2  # 429s in a row from getUpdates, each asking for 3 s


class ReadyGateway(FakeGateway):
    """Knows which connection has had its READY, so live events go only to a session."""

    ready_conn: Any = None
    live_sent = 0

    async def dispatch(self, event: str, d: Any) -> None:
        await super().dispatch(event, d)
        if event == "READY":
            self.ready_conn = self.conn

    async def live(self, event: str, d: Any) -> bool:
        if self.conn is None or self.ready_conn is not self.conn:
            return False  # between connect and READY: the backfill after READY reads it
        with contextlib.suppress(ConnectionClosed, OSError):
            await self.dispatch(event, d)
            self.live_sent += 1
            return True
        return False  # the collector died under us: the next READY backfills it


@dataclass
class Delivery:
    """A webhook delivery: the platform keeps retrying it until it is answered 200."""

    path: str
    body: bytes
    slack: bool
    attempts: int = 0


@dataclass
class World:
    """Everything the stand-ins produced, by (platform, source_id) -> text."""

    tg: FakeTelegram
    rest: FakeDiscordRest
    gateway: ReadyGateway
    forum: FakeDiscourse
    expected: dict[tuple[str, str], str] = field(default_factory=dict)
    undelivered: list[Delivery] = field(default_factory=list)
    n: int = 0
    first_snowflake: int = 0

    async def tick(self, http: httpx.AsyncClient | None) -> None:
        """One new message on every platform (webhooks only when a client is given)."""
        i = self.n = self.n + 1
        text = f"tg {i} <b>hi</b>"
        self.tg.pending.append(msg_update(1000 + i, i, text))
        self.expected["telegram", f"{TG_CHAT}:{i}"] = text

        mid = self.first_snowflake + (i << 22)
        msg = api_message(mid, CHANNEL, f"dc {i} **hi**", 200 + i % 7, guild_id=GUILD["id"])
        self.rest.post(CHANNEL, msg)  # REST has it from now on, whatever the Gateway does
        self.expected["discord", str(mid)] = msg["content"]
        await self.gateway.live("MESSAGE_CREATE", msg)

        p = post(100 + i)
        self.forum.posts.append(p)
        self.expected["discourse", str(p["id"])] = p["raw"]

        if http is not None:
            for delivery in (self.slack(i), self.whatsapp(i)):
                await deliver(http, delivery, self.undelivered)

    def slack(self, i: int, expect: bool = True) -> Delivery:
        event = json.loads((FIXTURES / "slack_events" / "message.json").read_bytes())
        ts = f"1709370000.{i:06d}"
        text = f"slack {i} <script>x</script>"
        event["event"].update(ts=ts, event_ts=ts, text=text, client_msg_id=f"e2e-{i}")
        event["event_id"] = f"EvE2E{i:06d}"
        if expect:
            self.expected["slack", f"C01GENERAL:{ts}"] = text
        return Delivery("/slack/events", json.dumps(event).encode(), slack=True)

    def whatsapp(self, i: int, expect: bool = True) -> Delivery:
        raw = (FIXTURES / "whatsapp_cloud" / "text_message.json").read_bytes()
        delivery = json.loads(raw)
        message = delivery["entry"][0]["changes"][0]["value"]["messages"][0]
        text = f"wa {i} <i>oi</i>"
        message.update(id=f"wamid.E2E{i:06d}", text={"body": text})
        if expect:
            self.expected["whatsapp", message["id"]] = text
        return Delivery("/whatsapp", json.dumps(delivery).encode(), slack=False)


def slack_headers(
    body: bytes, stamp: int | None = None, secret: str = SLACK_SECRET
) -> dict[str, str]:
    ts = str(int(time.time()) if stamp is None else stamp)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": slack_sign(secret.encode(), ts, body),
        "Content-Type": "application/json",
    }


def whatsapp_headers(body: bytes, secret: str = WA_SECRET) -> dict[str, str]:
    return {
        "X-Hub-Signature-256": whatsapp_sign(secret.encode(), body),
        "Content-Type": "application/json",
    }


async def deliver(http: httpx.AsyncClient, d: Delivery, undelivered: list[Delivery]) -> None:
    """Post once; anything but a 200 (refused connection, a kill mid-request, a 503) is retried
    later, as Slack and Meta do: Slack marks its retries with X-Slack-Retry-Num."""
    headers = slack_headers(d.body) if d.slack else whatsapp_headers(d.body)
    if d.slack and d.attempts:
        headers |= {"X-Slack-Retry-Num": str(d.attempts), "X-Slack-Retry-Reason": "timeout"}
    d.attempts += 1
    try:
        answer = await http.post(d.path, content=d.body, headers=headers)
        ok = answer.status_code == 200
    except httpx.TransportError:
        ok = False
    if not ok:
        undelivered.append(d)


async def until(what: str, check: Callable[[], Awaitable[bool]], log: Path) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while not await check():
        if loop.time() > end:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise AssertionError(
                f"not within {DEADLINE:g} s: {what}\n--- collector log ---\n{tail}"
            )
        await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp_path: Path, port: int, tg: str, discord: str, forum: str) -> Path:
    path = tmp_path / "cockpit.toml"
    path.write_text(
        f"""[cockpit]
community = "Builders"

[collect]
port = {port}
health_every = 0.2

[[sources]]
type = "telegram"
name = "tg"
token = "{TG_TOKEN}"
base_url = "{tg}"
poll_timeout = 1
limit = 5

[[sources]]
type = "discord"
name = "dc"
token = "{TOKEN}"
guild_ids = ["{GUILD["id"]}"]
channel_ids = ["{CHANNEL}"]
base_url = "{discord}"
backfill_days = 0

[[sources]]
type = "discourse"
name = "forum"
base_url = "{forum}"
api_key = "K"
poll_interval = 1
backfill_pages = 2

[[sources]]
type = "slack"
name = "slack"
signing_secret = "{SLACK_SECRET}"

[[sources]]
type = "whatsapp"
name = "wa"
app_secret = "{WA_SECRET}"
verify_token = "{WA_VERIFY}"
""",
        encoding="utf-8",
    )
    return path


class Collector:
    """`python -m cockpit collect` as a child process, its output in a log file."""

    def __init__(self, config: Path, db: Path, log: Path) -> None:
        self.args = ["-m", "cockpit", "--config", str(config), "--db", str(db), "collect"]
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                *self.args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    async def signal(self, sig: int) -> int:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)
        return await asyncio.wait_for(self.proc.wait(), DEADLINE)

    async def ensure_dead(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@contextlib.asynccontextmanager
async def stand_ins() -> AsyncIterator[tuple[World, str]]:
    """The polled platforms on 127.0.0.1; yields the world and Discord's REST base URL."""
    rest = FakeDiscordRest(limits=Limits(per_route=5, window=1.0))
    rest.add_guild(GUILD)
    rest.add_channel(CHANNEL, "general")
    forum = FakeDiscourse(0)
    forum.throttle = 0
    world = World(FakeTelegram(TG_TOKEN, []), rest, ReadyGateway(interval_ms=500), forum)
    world.first_snowflake = snowflake_at(datetime.now(UTC) - timedelta(hours=1))
    async with serve(world.tg), serve(forum), running(rest, world.gateway) as discord_base:
        yield world, discord_base


async def test_collect_ingests_live_survives_kill_and_429_storm_refuses_forgeries(
    tmp_path: Path,
) -> None:
    db, log = tmp_path / "cockpit.db", tmp_path / "collect.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    reader: SQLiteStore | None = None
    async with stand_ins() as (world, discord_base):
        assert discord_base.endswith(API)
        config = write_config(tmp_path, port, world.tg.base_url, discord_base, world.forum.base_url)
        collector = Collector(config, db, log)
        for _ in range(5):  # history waiting before the first start: backfilled
            await world.tick(None)

        async def serving() -> bool:
            """The webhook server answers and both webhook sources have mounted their paths."""
            params = {"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY, "hub.challenge": "42"}
            try:
                async with httpx.AsyncClient(base_url=base, timeout=5) as probe:
                    wa = await probe.get("/whatsapp", params=params)
                    slack = await probe.get("/slack/events")
            except httpx.TransportError:
                return False
            return (wa.status_code, wa.text, slack.status_code) == (200, "42", 405)

        async def stored(platform: str) -> set[str]:
            """What the store holds, read as an attached cockpit reads it."""
            sql = "SELECT source_id FROM activity WHERE platform = ?"
            if reader is not None:
                return {r[0] for r in await reader.fetchall(sql, [platform])}
            with contextlib.suppress(Exception):  # the first process may still be creating it
                probe = await SQLiteStore.open(db, readonly=True)
                try:
                    return {r[0] for r in await probe.fetchall(sql, [platform])}
                finally:
                    await probe.close()
            return set()

        def want(platform: str) -> set[str]:
            return {sid for (p, sid) in world.expected if p == platform}

        async def polled_caught_up() -> bool:
            return all([await stored(p) >= want(p) for p in ("telegram", "discord", "discourse")])

        try:
            # --- first run: the backlog, then webhooks, genuine and forged ----------------------
            await collector.start()
            await until("the collector serves its webhooks", serving, log)
            await until("the backlog of every polled platform", polled_caught_up, log)

            reader = await SQLiteStore.open(db, readonly=True)  # what `cockpit --attach` opens
            seen = await reader.feed(FeedQuery(platforms=("telegram",), limit=100))
            assert sorted(r.text for r in seen) == sorted(
                t for (p, _), t in world.expected.items() if p == "telegram"
            )

            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                # the TUI attached to the same store shows a message that arrives while it runs
                app = CockpitApp(
                    store_path=db,
                    config=load_config(config, registry()),
                    registry=registry(),
                    attach=True,
                    poll_interval=0.1,
                )
                async with app.run_test(size=(100, 30)) as pilot:
                    view = app.screen_stack[0].query_one(FeedView)
                    await world.tick(http)
                    newest = f"dc {world.n} **hi**"  # Discord's are the newest by time
                    end = asyncio.get_running_loop().time() + DEADLINE
                    while newest not in {r.text for r in view.rows} or not app.palette_members:
                        assert asyncio.get_running_loop().time() < end, "the TUI never showed it"
                        await pilot.pause(0.05)
                    assert app.writer is None  # attached: it only reads

                forged_body = world.slack(9000, expect=False).body.replace(b"slack", b"FORGED")
                forged_wa = world.whatsapp(9000, expect=False).body.replace(b"wa 9", b"FORGED 9")
                answers = [
                    await http.post("/slack/events", content=forged_body, headers=h)
                    for h in (
                        slack_headers(forged_body, secret="not-the-secret"),
                        slack_headers(forged_body, stamp=int(time.time()) - 600),
                        {"Content-Type": "application/json"},
                    )
                ] + [
                    await http.post("/whatsapp", content=forged_wa, headers=h)
                    for h in (
                        whatsapp_headers(forged_wa, secret="not-the-secret"),
                        {"Content-Type": "application/json"},
                    )
                ]
                assert [a.status_code for a in answers] == [401, 401, 401, 403, 401]
                assert "more than 5 minutes off" in answers[1].text

                # --- messages keep flowing; SIGKILL mid-stream; the platforms go on -------------
                stop_stream = asyncio.Event()

                async def stream() -> None:
                    while not stop_stream.is_set():
                        await world.tick(http)
                        await asyncio.sleep(0.03)

                first_live = world.n + 1
                streamer = asyncio.create_task(stream())
                try:
                    mid_stream = world.n + 10
                    await until(
                        "the stream reaches the store",
                        lambda: _has(stored, "telegram", f"{TG_CHAT}:{mid_stream}"),
                        log,
                    )
                    assert await collector.signal(signal.SIGKILL) == -signal.SIGKILL
                    killed_at = world.n
                    cursor_at_kill = await reader.get_cursor("telegram:tg:update_id")
                    assert cursor_at_kill is not None
                    polls_at_kill = len(world.tg.offsets)
                    rows_at_kill = len(await reader.feed(FeedQuery(limit=10_000)))
                    assert world.gateway.live_sent > 0  # some Discord messages came live

                    while world.n < killed_at + 10:  # produced while nobody listens
                        await asyncio.sleep(0.03)
                    await collector.start()
                    await until("the restarted collector serves its webhooks", serving, log)
                    world.tg.storm = STORM  # a 429 storm on getUpdates right after the restart
                    await until("the storm is over", _sync(lambda: world.tg.storm == 0), log)
                    storm_ended_at = world.n
                    while world.n < storm_ended_at + 10:
                        await asyncio.sleep(0.03)
                finally:
                    stop_stream.set()
                    await streamer

                # the platforms retry every delivery that got no 200; Slack numbers its retries
                while world.undelivered:
                    pending, world.undelivered = world.undelivered, []
                    for d in pending:
                        assert d.attempts < 20, f"{d.path} never accepted"
                        await deliver(http, d, world.undelivered)
                # a retry of a delivery that was stored (its 200 lost): stored once
                again = world.slack(first_live)
                again.attempts = 1
                await deliver(http, again, world.undelivered)
                await deliver(http, world.whatsapp(first_live), world.undelivered)
                assert world.undelivered == []

            async def everything_in() -> bool:
                return all([await stored(p) >= want(p) for p in {p for p, _ in world.expected}])

            await until("every produced message in the store", everything_in, log)
            # the attached reader follows the second process too
            assert len(await reader.feed(FeedQuery(limit=10_000))) > rows_at_kill
            assert await collector.signal(signal.SIGTERM) == 0
        finally:
            if reader is not None:
                await reader.close()
            await collector.ensure_dead()

    store = await SQLiteStore.open(db, readonly=True)
    try:
        rows = await store.fetchall(
            "SELECT platform, source_id, count(*), max(text) FROM activity GROUP BY 1, 2"
        )
        assert [r for r in rows if r[2] != 1] == []
        assert {(r[0], r[1]): r[3] for r in rows} == world.expected
        by_platform = Counter(p for p, _ in world.expected)
        webhooks = world.n - 5  # the backlog before the first start had no webhook deliveries
        assert by_platform == {
            "telegram": world.n,
            "discord": world.n,
            "discourse": world.n,
            "slack": webhooks,
            "whatsapp": webhooks,
        }
        assert world.n >= killed_at + 20
        forged = await store.fetchall("SELECT count(*) FROM activity WHERE text LIKE '%FORGED%'")
        assert forged[0][0] == 0
        assert await store.quarantine() == []
        # the restart confirmed from the stored cursor: Telegram sent back what was not
        assert int(cursor_at_kill) + 1 in world.tg.offsets[polls_at_kill:]
        health = {h.name: h for h in await load_health(store)}
        assert sorted(health) == ["dc", "forum", "slack", "tg", "wa"]
        assert {h.state for h in health.values()} == {"stopped"}
        assert [health[n].type for n in sorted(health)] == [
            "discord",
            "discourse",
            "slack",
            "telegram",
            "whatsapp",
        ]
        assert (
            health["tg"].rate_limit_waits >= STORM and health["tg"].rate_limit_wait_s >= 3 * STORM
        )
        assert health["tg"].events > 0
        assert health["dc"].last_event is not None and health["forum"].last_ok is not None
    finally:
        await store.close()
    assert world.gateway.sessions >= 2  # a new Gateway session for the new process


async def _has(stored: Callable[[str], Awaitable[set[str]]], platform: str, source_id: str) -> bool:
    return source_id in await stored(platform)


def _sync(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def wrapped() -> bool:
        return check()

    return wrapped
