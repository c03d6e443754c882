"""#18: a followed .jsonl file holds up under poison records, over-long lines, rotation and a BOM.

Real files in tmp_path, a real SQLite store and the real batching writer.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cockpit.model import Activity, Kind
from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import ImportContext, SourceContext
from cockpit.plugins.jsonl import JsonlImporter, JsonlSettings, JsonlSource
from cockpit.plugins.jsonl.lines import read_line
from cockpit.store.base import FeedQuery
from cockpit.store.sqlite import SQLiteStore


def line(i: int, **over: Any) -> str:
    obj: dict[str, Any] = {
        "platform": "slack",
        "id": f"C1:{i}",
        "kind": "message",
        "ts": "2024-05-01T10:00:00Z",
        "channel": "general",
        "author_id": "U1",
        "text": f"line {i}",
    }
    obj.update(over)
    return json.dumps(obj) + "\n"


def lines(start: int, stop: int) -> str:
    return "".join(line(i) for i in range(start, stop))


async def ids(store: SQLiteStore) -> list[str]:
    rows = await store.feed(FeedQuery(limit=100_000))
    return sorted(a.source_id for a in rows)


async def wait_until(cond: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await cond():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


class Gate:
    """A sleep the test holds: the source parks in it each time it reaches the file's end."""

    def __init__(self) -> None:
        self.idle = asyncio.Event()
        self.go = asyncio.Event()

    async def __call__(self, _seconds: float) -> None:
        self.go.clear()
        self.idle.set()
        await self.go.wait()
        self.idle.clear()

    async def parked(self) -> None:
        await asyncio.wait_for(self.idle.wait(), 20)

    def release(self) -> None:
        self.idle.clear()
        self.go.set()


async def test_poison_lines_are_quarantined_and_the_rest_stored(tmp_path: Path) -> None:
    f = tmp_path / "feed.jsonl"
    poison = [
        line(1000, ts="9999-12-31T23:59:59-14:00"),
        line(1001, reactions=2**63),
        line(1002, attachments=10**30),
        '{"platform": "slack", "id": "x", "kind": "message", "text": "\\ud800"}\n',
        "not json at all\n",
        "[1, 2, 3]\n",
        '{"a": ' + "[" * 100 + "]" * 100 + "}\n",
        '{"platform": "slack", "id": "C1:1003", "kind": "message", "ts": "2024-05-01T10:00:00Z"'
        ', "author_id": "U1", "text": "' + "x" * 2_000_000 + '"}\n',
        b"\xff\xfe broken utf-8\n".decode("latin-1"),
    ]
    f.write_text(lines(0, 100) + "".join(poison) + lines(100, 200), encoding="utf-8")
    store = await SQLiteStore.open(tmp_path / "s.db")
    writer = BatchingWriter(store)
    settings = JsonlSettings(path=str(f), follow=False, batch=7)
    await asyncio.wait_for(JsonlSource(settings, SourceContext("x", "c", tmp_path)).run(writer), 60)
    await writer.close()
    assert await ids(store) == sorted(f"C1:{i}" for i in range(200))
    stats = await store.stats()
    assert stats.quarantined == len(poison)
    reasons = [q["reason"] for q in await store.quarantine(limit=50)]
    assert any("out of range" in r for r in reasons)
    assert any("longer than the limit" in r for r in reasons)
    cursor = await store.get_cursor("jsonl:x")
    assert cursor is not None and cursor.endswith(f":{200 + len(poison)}")
    await store.close()


async def test_a_record_the_store_refuses_is_quarantined_alone(tmp_path: Path) -> None:
    """A record that passes validation but makes the store raise takes down nothing else."""
    store = await SQLiteStore.open(tmp_path / "s.db")
    writer = BatchingWriter(store)
    ts = datetime(2024, 5, 1, tzinfo=UTC)

    def act(i: int, **over: Any) -> Activity:
        fields: dict[str, Any] = dict(
            platform="whatsapp",
            source_id=f"m{i}",
            kind=Kind.MESSAGE,
            ts=ts,
            channel="g",
            author="a",
            author_id="u1",
            text=f"t{i}",
            community="c",
        )
        fields.update(over)
        return Activity(**fields)

    good = [act(i) for i in range(50)]
    bad = [act(900, reactions=2**64), act(901, text="lone \ud800 surrogate")]
    # two sources' requests that coalesce into one transaction
    results = await asyncio.gather(
        writer.write_result(good[:25] + bad[:1] + good[25:40], cursor=("a", "1")),
        writer.write_result(bad[1:] + good[40:], cursor=("b", "2")),
    )
    await writer.close()
    assert sum(r.new for r in results) == 50
    assert sum(r.quarantined for r in results) == 2
    assert await ids(store) == sorted(f"m{i}" for i in range(50))
    assert (await store.stats()).quarantined == 2
    assert writer.stats.quarantined == 2 and writer.stats.failures == 0
    assert await store.get_cursor("a") == "1" and await store.get_cursor("b") == "2"
    rows = await store.quarantine(limit=10)
    assert {r["position"] for r in rows} == {"whatsapp:m900", "whatsapp:m901"}
    # the same poison again: quarantined again, never a loop or a failure
    await writer.write(bad)
    await writer.close()
    assert writer.stats.failures == 0
    await store.close()


def test_an_overlong_line_is_read_with_bounded_memory(tmp_path: Path) -> None:
    data = b"x" * 5_000_000 + b"\n" + line(1).encode()
    tracemalloc.start()
    try:
        fh = io.BufferedReader(io.FileIO(_write(tmp_path / "big.jsonl", data)), 65536)
        head, size, complete = read_line(fh, 1_048_576)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert complete and size == 5_000_001 and len(head) == 1_048_577
    assert peak < 3_000_000
    head, size, complete = read_line(fh, 1_048_576)
    assert complete and json.loads(head)["id"] == "C1:1"
    fh.close()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


