"""`cockpit import` shows its progress on a terminal (bytes, activities/s, time left), and
nothing at all when stderr is a pipe or a file."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from cockpit.cli import main
from cockpit.progress import ImportProgress, read_offset


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _export(path: Path, n: int) -> Path:
    rows = (
        {"platform": "discord", "id": str(i), "kind": "message", "ts": "2024-05-01T12:00:00Z",
         "channel": "general", "author": f"u{i % 50}", "author_id": str(i % 50),
         "text": f"message number {i} " + "x" * 80}
        for i in range(n)
    )  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_progress_on_a_terminal_nothing_when_piped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COCKPIT_DB", raising=False)
    src = _export(tmp_path / "big.jsonl", 12_000)
    assert main(["--db", str(tmp_path / "piped.db"), "import", str(src)]) == 0
    assert capsys.readouterr().err == ""  # piped: not a byte of progress
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr("cockpit.progress._REDRAW", 0.0)
    assert main(["--db", str(tmp_path / "tty.db"), "import", str(src)]) == 0
    shown = tty.getvalue()
    assert "big.jsonl:" in shown and "activities, " in shown and "/s" in shown
    assert " MB of " in shown and "%)," in shown and " left" in shown
    assert shown.endswith("\r")  # the line is cleared before the per-file report
    assert "12000 new" in capsys.readouterr().out.replace(",", "")


def test_the_line_says_bytes_rate_and_time_left(tmp_path: Path) -> None:
    src = _export(tmp_path / "e.jsonl", 10)
    now = [100.0]
    out = Tty()
    p = ImportProgress(out, clock=lambda: now[0], offset=lambda _: src.stat().st_size // 4)
    now[0] += 10
    p.update(src, 5_000)
    last = out.getvalue().split("\r")[-1].strip()
    size = src.stat().st_size
    assert last.startswith(f"e.jsonl: {size // 4} B of {size / 1000:.1f} kB (25%),")
    assert "5,000 activities, 500/s, 30 s left" in last
    quiet = io.StringIO()
    ImportProgress(quiet).update(src, 1)
    assert quiet.getvalue() == ""


def test_read_offset_is_where_this_process_reads(tmp_path: Path) -> None:
    src = _export(tmp_path / "r.jsonl", 100)
    with src.open("rb", buffering=0) as fh:
        fh.read(1234)
        assert read_offset(src) == 1234
    assert read_offset(src) is None
