"""Shared fixtures: a real SQLite store file in a temp dir."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot

from cockpit.store.sqlite import SQLiteStore
from pgserver import Server, start_server


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    s = await SQLiteStore.open(tmp_path / "store.db")
    yield s
    await s.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """One PostgreSQL server for the session (see tests/pgserver.py)."""
    yield from start_server()


@pytest.fixture
def pg_url(pg_server: Server) -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    url = pg_server.fresh_db()
    yield url
    pg_server.drop_db(url)


SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


class _HereSVG(pytest_textual_snapshot.SVGImageExtension):  # type: ignore[misc]
    """Snapshot SVGs in tests/snapshots/, named by test, whatever file they come from."""

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(SNAPSHOTS)


@pytest.fixture
def here_snapshots(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", _HereSVG)
    yield