async def test_a_5mb_line_in_a_followed_file_does_not_stop_what_follows(tmp_path: Path) -> None:
    f = tmp_path / "feed.jsonl"
    f.write_text(lines(0, 10), encoding="utf-8")
    store = await SQLiteStore.open(tmp_path / "s.db")
    writer = BatchingWriter(store)
    gate = Gate()
    src = JsonlSource(JsonlSettings(path=str(f)), SourceContext("x", "c", tmp_path), sleep=gate)
    task = asyncio.create_task(src.run(writer))
    await gate.parked()
    # the long line arrives in two writes: half of it is at the end for one poll
    with f.open("a", encoding="utf-8") as fh:
        fh.write('{"text": "' + "y" * 2_500_000)
    gate.release()
    await gate.parked()
    with f.open("a", encoding="utf-8") as fh:
        fh.write("y" * 2_500_000 + '"}\n' + lines(10, 20))
    gate.release()
    await wait_until(lambda: _count(store, 20))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await writer.close()
    assert (await store.stats()).quarantined == 1
    await store.close()


async def _count(store: SQLiteStore, n: int) -> bool:
    return (await store.stats()).activities == n


async def test_rotation_by_rename_reads_the_old_file_to_its_end(tmp_path: Path) -> None:
    f = tmp_path / "feed.jsonl"
    f.write_text(lines(0, 100), encoding="utf-8")
    store = await SQLiteStore.open(tmp_path / "s.db")
    writer = BatchingWriter(store)
    gate = Gate()
    ctx = SourceContext("x", "c", tmp_path)
    src = JsonlSource(JsonlSettings(path=str(f), batch=50), ctx, sleep=gate)
    task = asyncio.create_task(src.run(writer))
    await gate.parked()
    # 500 lines appended, then renamed and a new file created, before the source looks again
    with f.open("a", encoding="utf-8") as fh:
        fh.write(lines(100, 600))
    f.rename(tmp_path / "feed.jsonl.1")
    f.write_text(lines(600, 700), encoding="utf-8")
    gate.release()
    await wait_until(lambda: _count(store, 700))
    await gate.parked()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    # stopped, then rotated twice while stopped: the file it was reading is found by inode
    with f.open("a", encoding="utf-8") as fh:
        fh.write(lines(700, 800))
    os.replace(tmp_path / "feed.jsonl", tmp_path / "feed.jsonl.2")
    f.write_text(lines(800, 850), encoding="utf-8")
    gate = Gate()
    task = asyncio.create_task(JsonlSource(JsonlSettings(path=str(f)), ctx, sleep=gate).run(writer))
    await wait_until(lambda: _count(store, 850))
    await gate.parked()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await writer.close()
    assert await ids(store) == sorted(f"C1:{i}" for i in range(850))
    stats = await store.stats()
    assert stats.activities == 850 and stats.quarantined == 0
    await store.close()


async def test_copytruncate_reads_the_new_content_from_the_top(tmp_path: Path) -> None:
    f = tmp_path / "feed.jsonl"
    f.write_text(lines(0, 300), encoding="utf-8")
    store = await SQLiteStore.open(tmp_path / "s.db")
    writer = BatchingWriter(store)
    gate = Gate()
    src = JsonlSource(JsonlSettings(path=str(f)), SourceContext("x", "c", tmp_path), sleep=gate)
    task = asyncio.create_task(src.run(writer))
    await gate.parked()
    shutil.copyfile(f, tmp_path / "feed.jsonl.1")
    with f.open("r+", encoding="utf-8") as fh:
        fh.truncate(0)
    with f.open("a", encoding="utf-8") as fh:
        fh.write(lines(300, 350))
    gate.release()
    await wait_until(lambda: _count(store, 350))
    await gate.parked()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await writer.close()
    assert await ids(store) == sorted(f"C1:{i}" for i in range(350))
    cursor = await store.get_cursor("jsonl:x")
    assert cursor is not None and cursor.endswith(":50")
    await store.close()


async def test_a_byte_order_mark_at_the_start_is_read_past(tmp_path: Path) -> None:
    f = tmp_path / "bom.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + lines(0, 5).encode())
    importer = JsonlImporter()
    assert importer.sniff(f, f.read_bytes()[:4096])
    records = list(importer.read(f, ImportContext(community="c")))
    assert [r.source_id for r in records if isinstance(r, Activity)] == [
        f"C1:{i}" for i in range(5)
    ]
    store = await SQLiteStore.open(tmp_path / "s.db")
    writer = BatchingWriter(store)
    src = JsonlSource(JsonlSettings(path=str(f), follow=False), SourceContext("x", "c", tmp_path))
    await asyncio.wait_for(src.run(writer), 20)
    await writer.close()
    stats = await store.stats()
    assert stats.activities == 5 and stats.quarantined == 0
    await store.close()


def test_the_importer_quarantines_an_overlong_line_and_goes_on(tmp_path: Path) -> None:
    f = tmp_path / "big.jsonl"
    f.write_text(lines(0, 3) + '{"t": "' + "z" * 3_000_000 + '"}\n' + lines(3, 6), "utf-8")
    records = list(JsonlImporter().read(f, ImportContext(community="c")))
    acts = [r for r in records if isinstance(r, Activity)]
    assert len(acts) == 6 and len(records) == 7
    quarantined = [r for r in records if not isinstance(r, Activity)]
    assert "longer than the limit" in quarantined[0].reason
    assert len(quarantined[0].raw) <= 4096
