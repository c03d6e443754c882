"""A store path SQLite cannot use well is refused with the real cause (issue 18).

A directory, a FIFO, a device, a file that cannot be written, or another application's
SQLite database: one line, exit 1, and never our schema beside someone else's tables.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.cli import main
from cockpit.errors import CockpitError
from cockpit.store.sqlite import SQLiteStore

FIXTURE = Path(__file__).parent / "fixtures" / "whatsapp" / "verein.txt"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    return main(argv), capsys.readouterr().err


@pytest.fixture(autouse=True)
def _defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COCKPIT_DB", raising=False)


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.db"
    os.mkfifo(path)
    return path


def _dir(tmp_path: Path) -> Path:
    path = tmp_path / "folder.db"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (_dir, "is a directory"),
        (_fifo, "is a FIFO"),
        (lambda _: Path("/dev/null"), "is a device"),
        (lambda p: p / "cockpit.toml" / "x.db", "Not a directory"),
    ],
    ids=["directory", "fifo", "dev-null", "under-a-file"],
)
@pytest.mark.parametrize("command", [["feed"], ["import", str(FIXTURE)]], ids=["read", "write"])
def test_a_path_that_is_no_store_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: object,
    cause: str,
    command: list[str],
) -> None:
    (tmp_path / "cockpit.toml").write_text("", encoding="utf-8")
    path = make(tmp_path)  # type: ignore[operator]
    code, err = run(["--db", str(path), *command], capsys)
    assert (code, err.count("\n")) == (1, 1), err
    assert cause in err and str(path) in err and "Traceback" not in err


@pytest.mark.parametrize("command", [["feed"], ["import", str(FIXTURE)]], ids=["read", "write"])
def test_another_applications_database_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    other = tmp_path / "app.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    code, err = run(["--db", str(other), *command], capsys)
    assert (code, err.count("\n")) == (1, 1), err
    assert "another application" in err and "invoices" in err
    with sqlite3.connect(other) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    assert tables == ["invoices"]


async def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("shopping list\n" * 200, encoding="utf-8")
    for readonly in (True, False):
        with pytest.raises(CockpitError, match="not a cockpit store"):
            await SQLiteStore.open(path, readonly=readonly)


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A store file this process cannot write: read-only for a user, immutable for root."""
    path = tmp_path / "frozen.db"
    assert main(["--db", str(path), "import", str(FIXTURE)]) == 0
    if os.geteuid() != 0:
        path.chmod(0o444)
        yield path
        path.chmod(0o644)
        return
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root and chattr +i is not available here")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_store_that_cannot_be_written(
    unwritable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Path(__file__).parent / "fixtures" / "whatsapp" / "ios_chat.txt"
    code, err = run(["--db", str(unwritable), "import", str(other)], capsys)
    assert (code, err.count("\n")) == (1, 1), err
    assert "cannot write the store" in err and "read-only or immutable" in err
    code, _ = run(["--db", str(unwritable), "feed"], capsys)  # reading it still works
    assert code == 0
