"""What runs beside the writer in a process that writes the store: the alert engine, the
calendar's and the scoring's rollups, and event reminders. Both `cockpit collect` and the
TUI in its in-process mode start them through here, so they behave the same."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from cockpit.alerts.service import AlertService
from cockpit.calendar.reminders import Reminders
from cockpit.config import Config, load_config
from cockpit.errors import CockpitError
from cockpit.pipeline import BatchingWriter
from cockpit.registry import Registry
from cockpit.store.base import Store
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
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, writer: BatchingWriter) -> None:
        rules = self.config.rules
        if rules:
            self.alerts = AlertService(
                self.store, rules, self.config.receivers, self.config.alerting
            )
            await self.alerts.start(writer)
            log.info("rules=%d receivers=%d", len(rules), len(self.config.receivers))
        if self.registry is not None and self.config.path is not None:
            self._writer = writer
            seen = _stamp(self.config.path)  # now: a change made while the task starts counts
            self._tasks.append(asyncio.create_task(self._watch_rules(seen), name="rules-watch"))
        writer.listeners.append(self.calendar.listener())
        writer.listeners.append(self.scoring.listener())
        calendar = self.config.calendar
        if calendar.receivers:
            reminders = Reminders(self.calendar, calendar, self.config.cockpit.regions, self.clock)
            self._tasks.append(asyncio.create_task(reminders.run(self._stop), name="reminders"))

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
                if rules:
                    self.alerts = AlertService(self.store, rules, fresh.receivers, fresh.alerting)
                    await self.alerts.start(self._writer)
            else:
                self.alerts.reload(rules)
            self.rules_loaded += 1
            log.info("rules changed in %s: %d rules", path, len(rules))

    async def stop(self) -> None:
        self._stop.set()
        await cancel_all(self._tasks)
        if self.alerts is not None:
            await self.alerts.close()


def _stamp(path: Path) -> tuple[int, int] | None:
    """What tells that a file changed (its mtime and size), None while it is missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size
