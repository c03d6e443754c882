"""Alerts wired into a running cockpit: commits in, notifications out, never in the way.

The writer's commit listener only queues the new row id range and returns, so the pipeline
never waits for rules. One worker task reads those rows, runs the engine in a thread,
persists the alerts and plans notifications; a periodic tick drives the time-based rules
(unanswered, quiet members, sources in trouble from the health the collector stores,
pending → firing). A sender task drains the persisted outbox through apprise in a thread,
with retries and exponential backoff.

The engine sees every row of the store once, in id order, whoever wrote it: each batch is
read from just past the last row seen up to the newest (writers commit in id order), so rows
another collector wrote into the same store are evaluated too. With a `guard` (the alert
lease of `cockpit.features`) nothing is sent unless this process still holds the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from cockpit.alerts.config import AlertingSettings, AnyRule, Receiver
from cockpit.alerts.engine import Alert, Engine
from cockpit.alerts.events import Event, SourceState
from cockpit.alerts.records import AlertRow
from cockpit.alerts.sender import AppriseSender, SendFn
from cockpit.collect.repository import HealthRow
from cockpit.pipeline import BatchingWriter
from cockpit.store.base import Store, WriteResult
from cockpit.tasks import cancel_all
from cockpit.timeutil import to_ms, utcnow

log = logging.getLogger(__name__)
_TICK = object()
CHUNK = 5_000  # rows read at a time when catching up


class AfterEvaluate(Protocol):
    """What acts on alerts once they are stored (cockpit.moderation.automation)."""

    def observe(self, events: Sequence[Event]) -> None: ...

    async def after_evaluate(self, rules: Sequence[AnyRule]) -> int: ...

    async def close(self) -> None: ...


class _Reload:
    """A new rule set, applied by the worker between batches (never under a batch)."""

    def __init__(self, rules: Sequence[AnyRule]) -> None:
        self.rules = list(rules)


def _now_ms() -> int:
    return to_ms(utcnow())


class AlertService:
    def __init__(
        self,
        store: Store,
        rules: Sequence[AnyRule],
        receivers: Sequence[Receiver] = (),
        settings: AlertingSettings | None = None,
        *,
        clock: Callable[[], int] = _now_ms,
        send: SendFn | None = None,
        tick: float | None = None,
        guard: Callable[[], Awaitable[bool]] | None = None,
        automation: AfterEvaluate | None = None,
    ) -> None:
        self.settings = settings or AlertingSettings()
        self.automation = automation
        self.latest = store.max_activity_id
        self.guard = guard
        self.clock = clock
        self.store = store.alerts
        self.health = store.health
        self.receivers = list(receivers)
        self.engine = Engine(rules, self.settings, clock)
        self.send = send or AppriseSender(self.receivers)
        self.tick_seconds = (
            tick if tick is not None else self.settings.evaluation_interval.total_seconds()
        )
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._writer: BatchingWriter | None = None
        self._synced = 0
        self._warmed_to = 0  # the last row id the warm-up fed to the engine
        self._seen = 0  # the last row id fed to the engine (warm-up or batches)
        self.last_error: str | None = None
        self.evaluations = 0

    # ----------------------------------------------------------------- lifecycle

    async def start(self, writer: BatchingWriter | None = None, warmup: bool = True) -> None:
        await self.store.requeue_interrupted()
        for row in await self.store.alerts(states=("pending", "firing"), limit=10_000):
            self.engine.restore(_from_row(row))
        await self._sync_sources()
        top = await self.latest()
        if warmup:
            await self._warm_up()
        self._seen = max(top, self._warmed_to)
        self._synced = self.clock()
        if writer is not None:
            self._writer = writer
            writer.listeners.append(self.on_commit)
        self._tasks = [
            asyncio.create_task(self._work(), name="cockpit-alerts"),
            asyncio.create_task(self._ticker(), name="cockpit-alerts-tick"),
            asyncio.create_task(self._sender(), name="cockpit-alerts-send"),
        ]

    async def close(self) -> None:
        if self._writer is not None and self.on_commit in self._writer.listeners:
            self._writer.listeners.remove(self.on_commit)
        await cancel_all(self._tasks)

    async def _warm_up(self) -> None:
        """Feed the recent history to the windows (baselines, quiet members, open questions)."""
        since = self.clock() - int(self.settings.warmup.total_seconds() * 1000)
        after = 0
        while True:
            events = await self.store.events_since(since, after)
            if not events:
                break
            await asyncio.to_thread(self.engine.observe_many, events)
            after = events[-1].id
        self._warmed_to = max(self._warmed_to, after)
        await self._evaluate()

    # -------------------------------------------------------------------- input

    def on_commit(self, result: WriteResult) -> None:
        """The writer's listener: queue the new rows, return at once."""
        if result.new_ids:
            self._queue.put_nowait(result.new_ids)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            if self._queue.empty():
                self._queue.put_nowait(_TICK)

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, tuple):
                    await self.process(item[0], item[1])
                elif isinstance(item, _Reload):
                    await self._apply_rules(item.rules)
                else:
                    await self._catch_up()
                    await self._sync_operators()
                    await self._sync_sources()
                    await self._evaluate()
            except Exception as exc:  # keep evaluating: one bad batch must not stop alerting
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("alert evaluation failed")

    def reload(self, rules: Sequence[AnyRule]) -> None:
        """Use these rules from now on (cockpit.toml changed): applied by the worker."""
        self._queue.put_nowait(_Reload(rules))

    async def _apply_rules(self, rules: Sequence[AnyRule]) -> None:
        """A fresh engine for the new rules, warmed up on the recent history; alerts of
        rules that stay keep their identity, alerts of rules gone or disabled resolve."""
        engine = Engine(rules, self.settings, self.clock)
        kept = {r.name for r in engine.rules}
        now = self.clock()
        for row in await self.store.alerts(states=("pending", "firing"), limit=10_000):
            if row.rule in kept:
                engine.restore(_from_row(row))
            else:
                with contextlib.suppress(Exception):
                    await self.store.resolve(row.id, "config: rule removed or disabled", now)
        old, self.engine = self.engine, engine
        try:
            await self._warm_up()
        except BaseException:
            self.engine = old
            raise
        log.info("rules reloaded: %d enabled", len(engine.rules))

    async def process(self, first: int, last: int) -> None:
        """Feed the rows up to `last` that the engine has not seen, then evaluate. Reading
        from the last row seen (not from `first`) takes in what other writers committed."""
        await self._observe_to(last)
        await self._evaluate()

    async def _observe_to(self, last: int) -> None:
        while True:
            first = max(self._seen, self._warmed_to) + 1  # a reload's warm-up saw some
            if first > last:
                return
            end = min(last, first + CHUNK - 1)
            events = await self.store.events_between(first, end)
            if events:
                await asyncio.to_thread(self.engine.observe_many, events)
                if self.automation is not None:
                    self.automation.observe(events)  # joins, for welcomes
            del events  # before evaluating: less for the garbage collector to walk
            self._seen = end

    async def _catch_up(self) -> None:
        """Rows other writers committed since the last batch (a tick without own writes)."""
        top = await self.latest()
        if top > self._seen:
            await self._observe_to(top)

    async def _sync_operators(self) -> None:
        """Alerts resolved by an operator (here or in another process) are forgotten."""
        now = self.clock()
        for fp in await self.store.manually_resolved(self._synced):
            self.engine.forget(fp)
        self._synced = now

    async def _sync_sources(self) -> None:
        """The sources' health as `cockpit collect` last stored it, for `kind = "source"` rules."""
        if self.engine.watches_sources:
            rows = await self.health.load()
            self.engine.observe_sources([_source(r) for r in rows], self.clock())

    async def _evaluate(self) -> None:
        now = self.clock()
        changes = await asyncio.to_thread(self.engine.evaluate, now)
        self.evaluations += 1
        for fp in await self.store.save(changes, now):
            self.engine.forget(fp)
        if self.automation is not None:
            try:
                if await self.automation.after_evaluate(self.engine.rules):
                    self._wake.set()
            except Exception as exc:  # acting failed: alerting goes on, and says so
                self.last_error = f"automation: {type(exc).__name__}: {exc}"
                log.exception("rule actions failed")
        await self.notify_now(now)

    async def notify_now(self, now: int | None = None) -> int:
        """Plan notifications (grouping, dedup, silences, quiet hours) and wake the sender."""
        if not self.receivers:
            return 0
        outgoing = await self.store.plan_notifications(
            self.clock() if now is None else now, self.receivers, self.settings
        )
        if outgoing:
            self._wake.set()
        return len(outgoing)

    # ------------------------------------------------------------------- output

    async def _sender(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            self._wake.clear()
            try:
                await self.send_due()
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("sending notifications failed")

    async def send_due(self) -> int:
        """Send what is due in the outbox; failures are retried with exponential backoff."""
        sent = 0
        s = self.settings
        if self.guard is not None and not await self.guard():
            return 0  # another process holds the alert lease now: it pages, not us
        for item in await self.store.claim_due(self.clock()):
            error = await asyncio.to_thread(
                self.send, item.receiver, item.title, item.body, item.notify_type
            )
            now = self.clock()
            if error is None:
                await self.store.mark_sent(item.id, now)
                sent += 1
                continue
            log.warning("notification %d to %s failed: %s", item.id, item.receiver, error)
            retry: int | None = None
            if item.attempts < s.max_attempts:
                base = s.retry_backoff.total_seconds() * 1000
                delay = min(s.max_backoff.total_seconds() * 1000, base * 2 ** (item.attempts - 1))
                retry = now + int(delay)
            await self.store.mark_failed(item.id, error, retry)
        return sent


def _from_row(row: AlertRow) -> Alert:
    return Alert(
        row.fingerprint,
        row.rule,
        row.severity,
        dict(row.labels),
        dict(row.annotations),
        list(row.notify),
        "firing" if row.state == "firing" else "pending",
        row.active_at,
        row.updated,
        row.fired_at,
        None,
        row.summary,
        row.value,
        row.count,
        list(row.activity_ids),
    )


def _source(row: HealthRow) -> SourceState:
    last = None if row.last_event is None else to_ms(row.last_event)
    return SourceState(row.name, row.type, row.community, row.state, row.detail, last)


def rules_from(raw: object) -> list[AnyRule]:
    """The rules section as validated by cockpit/config.py (a list), typed."""
    return list(raw) if isinstance(raw, list) else []
