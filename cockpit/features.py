"""What runs beside the writer in a process that writes the store: the alert engine, the
calendar's and the scoring's rollups, and event reminders. Both `cockpit collect` and the
TUI in its in-process mode start them through here, so they behave the same.

Rollups are safe in every writer (each catches up from a high-water mark under a lock).
Alert evaluation with its paging, and reminders, must run once per store: with a `holder`
(what `Runtime` passes) each runs only while this process holds its lease, so several
collectors can share one store and one takes over when another dies (`cockpit.leases`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from cockpit.alerts.service import AlertService
from cockpit.calendar.reminders import Reminders
from cockpit.config import Config, load_config
from cockpit.errors import CockpitError
from cockpit.leases import LeaseKeeper
from cockpit.moderation.announcements import Announcer
from cockpit.moderation.automation import Automation
from cockpit.moderation.role_rewards import RoleSync
from cockpit.pipeline import BatchingWriter
from cockpit.registry import Registry
from cockpit.store.base import Lease, Store
from cockpit.tasks import cancel_all
from cockpit.timeutil import utcnow

log = logging.getLogger(__name__)
WATCH_SECONDS = 2.0  # how often cockpit.toml is checked for rule changes


class Features:
    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Callable[[], datetime] = utcnow,
        registry: Registry | None = None,
        watch_every: float = WATCH_SECONDS,
        *,
        holder: str | None = None,
        lease_ttl: float = 15.0,
    ) -> None:
        self.store = store
        self.config = config
        self.registry = registry
        self.watch_every = watch_every
        self.rules_loaded = 0  # reloads applied (for the Rules view and tests)
        self._writer: BatchingWriter | None = None
        self.clock = clock
        self.alerts: AlertService | None = None
        self.calendar = store.calendar
        self.scoring = store.scoring(config.scoring)
        self.holder = holder
        self.lease_ttl = lease_ttl
        self.keepers: dict[str, LeaseKeeper] = {}
        self._stop = asyncio.Event()
        self._reminders_stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._singletons: dict[str, asyncio.Task[None]] = {}

    async def start(self, writer: BatchingWriter) -> None:
        self._writer = writer
        if self.holder is None:  # the only writer: no lease to take
            await self._start_alerts()
        else:
            await self._keep("alerts", self._start_alerts, self._stop_alerts)
            started = self._singletons.get("alerts")
            if started is not None:  # held from the start: evaluate from the first row
                await asyncio.wait([started])
        if self.registry is not None and self.config.path is not None:
            seen = _stamp(self.config.path)  # now: a change made while the task starts counts
            self._tasks.append(asyncio.create_task(self._watch_rules(seen), name="rules-watch"))
        writer.listeners.append(self.calendar.listener())
        writer.listeners.append(self.scoring.listener())
        # reminders, announcements and role rewards: one process runs them (the lease)
        scheduled = self.config.calendar.receivers or (
            self.registry is not None
            and (self.config.calendar.announce or bool(self.config.scoring.roles))
        )
        if scheduled:
            if self.holder is None:
                self._tasks.append(asyncio.create_task(self._start_reminders(), name="reminders"))
            else:
                await self._keep("reminders", self._start_reminders, self._stop_reminders)

    async def _keep(
        self,
        name: str,
        start: Callable[[], Coroutine[Any, Any, None]],
        stop: Callable[[], Awaitable[None]],
    ) -> None:
        """Run `start` while this process holds the lease `name`, `stop` when it loses it.
        The start runs in a task of its own, so a long warm-up never delays a renewal."""
        assert self.holder is not None

        async def gained(lease: Lease) -> None:
            self._singletons[name] = asyncio.create_task(start(), name=f"start-{name}")

        async def lost() -> None:
            task = self._singletons.pop(name, None)
            if task is not None:
                await cancel_all([task])
            await stop()

        keeper = LeaseKeeper(self.store, name, self.holder, self.lease_ttl, gained, lost)
        self.keepers[name] = keeper
        await keeper.start()

    async def _start_alerts(self) -> None:
        rules = self.config.rules
        if not rules or self.alerts is not None:
            return
        keeper = self.keepers.get("alerts")
        alerts = AlertService(
            self.store,
            rules,
            self.config.receivers,
            self.config.alerting,
            guard=keeper.is_current if keeper is not None else None,
            automation=self._automation(),
        )
        await alerts.start(self._writer)
        self.alerts = alerts
        log.info("rules=%d receivers=%d", len(rules), len(self.config.receivers))

    def _automation(self) -> Automation | None:
        """Rules that carry actions act through the case log (cockpit.moderation.automation)."""
        wanted = (
            self.config.welcome.enabled
            or bool(self.config.welcome.role)
            or bool(self.config.moderation.ladder)
            or any(r.actions for r in self.config.rules)
        )
        if self.registry is None or not wanted:
            return None
        return Automation(self.store, self.registry, self.config, self.config.receivers)

    async def _stop_alerts(self) -> None:
        alerts, self.alerts = self.alerts, None
        if alerts is not None:
            await alerts.close()

    async def _start_reminders(self) -> None:
        self._reminders_stop = asyncio.Event()
        calendar = self.config.calendar
        reminders = Reminders(self.calendar, calendar, self.config.cockpit.regions, self.clock)
        jobs = [reminders.run(self._reminders_stop)] if calendar.receivers else []
        if self.registry is not None:
            # the once-a-day jobs ride on the reminders' lease: one process runs them
            if calendar.announce:
                announcer = Announcer(self.store, self.registry, self.config, self.clock)
                jobs.append(announcer.run(self._reminders_stop))
            if self.config.scoring.roles:
                roles = RoleSync(self.store, self.registry, self.config, self.clock)
                jobs.append(roles.run(self._reminders_stop))
        await asyncio.gather(*jobs)

    async def _stop_reminders(self) -> None:
        self._reminders_stop.set()

    async def _watch_rules(self, seen: tuple[int, int] | None) -> None:
        """Pick up rule changes in cockpit.toml (`cockpit rules set`, the Rules view, an
        editor) without a restart. A config that does not validate is logged and ignored:
        the rules running stay until the file is fixed."""
        path, registry = self.config.path, self.registry
        assert path is not None and registry is not None
        while True:
            await asyncio.sleep(self.watch_every)
            stamp = _stamp(path)
            if stamp == seen:
                continue
            seen = stamp
            try:
                fresh = await asyncio.to_thread(load_config, path, registry)
            except CockpitError as exc:
                log.warning("config changed but not reloaded: %s", exc)
                continue
            rules = fresh.rules
            if [r.model_dump() for r in rules] == [r.model_dump() for r in self.config.rules]:
                self.config = fresh
                continue
            self.config = fresh
            if self.alerts is None:
                # started now if this process evaluates (no lease, or the lease is held);
                # otherwise the holder's own watcher reloads, and ours starts on take-over
                keeper = self.keepers.get("alerts")
                if keeper is None or keeper.held:
                    await self._start_alerts()
            else:
                self.alerts.reload(rules)
                automation = self.alerts.automation
                if isinstance(automation, Automation):
                    automation.config = fresh  # caps, protected members, reasons as edited
                    automation.welcomer.config = automation.ladder.config = fresh
                elif automation is None:
                    self.alerts.automation = self._automation()
            self.rules_loaded += 1
            log.info("rules changed in %s: %d rules", path, len(rules))

    async def stop(self) -> None:
        self._stop.set()
        self._reminders_stop.set()
        for keeper in self.keepers.values():
            await keeper.stop()  # stops what it guards, gives the lease up at once
        await cancel_all([*self._tasks, *self._singletons.values()])
        await self._stop_alerts()


def _stamp(path: Path) -> tuple[int, int] | None:
    """What tells that a file changed (its mtime and size), None while it is missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size
