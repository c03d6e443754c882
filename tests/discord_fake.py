"""A local Discord: the REST routes the connector reads and a Gateway over WebSocket.

REST answers as Discord does: messages newest first, `after`/`before`/`limit`, per-route
buckets with `X-RateLimit-*` headers and 429s (per route or global) when a client goes
past them. The clock is injectable, so tests share a fake one with the client and never
wait. The Gateway speaks HELLO, IDENTIFY/READY, RESUME/RESUMED (replaying what was missed),
heartbeats and ACKs, and can be told to drop, reconnect, invalidate or close with a code.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fakeplatform import FakePlatform, json_response, serve
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed

from cockpit.collect.webhooks import Request, Response

API = "/api/v10"
TOKEN = "T0KEN"
GUILD = {"id": "1087439560996614184", "name": "Cockpit Testers"}
EPOCH = datetime(2015, 1, 1, tzinfo=UTC)


def snowflake_at(ts: datetime, n: int = 0) -> int:
    return (int((ts - EPOCH) / timedelta(milliseconds=1)) << 22) + n


def api_message(mid: int, cid: str, text: str, user: int = 201, **extra: Any) -> dict[str, Any]:
    """A Message as the REST API and MESSAGE_CREATE send it."""
    ts = EPOCH + timedelta(milliseconds=mid >> 22)
    msg = {
        "id": str(mid),
        "channel_id": cid,
        "type": 0,
        "content": text,
        "timestamp": ts.isoformat(),
        "edited_timestamp": None,
        "author": {
            "id": str(990000000000000000 + user),
            "username": f"user{user}",
            "discriminator": "0",
            "global_name": f"User {user}",
        },
        "attachments": [],
        "mentions": [],
        "reactions": [],
    }
    msg.update(extra)
    return msg


class Generated(Sequence[dict[str, Any]]):
    """`count` messages of one channel made on demand (the bench holds 100,000 of them)."""

    def __init__(self, cid: str, first: int, count: int, step: int = 1 << 22) -> None:
        self.cid, self.first, self.count, self.step = cid, first, count, step

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self.count))]
        if i < 0:
            i += self.count
        if not 0 <= i < self.count:
            raise IndexError(i)
        return api_message(
            self.first + i * self.step, self.cid, f"message {i} <b>hi</b>", 200 + i % 50
        )


@dataclass
class Limits:
    """Discord-like limits: `per_route` calls per `window` s in each bucket, `global_rate`/s."""

    per_route: int = 5
    window: float = 1.0
    global_rate: float = 50.0
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, tuple[float, int]] = field(default_factory=dict)  # reset at, used
    global_window: tuple[float, int] = (0.0, 0)
    rejected: int = 0
    # per-route limits that differ from `per_route`/`window`: the first key that is part of
    # the bucket's name gives (calls, window s), e.g. {"bulk-delete": (1, 1.0)}
    routes: dict[str, tuple[int, float]] = field(default_factory=dict)

    def limit_of(self, bucket: str) -> tuple[int, float]:
        for part, limit in self.routes.items():
            if part in bucket:
                return limit
        return self.per_route, self.window

    def check(self, bucket: str) -> tuple[int, dict[str, str]]:
        """(0 or the 429 status, headers) for one call in `bucket`."""
        per_route, window = self.limit_of(bucket)
        now = self.clock()
        start, used = self.global_window
        if now >= start + 1.0:
            start, used = now, 0
        if used >= self.global_rate:
            self.rejected += 1
            wait = f"{math.ceil((start + 1.0 - now) * 1000) / 1000:.3f}"
            return 429, {
                "Retry-After": wait,
                "X-RateLimit-Global": "true",
                "X-RateLimit-Scope": "global",
            }
        self.global_window = (start, used + 1)
        reset, count = self.buckets.get(bucket, (0.0, 0))
        if now >= reset:
            reset, count = now + window, 0
        left = math.ceil((reset - now) * 1000) / 1000  # rounded up: waiting it out is enough
        if count >= per_route:
            self.rejected += 1
            return 429, {
                "Retry-After": f"{left:.3f}",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{left:.3f}",
                "X-RateLimit-Bucket": bucket,
                "X-RateLimit-Scope": "user",
            }
        self.buckets[bucket] = (reset, count + 1)
        return 0, {
            "X-RateLimit-Limit": str(per_route),
            "X-RateLimit-Remaining": str(per_route - count - 1),
            "X-RateLimit-Reset-After": f"{left:.3f}",
            "X-RateLimit-Bucket": bucket,
        }


class FakeDiscordRest(FakePlatform):
    """The REST routes, with scripted answers (`script`) served before the real ones."""

    def __init__(self, token: str = TOKEN, limits: Limits | None = None) -> None:
        super().__init__()
        self.token = token
        self.limits = limits
        self.guilds: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, Sequence[dict[str, Any]]] = {}
        self.script: list[Response | None] = []  # None: answer this one for real
        self.gateway_url = ""
        self.route(f"{API}/users/@me", self._me)
        self.route(f"{API}/gateway/bot", self._gateway)

    def add_guild(self, guild: dict[str, Any]) -> None:
        gid = guild["id"]
        self.guilds[gid] = guild
        self.route(f"{API}/guilds/{gid}", self._serve(lambda r: guild))
        self.route(
            f"{API}/guilds/{gid}/channels",
            self._serve(lambda r: [c for c in self.channels.values() if c["guild_id"] == gid]),
        )

    def add_channel(
        self,
        cid: str,
        name: str,
        messages: Sequence[dict[str, Any]] = (),
        guild: str = GUILD["id"],
        kind: int = 0,
    ) -> None:
        channel = {"id": cid, "name": name, "type": kind, "guild_id": guild, "parent_id": None}
        self.channels[cid] = channel
        self.messages[cid] = list(messages) if isinstance(messages, list | tuple) else messages
        self.route(f"{API}/channels/{cid}", self._serve(lambda r: channel, cid))
        self.route(f"{API}/channels/{cid}/messages", self._serve(lambda r: self._page(cid, r), cid))

    def post(self, cid: str, msg: dict[str, Any]) -> None:
        """A message that appears while the connector runs (REST sees it from now on)."""
        held = self.messages[cid]
        assert isinstance(held, list)
        held.append(msg)

    def _page(self, cid: str, request: Request) -> list[dict[str, Any]]:
        msgs = self.messages[cid]
        limit = min(100, int(request.arg("limit") or 50))
        ids = _Ids(msgs)
        after, before = request.arg("after"), request.arg("before")
        if after is not None:
            start = bisect.bisect_right(ids, int(after))
            chosen = list(msgs[start : start + limit])
        else:
            end = bisect.bisect_left(ids, int(before)) if before is not None else len(msgs)
            chosen = list(msgs[max(0, end - limit) : end])
        return chosen[::-1]  # newest first, as Discord answers

    def _serve(self, body: Callable[[Request], Any], bucket: str = "") -> Any:
        async def handle(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bot {self.token}":
                return json_response(401, {"message": "401: Unauthorized", "code": 0})
            scripted = self.script.pop(0) if self.script else None
            if scripted is not None:
                return scripted
            headers: dict[str, str] = {}
            if self.limits is not None:
                status, headers = self.limits.check(bucket or request.path)
                if status:
                    wait = float(headers["Retry-After"])
                    glob = headers.get("X-RateLimit-Global") == "true"
                    return json_response(
                        429,
                        {
                            "message": "You are being rate limited.",
                            "retry_after": wait,
                            "global": glob,
                        },
                        headers,
                    )
            return json_response(200, body(request), headers)

        return handle

    async def _me(self, request: Request) -> Response:
        return await self._serve(lambda r: {"id": "1", "username": "cockpit-bot", "bot": True})(
            request
        )

    async def _gateway(self, request: Request) -> Response:
        return await self._serve(lambda r: {"url": self.gateway_url, "shards": 1})(request)


class _Ids(Sequence[int]):
    def __init__(self, msgs: Sequence[dict[str, Any]]) -> None:
        self.msgs = msgs

    def __len__(self) -> int:
        return len(self.msgs)

    def __getitem__(self, i: Any) -> Any:
        return int(self.msgs[i]["id"])


class FakeGateway:
    """One Gateway endpoint; the test drives it (`dispatch`, `drop`, `send_op`, `close`)."""

    def __init__(self, token: str = TOKEN, interval_ms: int = 250) -> None:
        self.token = token
        self.interval_ms = interval_ms
        self.url = ""
        self.conn: ServerConnection | None = None
        self.seq = 0
        self.session = ""
        self.sessions = 0
        self.logins: list[tuple[int, dict[str, Any]]] = []
        self.heartbeats = 0
        self.ack = True
        self.close_on_identify: int | None = None
        self.guild_creates: list[dict[str, Any]] = []
        self.missed: list[tuple[str, Any]] = []  # replayed on RESUME
        self.readies = 0

    async def handler(self, ws: ServerConnection) -> None:
        self.conn = ws
        with contextlib.suppress(ConnectionClosed):
            await self._serve(ws)

    async def _serve(self, ws: ServerConnection) -> None:
        await ws.send(json.dumps({"op": 10, "d": {"heartbeat_interval": self.interval_ms}}))
        async for raw in ws:
            frame = json.loads(raw)
            op, d = frame.get("op"), frame.get("d")
            if op == 1:
                self.heartbeats += 1
                if self.ack:
                    await ws.send(json.dumps({"op": 11}))
            elif op == 2:
                self.logins.append((2, d))
                if d.get("token") != self.token:
                    await ws.close(4004, "Authentication failed.")
                    return
                if self.close_on_identify:
                    await ws.close(self.close_on_identify, "Disallowed intent(s).")
                    return
                self.sessions += 1
                self.session, self.seq = f"session-{self.sessions}", 0
                await self.dispatch(
                    "READY",
                    {
                        "v": 10,
                        "session_id": self.session,
                        "resume_gateway_url": self.url,
                        "guilds": [],
                    },
                )
                self.readies += 1
                for guild in self.guild_creates:
                    await self.dispatch("GUILD_CREATE", guild)
            elif op == 6:
                self.logins.append((6, d))
                if d.get("session_id") != self.session or d.get("seq") != self.seq:
                    await ws.send(json.dumps({"op": 9, "d": False}))
                    continue
                for event, data in self.missed:
                    await self.dispatch(event, data)
                self.missed.clear()
                await self.dispatch("RESUMED", {})
                self.readies += 1

    async def dispatch(self, event: str, d: Any) -> None:
        assert self.conn is not None
        self.seq += 1
        await self.conn.send(json.dumps({"op": 0, "s": self.seq, "t": event, "d": d}))

    async def send_op(self, op: int, d: Any = None) -> None:
        assert self.conn is not None
        await self.conn.send(json.dumps({"op": op, "d": d}))

    async def drop(self) -> None:
        """The network fails: the TCP connection goes without a close frame."""
        assert self.conn is not None
        self.conn.transport.abort()


@asynccontextmanager
async def running(rest: FakeDiscordRest, gateway: FakeGateway | None = None) -> AsyncIterator[str]:
    """Serve both on 127.0.0.1; yields the REST base URL (`.../api/v10`)."""
    async with serve(rest):
        if gateway is None:
            yield rest.base_url + API
            return
        async with ws_serve(gateway.handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            gateway.url = rest.gateway_url = f"ws://127.0.0.1:{port}"
            yield rest.base_url + API


async def until(check: Callable[[], Any], timeout: float = 10.0) -> None:
    """Wait for a condition (sync or async) the test expects; fail loudly if it never holds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout} s: {check}")
        await asyncio.sleep(0.01)
