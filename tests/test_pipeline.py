from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cockpit.pipeline import BatchingWriter
from cockpit.store.base import WriteResult
from cockpit.store.sqlite import SQLiteStore
from factories import act


async def test_concurrent_writers_coalesce_and_acknowledge(store: SQLiteStore) -> None:
    writer = BatchingWriter(store)
    seen: list[WriteResult] = []
    writer.listeners.append(seen.append)
    writes = [writer.write([act(i)], cursor=(f"src{i % 3}", str(i))) for i in range(60)]
    await asyncio.gather(*writes)
    await writer.close()
    assert (await store.stats()).activities == 60
    assert sum(r.new for r in seen) == 60
    assert writer.stats.batches < 60  # bursts were coalesced
    # the last cursor each source handed over is the stored one
    assert await store.get_cursor("src0") == "57"
    assert await store.get_cursor("src2") == "59"


async def test_a_failed_commit_fails_every_waiting_writer(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "s.db")
    writer = BatchingWriter(store)

    async def broken(*args: object, **kwargs: object) -> WriteResult:
        raise OSError("disk full")

    real = store.write
    store.write = broken  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk full"):
        await writer.write([act(1)], cursor=("k", "1"))
    assert writer.stats.failures == 1 and writer.stats.last_error == "OSError: disk full"
    store.write = real  # type: ignore[method-assign]
    await writer.write([act(1)], cursor=("k", "1"))
    await writer.close()
    assert await store.get_cursor("k") == "1"
    await store.close()


async def test_listener_failure_does_not_break_the_writer(store: SQLiteStore) -> None:
    writer = BatchingWriter(store)

    def bad(result: WriteResult) -> None:
        raise RuntimeError("listener bug")

    writer.listeners.append(bad)
    await writer.write([act(1)])
    await writer.write([act(2)])
    await writer.close()
    assert (await store.stats()).activities == 2


async def test_close_waits_for_the_commit_in_progress(tmp_path: Path) -> None:
    """SIGTERM during a commit: that commit is stored and acknowledged before close returns
    (never cancelled half-way), and a write queued behind it is stored too."""
    store = await SQLiteStore.open(tmp_path / "s.db")
    writer = BatchingWriter(store)
    started, release = asyncio.Event(), asyncio.Event()
    real = store.write

    async def slow(*args: object, **kwargs: object) -> WriteResult:
        started.set()
        await release.wait()
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    store.write = slow  # type: ignore[method-assign]
    first = asyncio.create_task(writer.write_result([act(1)], cursor=("k", "1")))
    await started.wait()
    closing = asyncio.create_task(writer.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # waits for the commit in progress
    release.set()
    await asyncio.wait_for(closing, 10)
    assert (await asyncio.wait_for(first, 10)).new == 1
    store.write = real  # type: ignore[method-assign]
    assert (await store.stats()).activities == 1
    assert await store.get_cursor("k") == "1"
    await store.close()
