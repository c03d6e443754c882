"""The live demo source: writes the simulated history, then a steady trickle until cancelled."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta

from cockpit.model import Activity
from cockpit.plugin_api import Sink, SourceContext, Store
from cockpit.plugin_kit import utcnow

from .actions import state_of
from .calendar import seed_calendar
from .script import Engine
from .settings import DemoSettings

BATCH = 2000
TICK = 0.2
CATCH_UP = timedelta(seconds=60)  # a longer pause (host asleep) is filled at the natural pace


class DemoSource:
    """Implements `cockpit.plugin_api.Source`; clock and sleep are injectable for tests."""

    def __init__(
        self,
        settings: DemoSettings,
        ctx: SourceContext,
        *,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        tick: float = TICK,
        batch: int = BATCH,
    ) -> None:
        self.name = ctx.name
        self.key = f"demo:{ctx.name}"
        self.settings = settings
        self.communities = settings.communities or [ctx.community]
        self._clock = clock
        self._sleep = sleep
        self._tick = tick
        self._batch = batch
        self.engine: Engine | None = None
        self.state = state_of(ctx.name)  # what the cockpit's actions enforce (bans, locks)

    async def prepare(self, store: Store) -> None:
        """The demo's calendar (an AMA, hangouts, shifts), so every pane has something true."""
        if self.settings.calendar and store.writable:
            await seed_calendar(store.calendar, self.communities, self._clock())

    async def run(self, sink: Sink) -> None:
        now = self._clock()
        floor = _parse_cursor(await sink.get_cursor(self.key))
        start = now - timedelta(days=self.settings.history_days)
        if floor is not None and floor > start:
            start = floor
        engine = self.engine = Engine(
            seed=self.settings.seed,
            members=self.settings.members,
            communities=self.communities,
            now=now,
            start=start,
            floor=floor,
        )
        await self._write(sink, engine.advance(now))
        engine.go_live(self.settings.rate, now)
        last = now
        while True:
            await self._sleep(self._tick)
            now = self._clock()
            if now - last > CATCH_UP:
                engine.pause_live()
                await self._write(sink, engine.advance(now))
                engine.resume_live(self.settings.rate)
            else:
                await self._write(sink, engine.advance(now))
            last = now

    async def _write(self, sink: Sink, records: Iterable[Activity]) -> None:
        """In batches, each with the cursor of its last record."""
        batch: list[Activity] = []
        allows = self.state.allows
        if self.state.posted:  # what the cockpit's bot said on the simulated platforms
            posted, self.state.posted[:] = list(self.state.posted), []
            records = heapq.merge(posted, records, key=lambda r: r.ts)
        for record in records:
            if not allows(record):
                continue
            batch.append(record)
            if len(batch) >= self._batch:
                await sink.write(batch, cursor=(self.key, batch[-1].ts.isoformat()))
                batch = []
        if batch:
            await sink.write(batch, cursor=(self.key, batch[-1].ts.isoformat()))


def _parse_cursor(value: str | None) -> datetime | None:
    """A cursor we cannot read is treated as none: the demo starts afresh."""
    if not value:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None


def create(settings: DemoSettings, ctx: SourceContext) -> DemoSource:
    return DemoSource(settings, ctx)
