"""The Rules view (R): every rule with its state and fires, on/off and tuning written to
cockpit.toml, a backtest before saving, read-only when attached; at 80x24."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest_app import NOW, make_store, registry, seed_store
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from cockpit.app import CockpitApp
from cockpit.config import load_config
from cockpit.store.sqlite import SQLiteStore
from cockpit.widgets.feed import FeedView
from cockpit.widgets.header import PulseHeader
from cockpit.widgets.rules import READ_ONLY, RulesScreen

RULES = """\
[cockpit]
community = "acme"
timezone = "Europe/Berlin"

# keep this comment
[[rules]]
name = "raid"
kind = "raid"
joins = 5

[[rules]]
name = "needles"
kind = "keyword"
keywords = ["needle"]
severity = "critical"
"""


@pytest.fixture(autouse=True)
def _snapshots_in_tests_snapshots(here_snapshots: None) -> None:
    """The SVG of this file lives in tests/snapshots/."""


def make_app(tmp_path: Path, attach: bool, db: Path) -> tuple[CockpitApp, Path]:
    path = tmp_path / "cockpit.toml"
    path.write_text(RULES, encoding="utf-8")
    app = CockpitApp(
        store_path=db,
        config=load_config(path, registry()),
        registry=registry(),
        attach=attach,
        clock=lambda: NOW,
        live=False,
    )
    return app, path


def rows(screen: RulesScreen) -> list[list[str]]:
    table: DataTable[Text] = screen.query_one("#rules-table", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def plain(widget: Static) -> str:
    content = widget.render()
    return content.plain if isinstance(content, Text) else str(content)


async def until(pilot: Pilot[Any], cond: Any, timeout: float = 15.0) -> None:
    from conftest_app import until as wait

    await wait(pilot, cond, timeout)


async def test_lists_rules_switches_one_off_and_backtests(tmp_path: Path) -> None:
    await seed_store(tmp_path / "rules.db")
    app, path = make_app(tmp_path, False, tmp_path / "rules.db")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.ready)
        await pilot.press("R")
        await until(
            pilot, lambda: isinstance(app.screen, RulesScreen) and len(rows(app.screen)) == 2
        )
        screen = app.screen
        assert isinstance(screen, RulesScreen)
        assert [r[:4] for r in rows(screen)] == [
            ["raid", "raid", "warn", "inactive"],
            ["needles", "keyword", "crit", "inactive"],
        ]
        assert plain(screen.query_one("#rules-status", Static)) == "2 rules, 2 on · cockpit.toml"
        assert "scope: everywhere" in plain(screen.query_one("#rules-detail", Static))
        await pilot.press("space")  # raid off
        await until(pilot, lambda: rows(screen)[0][3] == "disabled")
        text = path.read_text(encoding="utf-8")
        assert "enabled = false" in text and "# keep this comment" in text
        await pilot.press("down", "b")  # what `needles` would have fired this week
        await until(
            pilot, lambda: "as it is: 1 fire" in plain(screen.query_one("#rules-detail", Static))
        )
        await pilot.press("e")
        await pilot.press(*'keywords=["haystack","nothing"]', "enter")
        await until(
            pilot, lambda: "as edited: 1 fire" in plain(screen.query_one("#rules-detail", Static))
        )
        assert 'keywords = ["needle"]' in path.read_text(encoding="utf-8")  # not saved yet
        await pilot.press("enter")
        await until(pilot, lambda: '"haystack"' in path.read_text(encoding="utf-8"))
    store = await SQLiteStore.open(app.store_path, readonly=True)  # type: ignore[arg-type]
    try:
        changes = await store.alerts.rule_changes()
    finally:
        await store.close()
    assert [c.rule for c in changes] == ["needles", "raid"]
    assert changes[1].change == "disabled"


async def test_attached_is_read_only_in_one_line(tmp_path: Path) -> None:
    await seed_store(tmp_path / "rules.db")
    app, path = make_app(tmp_path, True, tmp_path / "rules.db")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.ready)
        await pilot.press("R")
        await until(
            pilot, lambda: isinstance(app.screen, RulesScreen) and len(rows(app.screen)) == 2
        )
        await pilot.press("space")
        await pilot.pause(0.2)
        assert [n.message for n in app._notifications] == [READ_ONLY]
    assert path.read_text(encoding="utf-8") == RULES


def test_rules_view_80x24(tmp_path: Path, snap_compare: Any) -> None:
    app, _ = make_app(tmp_path, True, make_store(tmp_path / "rules.db"))

    async def opened(pilot: Pilot[Any]) -> None:
        for _ in range(500):  # the cockpit settled behind the view: store open, feed read
            view = pilot.app.screen_stack[0].query(FeedView)
            header = pilot.app.screen_stack[0].query(PulseHeader)
            counted = bool(header) and header.first().pulse.alerts is not None
            if (
                getattr(pilot.app, "ready", False)
                and view
                and not view.first().fetching
                and counted
            ):
                break
            await pilot.pause(0.02)
        await pilot.pause(0.3)
        await pilot.press("R")
        for _ in range(250):
            screen = pilot.app.screen
            if isinstance(screen, RulesScreen) and len(rows(screen)) == 2:
                break
            await pilot.pause(0.02)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=opened)
