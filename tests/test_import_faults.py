"""Imports under bad luck (issue 18): a changed middle is a new file, a refusal takes back
every member and channel only that file created, and a disk that fills up refuses cleanly.

The disk-full case runs on a real small filesystem (tmpfs, mounted for the test; it needs
root) and is skipped with the reason where one cannot be made.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_importing import jsonl_line, run_import, write_jsonl

import cockpit.importing as importing
from cockpit.cli import main
from cockpit.importing import fingerprint
from cockpit.store.sqlite import SQLiteStore


def test_a_change_in_the_middle_of_a_mid_sized_file_is_seen(tmp_path: Path) -> None:
    """Between 1 and 2 MiB the old fingerprint (size + first and last MiB) read every byte
    but the middle one... and above 2 MiB it missed the whole middle."""
    f = write_jsonl(tmp_path / "a.jsonl", 40_000)  # ~ 5 MB
    before = fingerprint(f)
    data = bytearray(f.read_bytes())
    middle = len(data) // 2
    data[middle] = ord("X") if data[middle] != ord("X") else ord("Y")
    f.write_bytes(bytes(data))
    assert f.stat().st_size == len(data)
    assert fingerprint(f) != before


async def test_reimport_after_a_middle_edit_is_read_again(
    store: SQLiteStore, tmp_path: Path
) -> None:
    lines = [jsonl_line(i) for i in range(12_000)]  # ~ 1.9 MB: between one and two MiB
    f = tmp_path / "a.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [first] = await run_import(store, f)
    assert first.counts.new == 12_000
    lines[9_000] = jsonl_line(9_000, text="MESSAGE 9000")  # same size, past the first MiB
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [again] = await run_import(store, f)
    assert again.status == "imported"


async def test_refusal_takes_back_members_and_channels_only_it_created(
    store: SQLiteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "BATCH", 50)
    [ok] = await run_import(store, write_jsonl(tmp_path / "old.jsonl", 10))
    assert ok.counts.new == 10
    before = await store.stats()
    # 300 good lines from 300 new people in 30 new channels (some shared with the old file),
    # then a truncated line: the file is refused after several batches were committed
    body = "".join(
        jsonl_line(
            1000 + i,
            author=f"new{i}",
            author_id=str(9000 + i),
            channel="general" if i % 30 == 0 else f"room{i % 30}",
        )
        + "\n"
        for i in range(300)
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text(body + jsonl_line(5000)[:30], encoding="utf-8")
    [r] = await run_import(store, bad)
    assert r.status == "refused" and "nothing from it was stored" in r.message
    after = await store.stats()
    assert (after.activities, after.members, after.channels) == (
        before.activities,
        before.members,
        before.channels,
    )
    # the members the old file brought keep their counts
    assert sum(m.activity_count for m in await store.members()) == 10


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_disk_that_fills_up_mid_import_refuses_cleanly(
    small_disk: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COCKPIT_DB", raising=False)
    monkeypatch.setattr(importing, "BATCH", 2_000)  # several commits before the disk fills
    db = small_disk / "c.db"
    assert main(["--db", str(db), "import", str(write_jsonl(tmp_path / "old.jsonl", 5))]) == 0
    big = tmp_path / "big.jsonl"
    big.write_text(
        "".join(
            jsonl_line(100 + i, author=f"p{i}", author_id=str(10_000 + i), channel=f"c{i % 40}")
            + "\n"
            for i in range(60_000)
        ),
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["--db", str(db), "import", str(big)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "disk is full" in err and "needs roughly" in err and "nothing from it was stored" in err
    conn = sqlite3.connect(db)
    counts = [
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("activity", "member", "channel")
    ]
    assert counts == [5, 5, 1]
    assert conn.execute("SELECT state FROM import_file ORDER BY id").fetchall() == [
        ("done",),
        ("refused",),
    ]
    conn.close()
    assert not (small_disk / "c.db-reserve").exists()
    assert main(["--db", str(db), "feed", "--json"]) == 0  # the store still works
