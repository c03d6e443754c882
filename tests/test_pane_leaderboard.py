"""Pilot tests of the Leaderboard pane: ranking, windows, trend, churn, the explanation modal,
the member view from it, the loading line, hostile names, and the untouched empty state."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest_app import COMMUNITY, NOW, activity, config, registry, seed_store, until
from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from cockpit.app import CockpitApp
from cockpit.config import Config
from cockpit.model import Activity, Kind
from cockpit.scoring.config import ScoringSettings
from cockpit.scoring.rank import Term
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_scoring import ScoringStore
from cockpit.widgets import leaderboard as lb
from cockpit.widgets.health import HealthScreen, health_text
from cockpit.widgets.leaderboard import ExplainScreen, LeaderboardPane, LeaderTable, shown_points
from cockpit.widgets.member import MemberScreen
from cockpit.widgets.pane import EmptyState

HOSTILE_NAME = "[b]Mal\u202eory"
DAY = timedelta(days=1)


def mallory(n: int, ts: datetime, text: str) -> Activity:
    return Activity(
        platform="slack",
        source_id=f"C0GEN:{n}",
        kind=Kind.MESSAGE,
        ts=ts,
        channel="general",
        channel_id="C0GEN",
        author=HOSTILE_NAME,
        author_id="U66",
        author_handle=None,
        text=text,
        community="acme",
    )


def scored_activities() -> list[Activity]:
    """Ada answers Grace's question today; Ken was busy 20 days ago; Mallory led last week.

    Today (decay 1): Ada 3 messages (1.5) + a reply (1) + Grace's reaction (1) + an answer
    (5) = 8.5; Grace her question (0.5) + the reply she got (1) + a thread answered (1) = 2.5.
    """
    h = timedelta(hours=1)
    return [
        activity(1, 1, NOW - 3 * h, "How do I export the Telegram history?"),
        activity(2, 0, NOW - 2 * h, "Use the desktop app: Settings, Advanced", reply_to="c-help:1"),
        activity(
            3, 1, NOW - 2 * h + timedelta(minutes=5), "👍", Kind.REACTION, reply_to="c-general:2"
        ),
        activity(4, 0, NOW - 1 * h, "Also works for channels you moderate."),
        activity(5, 0, NOW - h / 2, "And the JSON export keeps reply ids."),
        activity(6, 0, NOW - 40 * DAY, "Forty days ago I wrote the first guide."),
        activity(7, 4, NOW - 20 * DAY, "Release notes are up on the wiki."),
        activity(8, 4, NOW - 20 * DAY + h, "Benchmarks for the new importer too."),
        activity(9, 4, NOW - 20 * DAY + 2 * h, "Ping me if something looks wrong."),
        activity(10, 1, NOW - 10 * DAY, "Office hours moved to Thursday."),
        activity(11, 6, NOW - h, "beep: nightly build finished fine", is_bot=True),
        mallory(12, NOW - 10 * DAY, "Sharing my dashboard config here."),
        mallory(13, NOW - 10 * DAY + h, "Another long helpful message here."),
        mallory(14, NOW - h, "Back from holidays, what did I miss"),
    ]


async def build(path: Path, rollup: bool) -> None:
    await seed_store(path, scored_activities())
    if rollup:
        store = await SQLiteStore.open(path)
        try:
            await ScoringStore(store).catch_up()
        finally:
            await store.close()


def scoring_config(**settings: Any) -> Config:
    return dataclasses.replace(config(), sections={"scoring": ScoringSettings(**settings)})


def make_app(path: Path, attach: bool = True, cfg: Config | None = None) -> CockpitApp:
    return CockpitApp(
        store_path=path,
        config=cfg or config(),
        registry=registry(),
        attach=attach,
        clock=lambda: NOW,
        live=False,
    )


@pytest.fixture
def scored(tmp_path: Path) -> Path:
    path = tmp_path / "scored.db"
    asyncio.run(build(path, rollup=True))
    return path


def pane(app: CockpitApp) -> LeaderboardPane:
    return app.screen_stack[0].query_one(LeaderboardPane)


def rows(app: CockpitApp) -> list[list[str]]:
    table = pane(app).query_one(LeaderTable)
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


def status(app: CockpitApp) -> str:
    return str(pane(app).query_one("#lb-status", Static).render())


def plain(renderable: Any, width: int = 100) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def shown(app: CockpitApp, window: str) -> Callable[[], bool]:
    p = pane(app)
    return lambda: p.board is not None and p.board.window == window and not p.computing


async def test_ranking_columns_and_title(scored: Path) -> None:
    app = make_app(scored)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await until(pilot, shown(app, "30d"))
        p = pane(app)
        assert p.border_title == "3 Leaderboard · 30d"
        assert not p.query_one(EmptyState).display and p.query_one(LeaderTable).display
        await until(pilot, lambda: app.focused is p.query_one(LeaderTable))
        assert [str(c.label) for c in p.query_one(LeaderTable).columns.values()] == list(lb.COLUMNS)
        assert rows(app) == [
            ["1", "Ada Lovelace @ada", "DC", "8.5", "=", "", "newcomer", "1", "first answer"],
            ["2", "Grace Hopper @grace", "DC", "3.0", "new", "", "newcomer", "1", ""],
            ["3", "[b]Mal\\u202eory", "SL", "1.5", "new", "", "newcomer", "0", ""],
            ["4", "Ken Thompson @ken", "SL", "1.4", "new", "", "newcomer", "0", ""],
        ]
        assert status(app).startswith("last 30 days · top 4")


async def test_window_cycles_and_trend_against_the_window_before(scored: Path) -> None:
    app = make_app(scored)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, shown(app, "30d"))
        await pilot.press("3")
        await until(pilot, lambda: app.focused is pane(app).query_one(LeaderTable))
        await pilot.press("w")
        await until(pilot, shown(app, "90d"))
        assert pane(app).border_title == "3 Leaderboard · 90d"
        assert [r[1] for r in rows(app)][:1] == ["Ada Lovelace @ada"]
        assert rows(app)[0][3] == "8.9"  # 8.5 + the message 40 days ago: 0.5 × 0.9^(40/30)
        await pilot.press("w")
        await until(pilot, shown(app, "all"))
        assert {r[4] for r in rows(app)} == {"·"}  # no window before all time
        await pilot.press("w")
        await until(pilot, shown(app, "7d"))
        # last week Mallory led and Grace was second; Ken is outside the 7 days
        assert [(r[1], r[3], r[4]) for r in rows(app)] == [
            ("Ada Lovelace @ada", "8.5", "back"),  # seen 40 days ago, not last week
            ("Grace Hopper @grace", "2.5", "="),
            ("[b]Mal\\u202eory", "0.5", "▼2"),
        ]
        await pilot.press("w")
        await until(pilot, shown(app, "30d"))
        assert pane(app).border_title == "3 Leaderboard · 30d"


async def test_enter_explains_term_by_term_and_m_opens_the_member(scored: Path) -> None:
    app = make_app(scored)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await until(pilot, shown(app, "30d"))
        await pilot.press("enter")
        assert isinstance(app.screen, ExplainScreen)
        screen = app.screen
        assert screen.standing.who.name == "Ada Lovelace"
        terms = plain(screen.query_one("#explain-terms", Static).content)
        lines = [" ".join(line.split()) for line in terms.splitlines() if line.strip()]
        assert lines[:8] == [
            "term count decayed weight points",
            "substantive messages 3 3.00 × 0.5 1.50",
            "replies to others 1 1.00 × 1 1.00",
            "replies received 0 0.00 × 1 0.00",
            "reactions received 1 1.00 × 1 1.00",
            "threads started that got answers 0 0.00 × 1 0.00",
            "questions answered 1 1.00 × 5 5.00",
            "total 8.50",
        ]
        assert "rank 1 · score 8.50" in str(screen.query_one("#explain-head", Static).render())
        extra = str(screen.query_one("#explain-extra", Static).render())
        assert "influence: 1 people" in extra and "badges: first answer" in extra
        ada = screen.standing.who.member_ids[0]
        await pilot.press("m")
        assert isinstance(app.screen, MemberScreen) and app.screen.member_id == ada
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]


async def test_explain_closes_and_table_m_opens_member(scored: Path) -> None:
    app = make_app(scored)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await until(pilot, shown(app, "30d"))
        await pilot.press("down", "enter")
        assert isinstance(app.screen, ExplainScreen)
        assert app.screen.standing.who.name == "Grace Hopper"
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0]
        await pilot.press("down", "m")
        assert isinstance(app.screen, MemberScreen)
        member = await app.store.member(app.screen.member_id)  # type: ignore[union-attr]
        assert member is not None and member.display_name == HOSTILE_NAME


async def test_churn_flag_comes_from_the_scoring_section(scored: Path) -> None:
    cfg = scoring_config(churn_conversations=3, churn_quiet_days=14)
    app = make_app(scored, cfg=cfg)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await until(pilot, shown(app, "30d"))
        churn = {r[1]: r[5] for r in rows(app)}
        assert churn == {
            "Ada Lovelace @ada": "",
            "Grace Hopper @grace": "",
            "[b]Mal\\u202eory": "",
            "Ken Thompson @ken": "⚠ quiet",
        }


async def test_h_shows_the_community_health_for_the_window(scored: Path) -> None:
    cfg = scoring_config(churn_conversations=3, churn_quiet_days=14)
    app = make_app(scored, cfg=cfg)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("3")
        await until(pilot, shown(app, "30d"))
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HealthScreen))
        screen = app.screen
        assert isinstance(screen, HealthScreen)
        await until(pilot, lambda: screen.figures is not None)
        assert screen.figures is not None and screen.figures["window"] == "30d"
        text = plain(health_text(screen.figures, 90), 100)
        lines = text.splitlines()
        assert lines[0].startswith(f"{COMMUNITY}  ")
        members = next(line for line in lines if line.startswith("members"))
        assert members.split()[1] == str(screen.figures["members"])
        assert any(line.startswith("active         DAU ") for line in lines)
        churn = next(line for line in lines if line.startswith("churn watch"))
        assert "1 core member gone quiet" in churn
        assert any(line.strip().startswith("Ken Thompson") for line in lines)
        await pilot.press("w")
        await until(pilot, lambda: screen.figures is not None and screen.figures["window"] == "90d")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HealthScreen))


async def test_in_process_cockpit_catches_the_rollup_up_itself(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    await build(path, rollup=False)
    app = make_app(path, attach=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await until(pilot, shown(app, "30d"))
        assert [r[1] for r in rows(app)] == [
            "Ada Lovelace @ada",
            "Grace Hopper @grace",
            "[b]Mal\\u202eory",
            "Ken Thompson @ken",
        ]


async def test_no_rollup_keeps_the_empty_state_exactly(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    await build(path, rollup=False)
    app = make_app(path, attach=True)  # attached: the pane must not write the rollup
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: pane(app)._loaded_at > 0 and not pane(app).computing)
        p = pane(app)
        assert p.board is not None and p.board.rows == [] and not p.board.anyone
        assert p.query_one(EmptyState).display and not p.query_one(LeaderTable).display
        assert not p.query_one("#lb-status").display
        assert p.border_title == "3 Leaderboard"
        assert "No leaderboard yet" in str(p.query_one(EmptyState).render())
        p.focus()
        await until(pilot, lambda: app.focused is p)
        await pilot.press("w")
        await until(pilot, shown(app, "90d"))
        assert p.border_title == "3 Leaderboard · 90d"
        assert "last 90 days" in status(app)


async def test_quiet_window_says_so(scored: Path) -> None:
    later = NOW + 60 * DAY
    app = CockpitApp(
        store_path=scored, config=config(), registry=registry(), attach=True, clock=lambda: later
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await until(pilot, shown(app, "30d"))
        assert rows(app) == []
        assert pane(app).query_one(LeaderTable).display
        assert "nobody ranked yet" in status(app) and "w: a longer window" in status(app)


async def test_slow_compute_shows_a_loading_line(
    scored: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = asyncio.Event()
    real = lb.leaderboard

    async def slow(*args: Any, **kw: Any) -> Any:
        await gate.wait()
        return await real(*args, **kw)

    monkeypatch.setattr(lb, "leaderboard", slow)
    app = make_app(scored)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: pane(app).slow)
        assert status(app) == "Computing the leaderboard (last 30 days)…"
        gate.set()
        await until(pilot, shown(app, "30d"))
        assert status(app).startswith("last 30 days · top 4")


def test_shown_points_add_up_to_the_shown_total() -> None:
    def term(points: float) -> Term:
        return Term("messages", 0, 0.0, 1.0, points)

    terms = [term(0.335), term(0.335), term(0.335)]  # rounded alone: 0.34 × 3 = 1.02
    score = sum(t.points for t in terms)
    cents = shown_points(terms, score)
    assert sum(cents) == round(score * 100) == 101
    assert sorted(cents) == [33, 34, 34]
    assert shown_points([term(1.5), term(0.0), term(5.0)], 6.5) == [150, 0, 500]
    assert lb.money(101) == "1.01" and lb.money(5) == "0.05"


def test_cells_are_text_never_markup() -> None:
    """A name full of markup reaches the table as literal text."""
    from cockpit.scoring.leaderboard import Standing
    from cockpit.store.sqlite_scoring import Who

    who = Who(1, "[red]x[/red]\x1b[31m", "h[/]", ("slack", "discord"), (1,))
    s = Standing(1, who, 1.0, (), "regular", ("first answer",), 3, 2, 1.0, "at risk", None)
    cells = lb.row_cells(s, "7d")
    assert all(isinstance(c, Text) for c in cells)
    assert [c.plain for c in cells] == [
        "1",
        "[red]x[/red]\\x1b[31m …",  # cut to PERSON_WIDTH cells
        "SL DC",
        "1.0",
        "▲2",
        "⚠ at risk",
        "regular",
        "2",
        "first answer",
    ]
    assert not any(span.style == "red" for span in cells[1].spans)
    assert lb.row_cells(s, "all")[4].plain == "·"


def test_leaderboard_snapshot_80x24(scored: Path, here_snapshots: None, snap_compare: Any) -> None:
    async def show(pilot: Pilot[Any]) -> None:
        await pilot.press("3")
        await until(pilot, shown(pilot.app, "30d"))  # type: ignore[arg-type]
        await pilot.pause(0.2)

    assert snap_compare(make_app(scored), terminal_size=(80, 24), run_before=show)


def test_leaderboard_explain_snapshot_80x24(
    scored: Path, here_snapshots: None, snap_compare: Any
) -> None:
    async def explain(pilot: Pilot[Any]) -> None:
        await pilot.press("3")
        await until(pilot, shown(pilot.app, "30d"))  # type: ignore[arg-type]
        await pilot.press("enter")
        await pilot.pause(0.3)

    assert snap_compare(make_app(scored), terminal_size=(80, 24), run_before=explain)
