"""The import path end to end: detection, idempotence, refusal that takes back, resume after a crash."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.errors import ImportRefused
from cockpit.importing import fingerprint, import_paths
from cockpit.model import Record
from cockpit.plugin_api import ImportContext, Plugin
from cockpit.registry import Registry, registry
from cockpit.store.sqlite import SQLiteStore
from factories import act

VENV_BIN = Path(sys.executable).parent


def jsonl_line(i: int, **kw: object) -> str:
    obj = {
        "platform": "discord",
        "id": str(i),
        "kind": "message",
        "ts": f"2024-05-01T12:{(i // 60) % 60:02d}:{i % 60:02d}Z",
        "channel": "general",
        "author": f"user{i % 5}",
        "author_id": str(100 + i % 5),
        "text": f"message {i}",
    }
    obj.update(kw)
    return json.dumps(obj)


def write_jsonl(path: Path, n: int, start: int = 0) -> Path:
    path.write_text(
        "".join(jsonl_line(i) + "\n" for i in range(start, start + n)), encoding="utf-8"
    )
    return path


async def run_import(
    store: SQLiteStore, *paths: Path, reg: Registry | None = None, warn: list[str] | None = None
):  # type: ignore[no-untyped-def]
    return await import_paths(
        store,
        reg or registry(),
        list(paths),
        community="c",
        tz=None,
        tz_name=None,
        platform=None,
        warn=(warn.append if warn is not None else (lambda m: None)),
    )


async def test_import_then_reimport_is_a_noop(store: SQLiteStore, tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "a.jsonl", 50)
    [first] = await run_import(store, f)
    assert (first.status, first.counts.new, first.counts.duplicate) == ("imported", 50, 0)
    [again] = await run_import(store, f)
    assert again.status == "already imported"
    assert (again.counts.new, again.counts.duplicate) == (0, 50)
    assert (await store.stats()).activities == 50


async def test_overlapping_exports_store_each_activity_once(
    store: SQLiteStore, tmp_path: Path
) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", 30)
    b = write_jsonl(tmp_path / "b.jsonl", 30, start=20)
    ra, rb = await run_import(store, a, b)
    assert ra.counts.new == 30
    assert (rb.counts.new, rb.counts.duplicate) == (20, 10)
    assert (await store.stats()).activities == 50


async def test_malformed_lines_are_quarantined_with_position(
    store: SQLiteStore, tmp_path: Path
) -> None:
    f = tmp_path / "m.jsonl"
    f.write_text(
        jsonl_line(1)
        + "\n{oops\n"
        + jsonl_line(2, kind="shout")
        + "\n"
        + jsonl_line(3, ts="2024-05-01T12:00:00")
        + "\n"
        + jsonl_line(4)
        + "\n",
        encoding="utf-8",
    )
    [r] = await run_import(store, f)
    assert (r.counts.new, r.counts.quarantined) == (2, 3)
    q = {row["position"]: row["reason"] for row in await store.quarantine()}
    assert q["line 2"].startswith("not valid JSON")
    assert "unknown kind 'shout'" in q["line 3"]
    assert "no zone" in q["line 4"]


async def test_truncated_file_is_refused_and_leaves_nothing(
    store: SQLiteStore, tmp_path: Path
) -> None:
    f = tmp_path / "t.jsonl"
    f.write_text(
        "".join(jsonl_line(i) + "\n" for i in range(10)) + jsonl_line(10)[:25], encoding="utf-8"
    )
    [r] = await run_import(store, f)
    assert r.status == "refused"
    assert (
        "t.jsonl" in r.message
        and "line 11" in r.message
        and "nothing from it was stored" in r.message
    )
    assert (await store.stats()).activities == 0


class _BreaksAfter:
    """An importer that yields good records in several batches, then finds the file corrupt."""

    name = "breaks"
    platform = "test"
    description = "test format"

    def __init__(self, good: int) -> None:
        self.good = good

    def sniff(self, path: Path, head: bytes) -> bool:
        return path.suffix == ".brk"

    def read(self, path: Path, ctx: ImportContext):  # type: ignore[no-untyped-def]
        for i in range(self.good):
            rec: Record = act(i, platform="test", community=ctx.community)
            yield rec
        raise ImportRefused("unexpected end of data", f"byte {self.good * 100}")


async def test_refusal_takes_back_batches_already_committed(
    store: SQLiteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cockpit.importing as importing

    monkeypatch.setattr(importing, "BATCH", 100)
    await store.write([act(5, platform="test", community="c")])  # existed before: must survive
    reg = Registry(plugins={"t": Plugin(name="t", description="t", importers=[_BreaksAfter(450)])})
    f = tmp_path / "x.brk"
    f.write_bytes(b"whatever")
    [r] = await run_import(store, f, reg=reg)
    assert r.status == "refused" and "byte 45000" in r.message
    rows = sqlite3.connect(store.path).execute("SELECT source_id FROM activity").fetchall()
    assert rows == [("5",)]
    counts = {m.platform_user_id: m.activity_count for m in await store.members()}
    assert sum(counts.values()) == 1


async def test_unknown_format_is_reported_per_file(store: SQLiteStore, tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("just some notes\nnothing to see\n", encoding="utf-8")
    good = write_jsonl(tmp_path / "ok.jsonl", 3)
    r1, r2 = await run_import(store, junk, good)
    assert r1.status == "refused" and "notes.txt: not a format cockpit can import" in r1.message
    assert r2.counts.new == 3


def test_fingerprint_changes_with_content(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "a.jsonl", 3)
    before = fingerprint(f)
    assert fingerprint(f) == before
    with f.open("a", encoding="utf-8") as fh:
        fh.write(jsonl_line(99) + "\n")
    assert fingerprint(f) != before


def test_kill_9_during_import_then_reimport_stores_everything_once(tmp_path: Path) -> None:
    """A crash at any instant loses nothing acknowledged and replays nothing twice."""
    n = 300_000
    f = tmp_path / "big.jsonl"
    with f.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(jsonl_line(i) + "\n")
    db = tmp_path / "kill.db"
    cmd = [str(VENV_BIN / "cockpit"), "--db", str(db), "import", str(f)]
    env = {**os.environ, "COCKPIT_DB": str(db)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    killed_at = 0
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if proc.poll() is not None:
            break
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
            row = conn.execute("SELECT position FROM import_file").fetchone()
            conn.close()
        except sqlite3.Error:
            continue
        if row and row[0] > 0:
            proc.send_signal(signal.SIGKILL)
            killed_at = row[0]
            break
    proc.wait(timeout=30)
    assert killed_at > 0, "the import finished before it could be killed; make the file bigger"
    assert killed_at < n
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "resumed" in again.stdout
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*), count(DISTINCT source_id) FROM activity").fetchone() == (
        n,
        n,
    )
    fts = conn.execute(
        "SELECT count(*) FROM activity_fts WHERE activity_fts MATCH 'message'"
    ).fetchone()[0]
    assert fts == n
    assert conn.execute("SELECT sum(activity_count) FROM member").fetchone()[0] == n
    conn.close()
    third = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert "already imported" in third.stdout
