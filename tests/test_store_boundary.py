"""Nothing outside `cockpit/store/` knows which database is behind the store: no import of a
backend module, no isinstance of a concrete store, no SQL. Each feature reads and writes
through its repository on the `Store` facade (`store.alerts`, `store.calendar`, ...)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AREAS = ("cockpit", "widgets", "plugins")
PUBLIC = {"cockpit.store", "cockpit.store.base"}  # the facade and its types
CONCRETE = re.compile(r"^(SQLite|Postgres)\w*Store$|^SQLite\w+$|^Postgres\w+$")
SQL = re.compile(
    r"\bSELECT\b[\s\S]+\bFROM\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bDELETE\s+FROM\b"
    r"|\bUPDATE\s+\w+\s+SET\b|\bCREATE\s+(TABLE|INDEX|VIRTUAL)\b|\bPRAGMA\s+\w+"
)


def outside_store() -> list[Path]:
    files = []
    for area in AREAS:
        for path in sorted((ROOT / area).rglob("*.py")):
            if path.is_relative_to(ROOT / "cockpit" / "store"):
                continue
            files.append(path)
    return files


def problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and node.module:
            mod = node.module
            if mod.startswith("cockpit.store") and mod not in PUBLIC:
                found.append(f"{where}: imports {mod}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("cockpit.store") and alias.name not in PUBLIC:
                    found.append(f"{where}: imports {alias.name}")
        elif isinstance(node, ast.Name) and CONCRETE.match(node.id):
            found.append(f"{where}: names the concrete store {node.id}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL.search(node.value)
        ):
            found.append(f"{where}: SQL outside the store: {node.value[:60]!r}")
    return found


@pytest.mark.parametrize("path", outside_store(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_backend_knowledge_outside_the_store(path: Path) -> None:
    assert problems(path) == []


def test_the_checker_sees_what_it_forbids() -> None:
    """The rules above catch each kind of leak (a checker that cannot fail proves nothing)."""
    # problems() reports paths relative to the repository: the probe sits inside it
    probe = ROOT / "tests" / "_boundary_probe.py"
    probe.write_text(
        "from cockpit.store.sqlite import SQLiteStore\n"
        "import cockpit.store.sqlite_alerts\n"
        "ok = isinstance(x, SQLiteStore)\n"
        "q = 'SELECT id FROM member WHERE id = ?'\n"
        "r = 'PRAGMA user_version'\n"
        "fine = 'select a slot from the list'\n",
        encoding="utf-8",
    )
    try:
        found = problems(probe)
    finally:
        probe.unlink()
    assert sorted(int(f.split(":")[1]) for f in found) == [1, 2, 3, 4, 5], found
