"""What runs beside the writer in a process that writes the store: the alert engine, the
calendar's and the scoring's rollups, and event reminders. Both `cockpit collect` and the
TUI in its in-process mode start them through here, so they behave the same."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from cockpit.alerts.service import AlertService
from cockpit.calendar.reminders import Reminders
from cockpit.config import Config
from cockpit.pipeline import BatchingWriter
from cockpit.store.base import Store
from cockpit.tasks import cancel_all
from cockpit.timeutil import utcnow

log = logging.getLogger(__name__)


class Features:
    def __init__(
        self, store: Store, config: Config, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.config = config
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
        writer.listeners.append(self.calendar.listener())
        writer.listeners.append(self.scoring.listener())
        calendar = self.config.calendar
        if calendar.receivers:
            reminders = Reminders(self.calendar, calendar, self.config.cockpit.regions, self.clock)
            self._tasks.append(asyncio.create_task(reminders.run(self._stop), name="reminders"))

    async def stop(self) -> None:
        self._stop.set()
        await cancel_all(self._tasks)
        if self.alerts is not None:
            await self.alerts.close()
