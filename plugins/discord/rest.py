"""Discord REST: what the source reads (channels, guilds, messages) and the backfill.

Discord limits each route per major parameter (a channel's messages have their own bucket)
and every bot globally (50 requests/s, announced by no header). So each channel gets its
own `ApiClient`, whose bucket wait then holds back only that channel, and all of them share
one pacer that keeps under the global rate, and one gate: a global 429 pauses them all. The
pacer and the gate belong to the bot (its token): the live source and the actor that
moderates with the same token share them.
429s (per route or global) and 5xx are the shared client's business.

Backfill reads forward with `after=` (answers come newest first; they are reordered) and
writes each page with the channel's cursor, the newest id stored, so a crash resumes after
the last stored page. A first run starts `after` the snowflake of the backfill horizon.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cockpit.model import Record
from cockpit.plugin_api import Sink
from cockpit.plugin_kit import (
    ApiClient,
    ApiError,
    AuthError,
    Backoff,
    ConnectorHealth,
    Gate,
    Sleep,
)

from .model import ChannelInfo
from .payloads import message_records, snowflake

PAGE = 100
AUTH_HINT = "check `token` (Bot token from the Discord developer portal, without the `Bot ` prefix)"


class Pacer:
    """At most `rate` starts per second across every caller (the unannounced global limit)."""

    def __init__(self, rate: float, sleep: Sleep, clock: Callable[[], float]) -> None:
        self.gap = 1.0 / rate
        self.sleep = sleep
        self.clock = clock
        self._next = 0.0

    async def __call__(self) -> None:
        now = self.clock()
        start = max(now, self._next)
        self._next = start + self.gap
        if start > now:
            await self.sleep(start - now)


class BotLimits:
    """The global limit of one bot: its pacer and its gate, shared by every `DiscordRest` of
    the same token in this process (the live source and its actor)."""

    def __init__(self, pace: Pacer) -> None:
        self.pace = pace
        self.gate = Gate()


_BOTS: weakref.WeakValueDictionary[tuple[str, int, int], BotLimits] = weakref.WeakValueDictionary()


def shared_limits(token: str, rate: float, sleep: Sleep, clock: Callable[[], float]) -> BotLimits:
    """The one `BotLimits` of this token (and clock: tests with their own clocks stay apart)."""
    key = (hashlib.sha256(token.encode()).hexdigest(), id(sleep), id(clock))
    found = _BOTS.get(key)
    if found is None:
        found = BotLimits(Pacer(rate, sleep, clock))
        _BOTS[key] = found
    return found


@dataclass
class DiscordRest:
    """The REST side of one source: a client per bucket, one pacer, clear permission errors."""

    label: str
    base_url: str
    token: str
    health: ConnectorHealth
    global_rate: float = 45.0
    sleep: Sleep = asyncio.sleep
    clock: Callable[[], float] = time.monotonic
    rng: Callable[[], float] = random.random
    backoff: Backoff = field(default_factory=Backoff)
    clients: dict[str, ApiClient] = field(default_factory=dict, init=False)
    # a global 429 stops every bucket's client, not only the one that got it, and every
    # other DiscordRest of the same bot in this process (shared_limits)
    gate: Gate = field(default_factory=Gate, init=False)

    def __post_init__(self) -> None:
        self.bot = shared_limits(self.token, self.global_rate, self.sleep, self.clock)
        self.pace, self.gate = self.bot.pace, self.bot.gate  # held while this client lives

    def client(self, bucket: str) -> ApiClient:
        found = self.clients.get(bucket)
        if found is None:
            found = self.clients[bucket] = ApiClient(
                self.label,
                self.base_url,
                headers={"Authorization": f"Bot {self.token}"},
                backoff=self.backoff,
                sleep=self.sleep,
                clock=self.clock,
                rng=self.rng,
                on_wait=self.health.waited,
                auth_hint=AUTH_HINT,
                gate=self.gate,
            )
        return found

    @property
    def requests(self) -> int:
        return sum(c.stats.requests for c in self.clients.values())

    @property
    def rate_limit_waits(self) -> int:
        return sum(c.stats.rate_limit_waits for c in self.clients.values())

    async def aclose(self) -> None:
        for c in self.clients.values():
            await c.aclose()
        self.clients.clear()

    async def get(self, path: str, what: str, bucket: str = "", **params: Any) -> Any:
        await self.pace()
        return await self.client(bucket).get_json(path, what=what, params=params or None)

    async def me(self) -> dict[str, Any]:
        return _dict(await self.get("/users/@me", "the bot's user"), self.label, "/users/@me")

    async def gateway_url(self) -> str:
        body = _dict(await self.get("/gateway/bot", "the Gateway URL"), self.label, "/gateway/bot")
        url = body.get("url")
        if not isinstance(url, str) or not url:
            raise ApiError(f"{self.label}: /gateway/bot answered no url")
        return url

    async def guild(self, gid: str) -> dict[str, Any]:
        try:
            return _dict(await self.get(f"/guilds/{gid}", f"guild {gid}"), self.label, "guild")
        except ApiError as exc:
            raise _access(exc, self.label, f"guild {gid}", "is the bot in this server?") from None

    async def guild_channels(self, gid: str) -> list[dict[str, Any]]:
        try:
            body = await self.get(f"/guilds/{gid}/channels", f"channels of guild {gid}")
        except ApiError as exc:
            raise _access(exc, self.label, f"guild {gid}", "is the bot in this server?") from None
        if not isinstance(body, list):
            raise ApiError(f"{self.label}: the channels of guild {gid} are not a list")
        return [c for c in body if isinstance(c, dict)]

    async def channel(self, cid: str) -> dict[str, Any]:
        try:
            body = await self.get(f"/channels/{cid}", f"channel {cid}", cid)
        except ApiError as exc:
            raise _access(exc, self.label, f"channel {cid}", "give it View Channel") from None
        return _dict(body, self.label, f"channel {cid}")

    async def messages(self, chan: ChannelInfo, **params: Any) -> list[Any]:
        """One page of a channel's messages, oldest first."""
        cid = chan.channel_id
        try:
            body = await self.get(
                f"/channels/{cid}/messages", f"messages of #{chan.channel}", cid, **params
            )
        except ApiError as exc:
            hint = "give it View Channel and Read Message History"
            raise _access(exc, self.label, f"#{chan.channel} ({cid})", hint) from None
        if not isinstance(body, list):
            raise ApiError(f"{self.label}: the messages of #{chan.channel} are not a list")
        return sorted(body, key=snowflake_order)


