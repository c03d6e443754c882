"""Singletons across processes: what must run once per store (alert evaluation and paging,
event reminders) runs only in the process holding its lease.

Several collectors may write one store (one per platform or region). Each runs a
`LeaseKeeper` per singleton: it takes or renews the lease every third of its time to live;
while held, the singleton runs; when a renewal fails, or is overdue, the singleton stops at
once, before the lease can expire and pass to another process. When the holder dies (kill -9,
a lost machine) the lease expires and the next keeper to ask takes it, with a higher fencing
token: within `ttl + ttl/3` of the last renewal. `is_current()` checks the token against the
store, for the side effects that matter most (a page) to be refused under a stale lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from cockpit.store.base import Lease, Store

log = logging.getLogger(__name__)

OnGain = Callable[[Lease], Awaitable[None]]
OnLose = Callable[[], Awaitable[None]]


def holder_name() -> str:
    """Who this process is, in a lease: host, pid and a random tail (a pid is reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class LeaseKeeper:
    """Keeps the lease `name` for `holder` while it can, running `on_gain`/`on_lose` as it
    comes and goes. `on_gain` runs once per holding; `on_lose` once per loss (and at stop)."""

    def __init__(
        self,
        store: Store,
        name: str,
        holder: str,
        ttl: float,
        on_gain: OnGain,
        on_lose: OnLose,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0:
            raise ValueError("a lease needs a positive time to live")
        self.store = store
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.on_gain = on_gain
        self.on_lose = on_lose
        self.monotonic = monotonic
        self.lease: Lease | None = None
        self.gained = 0  # holdings so far (tests and the log)
        self._renewed_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    @property
    def held(self) -> bool:
        return self.lease is not None

    async def start(self) -> None:
        """Ask for the lease once now (a lone collector holds it from its first row on),
        then keep renewing in the background."""
        await self.renew()
        self._task = asyncio.create_task(self._run(), name=f"lease-{self.name}")

    async def is_current(self) -> bool:
        """Whether the lease this process holds is still the store's current one."""
        lease = self.lease
        if lease is None:
            return False
        try:
            return await self.store.lease_current(lease)
        except Exception:  # cannot tell: act as if lost (a page twice is worse than late)
            return False

    async def wait_held(self, timeout: float) -> bool:
        """Until this keeper holds the lease (tests; a TUI that wants to show who evaluates)."""
        deadline = self.monotonic() + timeout
        while not self.held:
            left = deadline - self.monotonic()
            if left <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True

    async def _run(self) -> None:
        every = self.ttl / 3
        while True:
            await asyncio.sleep(every)
            await self.renew()

    async def renew(self) -> None:
        """One take-or-renew; a loss (or an overdue renewal) stops the singleton first."""
        ttl = timedelta(seconds=self.ttl)
        try:
            lease = await self.store.lease(self.name, self.holder, ttl)
        except Exception as exc:
            log.warning("lease %s: cannot renew (%s)", self.name, exc)
            # give up before the store would let another take it over
            if self.held and self.monotonic() - self._renewed_at > self.ttl * 2 / 3:
                await self._lose("renewal overdue")
            return
        if lease is None:
            if self.held:
                await self._lose("taken by another process")
            return
        if self.lease is not None and lease.token != self.lease.token:
            # it expired under us and we took it again: what ran meanwhile elsewhere counts
            await self._lose("expired and taken again")
        self._renewed_at = self.monotonic()
        if self.lease is None:
            self.lease = lease
            self.gained += 1
            log.info("lease %s: held by %s (token %d)", self.name, self.holder, lease.token)
            try:
                await self.on_gain(lease)
            except Exception:
                log.exception("lease %s: could not start what it guards", self.name)
                await self._lose("start failed")
                with contextlib.suppress(Exception):
                    await self.store.release(lease)
                return
            self._changed.set()
        else:
            self.lease = lease

    async def _lose(self, why: str) -> None:
        log.warning("lease %s: lost (%s); stopping what it guards", self.name, why)
        self.lease = None
        self._changed.set()
        try:
            await self.on_lose()
        except Exception:
            log.exception("lease %s: stopping what it guards failed", self.name)

    async def stop(self) -> None:
        """Stop renewing; stop the singleton and give the lease up, so another takes over
        at once rather than after the time to live."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        lease = self.lease
        if lease is not None:
            self.lease = None
            with contextlib.suppress(Exception):
                await self.on_lose()
            with contextlib.suppress(Exception):
                await self.store.release(lease)
