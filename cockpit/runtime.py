"""The runtime of a process that holds the sources: every configured source, the webhook
server, rules, rollups and reminders, connector health, one writer. `cockpit collect` runs
it headless; the TUI runs the same one in-process (unless attached).

Sources run under the core's `SourceRunner` (restart with backoff); a source that fails
with an `AuthError` (bad token, missing permission) is not restarted: its health says
why and the other sources go on. Health is written to the store every few seconds.
`stop()` closes the webhook server first (platforms retry what we no longer accept),
then the sources, then flushes the writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cockpit.collect.config import CollectSettings
from cockpit.collect.health import BOARD, Expected, HealthBoard, merged
from cockpit.collect.http import AuthError
from cockpit.collect.webhooks import ROUTER, WebhookRouter, WebhookServer
from cockpit.config import Config, SourceConfig
from cockpit.features import Features
from cockpit.leases import holder_name
from cockpit.moderation.executor import ActionExecutor, build_actors
from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import PreparesStore, Sink, Source
from cockpit.registry import Registry
from cockpit.sources import SourceRunner
from cockpit.store.base import Store
from cockpit.tasks import cancel_all
from cockpit.timeutil import utcnow

log = logging.getLogger("cockpit.collect")


def wants_webhooks(settings: Any) -> bool:
    """Whether a source's settings make it a webhook receiver."""
    return bool(getattr(settings, "webhook", False) or getattr(settings, "mode", "") == "webhook")


class _Guarded:
    """A source whose fatal errors end it (health: failing) instead of restarting it."""

    def __init__(self, inner: Source, board: HealthBoard) -> None:
        self.inner = inner
        self.name = inner.name
        self.board = board

    async def prepare(self, store: Store) -> None:
        """The inner source's own set-up of the store (the demo's calendar), if it has one."""
        if isinstance(self.inner, PreparesStore):
            await self.inner.prepare(store)

    async def run(self, sink: Sink) -> None:
        health = self.board.get(self.name)
        try:
            await self.inner.run(sink)
        except AuthError as exc:
            health.failing(str(exc))
            log.error("source=%s state=failing reason=%s (not restarted)", self.name, exc)
        except asyncio.CancelledError:
            health.stopped()
            raise
        except Exception as exc:
            health.failing(f"{type(exc).__name__}: {exc}")
            raise


class _Runner(SourceRunner):
    def __init__(
        self, config: Config, writer: BatchingWriter, registry: Registry, board: HealthBoard
    ) -> None:
        super().__init__(config, writer, registry)
        self.board = board

    def build(self, sc: SourceConfig) -> Source:
        health = self.board.get(sc.name)
        health.type, health.community = sc.type, sc.community
        return _Guarded(super().build(sc), self.board)


class Runtime:
    """Runs until `stop` is set; then everything held is flushed."""

    def __init__(
        self,
        config: Config,
        store: Store,
        registry: Registry,
        *,
        router: WebhookRouter = ROUTER,
        board: HealthBoard = BOARD,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self.registry = registry
        self.router = router
        self.board = board
        self.clock = clock
        self.settings: CollectSettings = config.collect
        self.router.max_body = self.settings.max_body
        self.writer = BatchingWriter(store)
        self.runner = _Runner(config, self.writer, registry, board)
        self.server: WebhookServer | None = None
        self.holder = holder_name()  # who this process is in the store's leases
        self.features = Features(
            store,
            config,
            clock,
            registry,
            holder=self.holder,
            lease_ttl=self.settings.lease_ttl,
        )
        self.features_started = False
        self.executor: ActionExecutor | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def enabled(self) -> list[SourceConfig]:
        return [sc for sc in self.config.sources if sc.enabled]

    async def start(self) -> None:
        """Everything, features first: `cockpit collect` evaluates rules from the first row."""
        await self.start_webhooks()
        await self.start_features()
        self.start_sources()

    async def start_webhooks(self) -> None:
        for sc in self.enabled:
            entry = self.board.get(sc.name)
            entry.type, entry.community = sc.type, sc.community
        if self.server is None and any(wants_webhooks(sc.settings) for sc in self.enabled):
            self.server = WebhookServer(self.router, self.settings.host, self.settings.port)
            await self.server.start()
            log.info("webhooks listening on %s:%d", self.settings.host, self.server.port)

    async def start_features(self) -> None:
        """Rules, rollups and reminders, following the writer."""
        await self.features.start(self.writer)
        self.features_started = True
        if self.store.writable:
            self.executor = ActionExecutor(
                self.store, build_actors(self.config, self.registry), self.holder, clock=self.clock
            )
            try:
                await self.executor.start()
            except Exception as exc:  # acting must never take collection down
                log.error("moderation requests will not be carried out: %s", exc)

    def start_sources(self) -> None:
        """The sources and the health they keep in the store."""
        self.runner.start()
        self._tasks.append(asyncio.create_task(self._keep_health(), name="collect-health"))
        log.info("collecting: sources=%s", ",".join(sc.name for sc in self.enabled) or "none")

    async def _keep_health(self) -> None:
        while True:
            await self.save_health()
            await asyncio.sleep(self.settings.health_every)

    async def save_health(self) -> None:
        expected = [Expected(sc.name, sc.type, sc.community) for sc in self.enabled]
        try:
            await self.store.health.save(
                merged(expected, self.board, self.runner.health), self.clock()
            )
        except Exception as exc:  # health must never take collection down
            log.warning("cannot store source health: %s", exc)

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        await cancel_all(self._tasks)
        if self.executor is not None:
            await self.executor.stop()
        await self.runner.stop()  # cancels the sources, flushes the writer
        for sc in self.enabled:
            self.board.get(sc.name).stopped()
        await self.save_health()
        await self.features.stop()
        log.info(
            "stopped: batches=%d records=%d", self.writer.stats.batches, self.writer.stats.records
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
