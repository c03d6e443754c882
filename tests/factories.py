"""Test data factories shared by the test modules."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cockpit.model import Activity, Kind

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CONFORMANCE = Path(
    os.environ.get("COCKPIT_CONFORMANCE_DIR")
    or Path(__file__).resolve().parents[2] / "shared" / "conformance"
)


def act(i: int, **kw: Any) -> Activity:
    """A message from one of seven authors, one second apart."""
    base: dict[str, Any] = dict(
        platform="discord",
        source_id=str(i),
        kind=Kind.MESSAGE,
        ts=T0 + timedelta(seconds=i),
        channel="general",
        author=f"user{i % 7}",
        author_id=str(1000 + i % 7),
        text=f"hello world number {i}",
        community="c1",
    )
    base.update(kw)
    return Activity(**base)