def _dict(body: Any, label: str, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(f"{label}: {what} answered something that is not an object")
    return body


def _access(exc: ApiError, label: str, what: str, hint: str) -> ApiError:
    """A 403 (Missing Access, 50001) or 404 on a configured id: one line naming it."""
    if exc.status == 403 or (exc.status == 404 and not isinstance(exc, AuthError)):
        why = "cannot read" if exc.status == 403 else "does not find"
        return AuthError(f"{label}: the bot {why} {what}; {hint}", exc.status)
    return exc


def snowflake_order(msg: Any) -> int:
    """Snowflake order; malformed ids sort first and are quarantined on their own."""
    try:
        return int(snowflake(msg.get("id") if isinstance(msg, dict) else None, "id"))
    except ValueError:
        return -1


async def backfill_channel(
    rest: DiscordRest,
    sink: Sink,
    chan: ChannelInfo,
    cursor_key: str,
    after: int,
    origin: str,
    on_page: Callable[[list[Record]], None] | None = None,
) -> int:
    """Read forward from `after` to the newest message; the last id stored (the cursor)."""
    while True:
        page = await rest.messages(chan, after=after, limit=PAGE)
        records: list[Record] = []
        newest = after
        for msg in page:
            records.extend(message_records(msg, chan, origin))
            mid = snowflake_order(msg)
            newest = max(newest, mid)
        if newest > after:
            await sink.write(records, cursor=(cursor_key, str(newest)))
        elif records:  # only malformed ids: keep the quarantine, the cursor cannot move
            await sink.write(records)
        if on_page is not None:
            on_page(records)
        if len(page) < PAGE or newest <= after:
            return after if newest <= after else newest
        after = newest
