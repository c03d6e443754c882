"""Wake on the store's change notices without missing one between two waits.

`Store.wait_for_change` listens afresh on each call, so a notice that lands while the
caller is busy is lost and the caller sleeps its whole timeout. A `ChangeWatch` keeps one
listener for its lifetime (PostgreSQL: one LISTEN connection; SQLite: a cheap poll) and
remembers that something changed until the owner waits again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from cockpit.store.base import Store

log = logging.getLogger(__name__)


class ChangeWatch:
    def __init__(self, store: Store, interval: float = 0.1) -> None:
        self.store = store
        self.interval = interval
        self.notices = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _listen(self) -> None:
        while True:
            try:
                async for _ in self.store.changes(self.interval):
                    self.notices += 1
                    self._changed.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server restarted: listen again, wake the owner
                log.warning("store change notices lost (%s); listening again", exc)
                self._changed.set()
                await asyncio.sleep(1.0)

    async def __aenter__(self) -> ChangeWatch:
        self._task = asyncio.create_task(self._listen(), name="change-watch")
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait(self, timeout: float) -> bool:
        """Until a change since the last wait (True), or `timeout` seconds (False)."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            self._changed.clear()
        return True
