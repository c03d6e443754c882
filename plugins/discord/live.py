"""The Discord live source: Gateway events as they happen, REST backfill for what it missed.

Each followed channel has a cursor, the newest message id stored with everything before it.
Backfill moves it (page by page); a Gateway message moves it only once its channel has
been backfilled on the current connection, since only then is nothing before it missing.
Every (re)connection, READY or RESUMED, backfills from the cursors again, so a gap in the
Gateway is filled over REST. Anything read twice is one row: the store keys on source_id.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from cockpit.model import Activity, Kind, Record
from cockpit.plugin_api import Sink, SourceContext
from cockpit.plugin_kit import AuthError, ConnectorHealth, Sleep, health_for, obj, utcnow

from .gateway import Gateway
from .model import SHAPE_ERRORS, ChannelInfo
from .payloads import (
    TEXT_TYPES,
    THREAD_TYPES,
    channel_from_api,
    delete_record,
    member_record,
    message_records,
    quarantine,
    reaction_record,
    time_snowflake,
)
from .rest import DiscordRest, backfill_channel, snowflake_order
from .settings import DiscordSettings

log = logging.getLogger(__name__)

_AUTHORS_KEPT = 10_000  # recent message authors, so a delete names who wrote the message
_MESSAGE_EVENTS = (
    "MESSAGE_CREATE",
    "MESSAGE_UPDATE",
    "MESSAGE_DELETE",
    "MESSAGE_DELETE_BULK",  # a moderator purging a spam wave
    "MESSAGE_REACTION_ADD",
)


class DiscordSource:
    """One bot following the configured guilds and channels."""

    def __init__(
        self,
        settings: DiscordSettings,
        ctx: SourceContext,
        *,
        health: ConnectorHealth | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.name = ctx.name
        self.settings = settings
        self.community = ctx.community
        self.origin = f"discord {ctx.name}"
        self.health = health or health_for(ctx.name)
        self.health.type, self.health.community = "discord", ctx.community
        self.sleep, self.rng, self.now = sleep, rng, now
        self.client = DiscordRest(
            f"discord source {ctx.name!r}",
            settings.base_url,
            settings.token,
            self.health,
            global_rate=settings.global_rate,
            sleep=sleep,
            rng=rng,
        )
        self.guilds: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, ChannelInfo] = {}  # followed: configured, found, threads
        self.backfilled: list[ChannelInfo] = []  # the channels read over REST
        self.caught_up: set[str] = set()
        self.marks: dict[str, int] = {}
        self.generation = 0  # connections and disconnections seen
        self.authors: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self.gateway: Gateway | None = None
        self._wanted = asyncio.Event()
        self._sink: Sink | None = None

    def cursor_key(self, channel_id: str) -> str:
        return f"discord:{self.name}:channel:{channel_id}"

    async def check(self) -> str:
        """The token, the guilds, and reading history in each channel (what `--check` shows)."""
        me = await self.client.me()
        await self.resolve()
        for chan in self.backfilled:
            await self.client.messages(chan, limit=1)
        return (
            f"bot {me.get('username', '?')}, {len(self.backfilled)} channels readable "
            f"in {len(self.guilds)} guilds"
        )

    async def resolve(self) -> None:
        """Names of the guilds, and the channels to backfill (configured, or all text ones)."""
        for gid in self.settings.guild_ids:
            self.guilds[gid] = await self.client.guild(gid)
        if self.settings.channel_ids:
            for cid in self.settings.channel_ids:
                channel = await self.client.channel(cid)
                owner = str(channel.get("guild_id"))
                if owner not in self.guilds:
                    raise AuthError(
                        f"{self.client.label}: channel {cid} is not in the configured "
                        f"`guild_ids` (it is in guild {owner}); add that guild or drop the channel"
                    )
                self._follow(channel, self.guilds[owner], {})
        else:
            for gid, guild in self.guilds.items():
                channels = await self.client.guild_channels(gid)
                self._follow_all(channels, guild)
        self.backfilled = list(self.channels.values())

    def _follow(
        self, channel: dict[str, Any], guild: dict[str, Any], names: dict[str, str]
    ) -> ChannelInfo:
        parent = channel.get("parent_id")
        chan = channel_from_api(channel, guild, names.get(str(parent)), self.community)
        self.channels[chan.channel_id] = chan
        return chan

    def _follow_all(self, channels: list[Any], guild: dict[str, Any]) -> None:
        """Text channels (when none are configured) and threads of followed channels."""
        names = {
            str(c.get("id")): str(c.get("name"))
            for c in channels
            if isinstance(c, dict) and isinstance(c.get("name"), str)
        }
        names.update({cid: chan.channel for cid, chan in self.channels.items()})
        for channel in channels:
            if not isinstance(channel, dict):
                continue
            kind, cid = channel.get("type"), str(channel.get("id"))
            if cid in self.channels:
                continue
            thread = kind in THREAD_TYPES and str(channel.get("parent_id")) in self.channels
            if thread or (kind in TEXT_TYPES and not self.settings.channel_ids):
                self._follow(channel, guild, names)

    async def run(self, sink: Sink) -> None:
        self._sink = sink
        try:
            await self.resolve()
            self.gateway = Gateway(
                self.client.label,
                self.settings.token,
                self.settings.intents,
                self.settings.intent_bits,
                self._gateway_url,
                self._on_dispatch,
                self._on_ready,
                self._on_disconnect,
                self.health,
                sleep=self.sleep,
                rng=self.rng,
            )
            await _first_to_end(self.gateway.run(), self._backfiller(sink))
        except AuthError as exc:
            self.health.failing(str(exc))
            raise
        finally:
            await self.client.aclose()

    async def _gateway_url(self) -> str:
        return self.settings.gateway_url or await self.client.gateway_url()

    async def _on_ready(self, resumed: bool) -> None:
        self.caught_up.clear()
        self._wanted.set()

    def _on_disconnect(self) -> None:
        self.generation += 1
        self.caught_up.clear()

    async def _backfiller(self, sink: Sink) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            await self.backfill(sink)

    async def backfill(self, sink: Sink) -> None:
        """Every backfilled channel from its cursor to now, a few at a time."""
        generation = self.generation
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def one(chan: ChannelInfo) -> None:
            async with gate:
                last = await self.backfill_one(sink, chan)
            if generation == self.generation:  # no disconnect since: live may move it now
                self.marks[chan.channel_id] = max(last, self.marks.get(chan.channel_id, 0))
                self.caught_up.add(chan.channel_id)

        tasks = [asyncio.create_task(one(chan)) for chan in self.backfilled]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self.health.ok(detail="live")

    async def backfill_one(self, sink: Sink, chan: ChannelInfo) -> int:
        key = self.cursor_key(chan.channel_id)
        stored = await sink.get_cursor(key)
        if stored is None and not self.settings.backfill:  # start from the newest message
            page = await self.client.messages(chan, limit=1)
            newest = max(map(snowflake_order, page), default=0)
            await sink.write([], cursor=(key, str(newest)))
            return newest
        if stored is not None:
            after = int(stored)
        elif self.settings.backfill_days:
            after = time_snowflake(self.now() - timedelta(days=self.settings.backfill_days))
        else:
            after = 0
        self.health.ok(lagging=True, detail=f"backfilling #{chan.channel}")
        last = await backfill_channel(
            self.client, sink, chan, key, after, self.origin, self._received
        )
        if stored is None and last == after:  # nothing there yet: remember where we looked
            await sink.write([], cursor=(key, str(after)))
        return last

    def _received(self, records: list[Record]) -> None:
        acts = [r for r in records if isinstance(r, Activity)]
        for a in acts:
            if a.kind is Kind.MESSAGE:
                self.authors[a.source_id] = (a.author_id, a.author)
        while len(self.authors) > _AUTHORS_KEPT:
            self.authors.popitem(last=False)
        self.health.received(len(records), max((a.ts for a in acts), default=None))

    async def _on_dispatch(self, event: str, d: Any, seq: int | None) -> None:
        sink = self._sink
        if sink is None:
            return
        cursor: tuple[str, str] | None = None
        try:
            records, cursor = self._records(event, d)
        except SHAPE_ERRORS as exc:
            q = quarantine(exc, d, self.origin)
            q.position = f"{event} (seq {seq})"
            records = [q]
        if records or cursor:
            await sink.write(records, cursor=cursor)
            self._received(records)

    def _records(self, event: str, d: Any) -> tuple[list[Record], tuple[str, str] | None]:
        """A dispatch as records (and the cursor they move); nothing for what we do not follow."""
        if event == "GUILD_CREATE" or event in ("CHANNEL_CREATE", "THREAD_CREATE"):
            self._learn(event, obj(d, event))
            return [], None
        if event in ("GUILD_MEMBER_ADD", "GUILD_MEMBER_REMOVE"):
            d = obj(d, event)
            guild = self.guilds.get(str(d.get("guild_id")))
            if guild is None:
                return [], None
            kind = Kind.JOIN if event == "GUILD_MEMBER_ADD" else Kind.LEAVE
            name = guild.get("name") if isinstance(guild.get("name"), str) else None
            return [member_record(kind, d, name, self.community, self.now())], None
        if event not in _MESSAGE_EVENTS:
            return [], None
        d = obj(d, event)
        chan = self.channels.get(str(d.get("channel_id")))
        if chan is None or str(d.get("guild_id")) not in self.guilds:
            return [], None
        if event == "MESSAGE_CREATE":
            records = message_records(d, chan, self.origin)
            return records, self._advance(chan, records)
        if event == "MESSAGE_UPDATE":
            if d.get("edited_timestamp") is None or "content" not in d:
                return [], None  # an embed unfurled, a pin: not an edit of the text
            return message_records(d, chan, self.origin, Kind.EDIT), None
        if event == "MESSAGE_DELETE":
            mid = str(d.get("id"))
            return [delete_record(d, chan, self.authors.get(mid))], None
        if event == "MESSAGE_DELETE_BULK":
            ids = d.get("ids")
            if not isinstance(ids, list):
                raise TypeError("MESSAGE_DELETE_BULK without an ids list")
            return [delete_record({"id": i}, chan, self.authors.get(str(i))) for i in ids], None
        return [reaction_record(d, chan, self.now())], None

    def _advance(self, chan: ChannelInfo, records: list[Record]) -> tuple[str, str] | None:
        """The cursor a live message may move: only in a caught-up channel, only forward."""
        cid = chan.channel_id
        first = records[0] if records else None
        if cid not in self.caught_up or not isinstance(first, Activity):
            return None
        mid = int(first.source_id)
        if mid <= self.marks.get(cid, 0):
            return None
        self.marks[cid] = mid
        return self.cursor_key(cid), str(mid)

    def _learn(self, event: str, d: dict[str, Any]) -> None:
        """Guild names, new text channels and threads of followed channels, as they appear."""
        if event == "GUILD_CREATE":
            gid = str(d.get("id"))
            if gid not in self.guilds:
                return
            if isinstance(d.get("name"), str):
                self.guilds[gid] = {**self.guilds[gid], "id": gid, "name": d["name"]}
            found = [c for key in ("channels", "threads") for c in d.get(key) or ()]
            self._follow_all(found, self.guilds[gid])
            return
        guild = self.guilds.get(str(d.get("guild_id")))
        if guild is not None:
            self._follow_all([d], guild)


async def _first_to_end(*coros: Coroutine[Any, Any, None]) -> None:
    """Run side by side; when one ends (or fails), stop the others and pass on its outcome."""
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def create(settings: Any, ctx: SourceContext) -> DiscordSource:
    return DiscordSource(settings, ctx)
