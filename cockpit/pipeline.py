"""The single writer: live sources hand it records, it batches them into transactions.

A source's `write` returns only once its records (and its cursor) are committed, so a
source may acknowledge upstream (e.g. confirm a Telegram offset) right after.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from cockpit.model import Activity, Quarantined, Record
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
    quarantined: int = 0  # records the store refused, kept in quarantine instead
    last_error: str | None = None
    totals: WriteResult = field(default_factory=WriteResult)


RAW_LIMIT = 4096  # characters of raw text kept with a record the store refused
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
            try:
                result = await self.store.write(records, list(cursors.items()))
            except Exception as exc:
                if not is_record_error(exc):
                    raise
                # one record the store cannot take must not refuse the others: each request
                # alone, the poison found by halving and quarantined with its reason
                result = await self._commit_each(batch)
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

    async def _commit_each(self, batch: list[_Request]) -> WriteResult:
        total = WriteResult()
        for req in batch:
            cursors = [req.cursor] if req.cursor is not None else []
            try:
                result = await self._isolate(req.records, cursors, req.cursor)
            except Exception as exc:
                if not req.done.done():
                    req.done.set_exception(exc)
                log.error("store write failed, %d records not stored: %s", len(req.records), exc)
                continue
            total = total + result
            if not req.done.done():
                req.done.set_result(result)
        return total

    async def _isolate(
        self,
        records: Sequence[Record],
        cursors: list[tuple[str, str]],
        cursor: tuple[str, str] | None,
    ) -> WriteResult:
        try:
            return await self.store.write(records, cursors)
        except Exception as exc:
            if not is_record_error(exc) or not records:
                raise
            if len(records) == 1:
                poison = refused_record(records[0], exc, cursor[0] if cursor else "writer")
                log.warning(
                    "record %s quarantined: %s",
                    poison.position,
                    poison.reason,
                )
                # a quarantine row the store refuses too is the store's failure: it propagates
                result = await self.store.write([poison], cursors)
                self.stats.quarantined += 1
                return result
            mid = len(records) // 2
            first = await self._isolate(records[:mid], [], cursor)
            return first + await self._isolate(records[mid:], cursors, cursor)

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


def is_record_error(exc: BaseException) -> bool:
    """An error about the data of a record (not the store's state): a value out of range, text
    that cannot be encoded, a DB-API `DataError` (sqlite3 and psycopg both name it so)."""
    if isinstance(exc, ValueError | OverflowError | TypeError | UnicodeError):
        return True
    return any(cls.__name__ == "DataError" for cls in type(exc).__mro__)


def refused_record(record: Record, exc: BaseException, origin: str) -> Quarantined:
    """The quarantine row for a record the store refused, its raw text safe to store."""
    reason = _safe(f"store refused it: {type(exc).__name__}: {exc}")[:500]
    if isinstance(record, Activity):
        fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
        raw = json.dumps(fields, ensure_ascii=True, default=str)
        position = f"{record.platform}:{record.source_id}"
        platform = record.platform
    else:
        raw = record.raw
        position = record.position
        platform = record.platform
        origin = record.origin
    return Quarantined(
        _safe(platform), _safe(origin), _safe(position)[:200], reason, _safe(raw)[:RAW_LIMIT]
    )


def _safe(text: str) -> str:
    """Text without lone surrogates (what a store cannot encode)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _drain(queue: asyncio.Queue[_Request | None]) -> list[_Request | None]:
    out: list[_Request | None] = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out
