"""The single writer: live sources hand it records, it batches them into transactions.

A source's `write` returns only once its records (and its cursor) are committed, so a
source may acknowledge upstream (e.g. confirm a Telegram offset) right after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from cockpit.model import Record
from cockpit.store.base import Store, WriteResult

log = logging.getLogger(__name__)

CommitListener = Callable[[WriteResult], Awaitable[None] | None]


@dataclass
class _Request:
    records: Sequence[Record]
    cursor: tuple[str, str] | None
    done: asyncio.Future[WriteResult]


@dataclass
class WriterStats:
    batches: int = 0
    records: int = 0
    failures: int = 0
    last_error: str | None = None
    totals: WriteResult = field(default_factory=WriteResult)


CLOSE_TIMEOUT = 30.0  # a listener stuck at close must not hang a shutdown for ever


class BatchingWriter:
    """Implements `cockpit.plugin_api.Sink` for every live source of one process."""

    def __init__(self, store: Store, max_batch: int = 5000) -> None:
        self.store = store
        self.max_batch = max_batch
        self.listeners: list[CommitListener] = []
        self.stats = WriterStats()
        self._queue: asyncio.Queue[_Request | None] = asyncio.Queue()  # None: stop
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="cockpit-writer")

    async def write(self, records: Sequence[Record], cursor: tuple[str, str] | None = None) -> None:
        await self.write_result(records, cursor)

    async def write_result(
        self, records: Sequence[Record], cursor: tuple[str, str] | None = None
    ) -> WriteResult:
        if self._task is None:
            self.start()
        done: asyncio.Future[WriteResult] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Request(records, cursor, done))
        return await done

    async def get_cursor(self, key: str) -> str | None:
        return await self.store.get_cursor(key)

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            size = len(first.records)
            stopping = False
            # take whatever else is already waiting: bursts coalesce into one transaction
            while size < self.max_batch and not self._queue.empty():
                req = self._queue.get_nowait()
                if req is None:
                    stopping = True
                    break
                batch.append(req)
                size += len(req.records)
            await self._commit(batch)
            if stopping:
                return

    async def _commit(self, batch: list[_Request]) -> None:
        records = [r for req in batch for r in req.records]
        cursors: dict[str, str] = {}
        for req in batch:
            if req.cursor is not None:
                cursors[req.cursor[0]] = req.cursor[1]  # later cursors of one source win
        try:
            result = await self.store.write(records, list(cursors.items()))
        except Exception as exc:
            self.stats.failures += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            log.error("store write failed, %d records not stored: %s", len(records), exc)
            for req in batch:
                if not req.done.done():
                    req.done.set_exception(exc)
            return
        self.stats.batches += 1
        self.stats.records += len(records)
        self.stats.totals = self.stats.totals + result
        for req in batch:
            if not req.done.done():
                req.done.set_result(result)
        for listener in list(self.listeners):
            try:
                maybe = listener(result)
                if maybe is not None:
                    await maybe
            except Exception:
                log.exception("commit listener failed")

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Commit what is queued (and let a commit in progress finish), then stop.

        The commit in progress is never cancelled: its records would land after the caller
        believed the writer closed, racing the store's own close.
        """
        task, self._task = self._task, None
        if task is None or task.done():
            pending = [r for r in _drain(self._queue) if r is not None]
            if pending:
                await self._commit(pending)
            return
        await self._queue.put(None)
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            log.error("writer still busy after %.0f s at close; stopping it", timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _drain(queue: asyncio.Queue[_Request | None]) -> list[_Request | None]:
    out: list[_Request | None] = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out
