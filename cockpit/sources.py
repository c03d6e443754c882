"""Runs the configured live sources in one process, each restarted with backoff if it fails."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cockpit.config import Config, SourceConfig
from cockpit.model import Activity, Record
from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import PreparesStore, Source, SourceContext
from cockpit.registry import Registry
from cockpit.tasks import cancel_all
from cockpit.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass
class SourceHealth:
    name: str
    type: str
    state: str = "starting"  # starting | running | failing | stopped
    last_error: str | None = None
    restarts: int = 0
    since: datetime = field(default_factory=utcnow)
    events: int = 0  # activities this source handed over and saw stored
    last_event: datetime | None = None  # the newest of their times


class CountingSink:
    """The writer as one source sees it: counts what the source stored, for its health."""

    def __init__(self, writer: BatchingWriter, health: SourceHealth) -> None:
        self.writer = writer
        self.health = health

    async def write(self, records: Sequence[Record], cursor: tuple[str, str] | None = None) -> None:
        await self.writer.write(records, cursor)
        acts = [r for r in records if isinstance(r, Activity)]
        if acts:
            self.health.events += len(acts)
            newest = max(a.ts for a in acts)
            if self.health.last_event is None or newest > self.health.last_event:
                self.health.last_event = newest

    async def get_cursor(self, key: str) -> str | None:
        return await self.writer.get_cursor(key)


class SourceRunner:
    """Owns one task per enabled source; `stop()` cancels them and flushes the writer."""

    def __init__(self, config: Config, writer: BatchingWriter, registry: Registry) -> None:
        self.config = config
        self.writer = writer
        self.registry = registry
        self.health: dict[str, SourceHealth] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def build(self, sc: SourceConfig) -> Source:
        st = self.registry.source_types[sc.type]
        return st.create(sc.settings, SourceContext(sc.name, sc.community, self.config.base_dir))

    def start(self) -> None:
        self.writer.start()
        for sc in self.config.sources:
            if not sc.enabled:
                continue
            self.health[sc.name] = SourceHealth(sc.name, sc.type)
            self._tasks.append(asyncio.create_task(self._supervise(sc), name=f"source:{sc.name}"))

    async def _supervise(self, sc: SourceConfig) -> None:
        health = self.health[sc.name]
        delay = 1.0
        while True:
            try:
                source = self.build(sc)
                if isinstance(source, PreparesStore):
                    await source.prepare(self.writer.store)
                health.state, health.since = "running", utcnow()
                await source.run(CountingSink(self.writer, health))
                health.state = "stopped"
                return
            except asyncio.CancelledError:
                health.state = "stopped"
                raise
            except Exception as exc:
                health.state, health.since = "failing", utcnow()
                health.last_error = f"{type(exc).__name__}: {exc}"
                health.restarts += 1
                log.error("source %s failed: %s; restarting in %.0f s", sc.name, exc, delay)
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 300.0)

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        await self.writer.close()
