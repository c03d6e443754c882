"""Snapshot tests of the cockpit on seeded data with a frozen clock (SVGs in tests/snapshots/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest_app import NOW, config, make_store, registry
from textual.pilot import Pilot

from cockpit.app import CockpitApp
from cockpit.widgets.feed import FeedView


@pytest.fixture(autouse=True)
def _snapshots_in_tests_snapshots(here_snapshots: None) -> None:
    """Every test of this file keeps its SVG in tests/snapshots/."""


@pytest.fixture
def app(tmp_path: Path) -> CockpitApp:
    path = make_store(tmp_path / "snap.db")
    return CockpitApp(
        store_path=path, config=config(), registry=registry(), attach=True, clock=lambda: NOW
    )


async def _ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    for _ in range(250):
        view = app.screen_stack[0].query(FeedView)
        if (
            view
            and not view.first().fetching
            and view.first().scroll_y == view.first().max_scroll_y
            and getattr(app, "ready", False)
        ):
            break
        await pilot.pause(0.02)
    await pilot.pause(0.1)


def test_cockpit_80x24(app: CockpitApp, snap_compare: Any) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready)


def test_cockpit_160x48(app: CockpitApp, snap_compare: Any) -> None:
    assert snap_compare(app, terminal_size=(160, 48), run_before=_ready)


def test_detail_80x24(app: CockpitApp, snap_compare: Any) -> None:
    async def open_detail(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("up", "up", "enter")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_detail)


def test_filtered_feed_80x24(app: CockpitApp, snap_compare: Any) -> None:
    async def filter_platform(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("p")
        await pilot.pause(0.2)
        await _ready(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=filter_platform)


def test_help_80x24(app: CockpitApp, snap_compare: Any) -> None:
    async def open_help(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_help)
