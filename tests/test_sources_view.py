"""Connector health in the cockpit: the header's word on the sources and the sources view,
read from the store as `cockpit collect` writes it (so an attached operator sees it too)."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conftest_app import NOW, config, registry, seed_store, until
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from cockpit.app import CockpitApp
from cockpit.collect.health import ConnectorHealth, Expected, HealthBoard, merged, summarize
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_collect import save_health
from cockpit.widgets.header import PulseHeader
from cockpit.widgets.sources import SourcesScreen, ago


@dataclass
class Sup:
    state: str
    last_error: str | None = None
    events: int = 0
    last_event: datetime | None = None


def test_summary_names_the_worst_state_or_a_silent_collector() -> None:
    fresh = NOW - timedelta(seconds=5)
    assert summarize([], NOW).text == "no sources"
    assert summarize([("connected", fresh)] * 3, NOW).text == "3 sources"
    assert summarize([("connected", fresh)], NOW).text == "1 source"
    lagging = summarize([("connected", fresh), ("lagging", fresh)], NOW)
    assert (lagging.text, lagging.worst) == ("1 lagging", "lagging")
    failing = summarize([("lagging", fresh), ("failing", fresh), ("failing", fresh)], NOW)
    assert (failing.text, failing.worst) == ("2 failing", "failing")
    old = NOW - timedelta(minutes=7, seconds=30)
    assert summarize([("connected", old)], NOW).text == "collector silent 7m"
    assert summarize([("connected", NOW - timedelta(hours=5))], NOW).text == "collector silent 5h"


def test_merged_health_trusts_the_supervisor_over_a_silent_source() -> None:
    board = HealthBoard()
    board.get("tg").ok()
    board.get("tg").received(3, NOW)
    expected = [Expected("demo", "demo", "acme"), Expected("tg", "telegram", "acme"),
                Expected("bad", "discord", "acme")]  # fmt: skip
    got = merged(
        expected,
        board,
        {"demo": Sup("running", None, 7, NOW), "tg": Sup("running"), "bad": Sup("failing", "boom")},
    )
    assert [(h.name, h.type, h.state, h.detail) for h in got] == [
        ("demo", "demo", "connected", "running"),  # reports nothing itself: its task runs
        ("tg", "telegram", "connected", None),
        ("bad", "discord", "failing", "boom"),
    ]
    assert (got[0].events, got[0].last_event, got[1].events) == (7, NOW, 3)


def test_a_streaming_source_counted_by_the_runner_stays_current() -> None:
    """The demo streams for hours: its newest event is the runner's latest count every time,
    not the first (it read '4d' ago, the end of the history backfill, while streaming)."""
    board = HealthBoard()
    expected = [Expected("demo", "demo", "acme")]
    first = merged(expected, board, {"demo": Sup("running", None, 20_000, NOW - timedelta(days=4))})
    assert (first[0].events, first[0].last_event) == (20_000, NOW - timedelta(days=4))
    later = merged(expected, board, {"demo": Sup("running", None, 20_500, NOW)})
    assert (later[0].events, later[0].last_event) == (20_500, NOW)


def test_ago_reads_like_a_person_would_say_it() -> None:
    assert [ago(NOW - timedelta(seconds=s), NOW) for s in (3, 125, 7300, 200000)] == [
        "3s",
        "2m",
        "2h",
        "2d",
    ]
    assert ago(None, NOW) == "—"


async def store_with_health(path: Path, written: datetime) -> None:
    await seed_store(path)
    store = await SQLiteStore.open(path)
    try:
        good = ConnectorHealth("discord-main", "discord", "acme", clock=lambda: written)
        good.ok()
        good.received(1200, written - timedelta(seconds=20))
        good.waited(1.5)
        bad = ConnectorHealth("tg-bot", "telegram", "acme", clock=lambda: written)
        bad.failing("telegram: the API refused the token for getMe (HTTP 401: Unauthorized)")
        await save_health(store, [good, bad], written)
    finally:
        await store.close()


def header_text(app: CockpitApp) -> str:
    return app.screen_stack[0].query_one(PulseHeader).render().plain


def plain(renderable: object) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable.render() if isinstance(renderable, Static) else renderable)
    return console.export_text()


async def test_attached_operator_sees_a_failing_source_in_header_and_view(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await store_with_health(path, NOW - timedelta(seconds=3))
    app = CockpitApp(
        store_path=path, config=config(), registry=registry(), attach=True, clock=lambda: NOW
    )
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: "attached · 1 failing" in header_text(app))
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, SourcesScreen) and bool(app.screen.rows))
        table = plain(app.screen.table)
        lines = [line for line in table.splitlines() if "discord-main" in line or "tg-bot" in line]
        assert lines[0].split()[:4] == ["●", "discord-main", "discord", "connected"]  # name type
        assert lines[0].split()[4:] == ["23s", "3s", "1,200", "1", "(2s)", "0"]
        assert lines[1].split()[:4] == ["✖", "tg-bot", "telegram", "failing"]
        details = plain(app.screen.query_one("#sources-details", Static))
        assert details.startswith("1 failing · written 3s ago")
        assert "tg-bot: telegram: the API refused the token for getMe" in details
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SourcesScreen))


async def test_health_nobody_rewrites_reads_as_a_silent_collector(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await store_with_health(path, NOW - timedelta(minutes=10))
    app = CockpitApp(
        store_path=path, config=config(), registry=registry(), attach=True, clock=lambda: NOW
    )
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: "attached · collector silent 10m" in header_text(app))
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, SourcesScreen) and bool(app.screen.rows))
        table = plain(app.screen.table)
        assert "connected (stale)" in table


async def test_sources_this_cockpit_runs_store_their_own_health(tmp_path: Path) -> None:
    """In-process mode (no collector): a tailed file source shows as connected."""
    path = tmp_path / "s.db"
    await seed_store(path)
    feed = tmp_path / "in.jsonl"
    feed.write_text("")
    cfg_path = tmp_path / "cockpit.toml"
    cfg_path.write_text(f'[[sources]]\ntype = "jsonl"\nname = "bridge"\npath = "{feed}"\n')
    from cockpit.config import load_config
    from cockpit.registry import load_registry

    reg = load_registry()
    cfg = load_config(cfg_path, reg)
    real_now = datetime.now(UTC)
    app = CockpitApp(
        store_path=path, config=cfg, registry=reg, attach=False, clock=lambda: real_now
    )
    line = '{"platform": "x", "id": "1", "kind": "message", "ts": "2024-05-14T12:00:00Z", "author_id": "a"}'
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: "· 1 source" in header_text(app))
        assert [(h.name, h.type, h.state) for h in app.health] == [("bridge", "jsonl", "connected")]
        with feed.open("a") as f:
            f.write(line + "\n")
        await until(pilot, lambda: bool(app.health) and app.health[0].events == 1, timeout=30)
        assert app.health[0].last_event == datetime(2024, 5, 14, 12, 0, tzinfo=UTC)


def test_sources_view_snapshot_80x24(
    tmp_path: Path, here_snapshots: None, snap_compare: Any
) -> None:
    path = tmp_path / "s.db"
    asyncio.run(store_with_health(path, NOW - timedelta(seconds=3)))
    app = CockpitApp(
        store_path=path, config=config(), registry=registry(), attach=True, clock=lambda: NOW
    )

    async def show(pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: "1 failing" in header_text(app))
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, SourcesScreen) and bool(app.screen.rows))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=show)
