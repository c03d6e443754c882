"""The jsonl source follows a file like tail -f and resumes from its stored cursor."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import SourceContext
from cockpit.plugins.jsonl import JsonlSettings, JsonlSource
from cockpit.store.base import FeedQuery
from cockpit.store.sqlite import SQLiteStore


def line(i: int) -> str:
    return (
        json.dumps(
            {
                "platform": "slack",
                "id": f"C1:{i}",
                "kind": "message",
                "ts": f"2024-05-01T10:00:{i % 60:02d}Z",
                "channel": "general",
                "author": "bot",
                "author_id": "U1",
                "text": f"line {i}",
            }
        )
        + "\n"
    )


async def wait_for(cond, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await cond():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def count(store: SQLiteStore) -> int:
    return (await store.stats()).activities


async def test_follow_resume_rotate(tmp_path: Path) -> None:
    f = tmp_path / "feed.jsonl"
    f.write_text(line(1) + line(2), encoding="utf-8")
    store = await SQLiteStore.open(tmp_path / "s.db")
    writer = BatchingWriter(store)
    settings = JsonlSettings(path="feed.jsonl", poll_interval=0.01)
    ctx = SourceContext("bridge", "c", tmp_path)
    task = asyncio.create_task(JsonlSource(settings, ctx).run(writer))
    await wait_for(lambda: _eq(store, 2))
    # a half-written line is not read until it is complete
    with f.open("a", encoding="utf-8") as fh:
        fh.write(line(3)[:20])
    await asyncio.sleep(0.1)
    assert await count(store) == 2
    with f.open("a", encoding="utf-8") as fh:
        fh.write(line(3)[20:] + "garbage\n" + line(4))
    await wait_for(lambda: _eq(store, 4))
    assert (await store.stats()).quarantined == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    cursor = await store.get_cursor("jsonl:bridge")
    assert cursor is not None and cursor.endswith(":5")

    # restart: resumes after line 5, nothing read twice
    with f.open("a", encoding="utf-8") as fh:
        fh.write(line(5))
    task = asyncio.create_task(JsonlSource(settings, ctx).run(writer))
    await wait_for(lambda: _eq(store, 5))
    # rotation: a new, shorter file starts from its top
    f.unlink()
    f.write_text(line(6), encoding="utf-8")
    await wait_for(lambda: _eq(store, 6))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await writer.close()
    texts = sorted(a.text for a in await store.feed(FeedQuery(limit=10)))
    assert texts == [f"line {i}" for i in range(1, 7)]
    await store.close()


async def _eq(store: SQLiteStore, n: int) -> bool:
    return await count(store) == n


async def test_no_follow_reads_once_and_stops(tmp_path: Path) -> None:
    f = tmp_path / "once.jsonl"
    f.write_text("".join(line(i) for i in range(10)), encoding="utf-8")
    store = await SQLiteStore.open(tmp_path / "s.db")
    writer = BatchingWriter(store)
    src = JsonlSource(
        JsonlSettings(path=str(f), follow=False, batch=3), SourceContext("x", "c", tmp_path)
    )
    await asyncio.wait_for(src.run(writer), 5)
    await writer.close()
    assert await count(store) == 10
    await store.close()
