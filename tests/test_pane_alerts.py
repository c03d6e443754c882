"""The Alerts pane: listing by severity, header counts, ack / resolve / silence, detail, read-only."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from conftest_app import HOSTILE, NOW, config, make_store, registry, seed_store, until
from rich.text import Text
from textual.widgets import Checkbox, DataTable, Input, OptionList, Static

from cockpit.alerts import operations
from cockpit.alerts.engine import Alert
from cockpit.alerts.records import AlertRow, Matcher
from cockpit.app import CockpitApp
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_alerts import AlertStore
from cockpit.timeutil import to_ms
from cockpit.widgets import alerts as alerts_mod
from cockpit.widgets.alerts import (
    READ_ONLY,
    AlertDetail,
    AlertsPane,
    SilenceDialog,
    SilencesScreen,
    age,
    header_counts,
    shown_state,
)
from cockpit.widgets.detail import ActivityDetail
from cockpit.widgets.header import PulseHeader
from cockpit.widgets.pane import EmptyState

T = to_ms(NOW)
MIN = 60_000
LABELS = {
    "alertname": "scam-words",
    "severity": "critical",
    "community": "acme",
    "platform": "discourse",
    "channel": "Announcements",
}


def _alert(fp: str, rule: str, severity: str, state: str, **kw: Any) -> Alert:
    labels = kw.pop("labels", {"alertname": rule, "severity": severity, "community": "acme"})
    return Alert(fp, rule, severity, labels, kw.pop("annotations", {}), ["mods"], state, **kw)  # type: ignore[arg-type]


async def _seed_alerts(path: Path) -> list[int]:
    store = await SQLiteStore.open(path)
    try:
        rows = await store.fetchall(
            "SELECT id FROM activity WHERE source_id IN ('cat-5:2006', 'wa-group-1:2008') ORDER BY id"
        )
        ids = [r[0] for r in rows]
        alerts = AlertStore(store)
        await alerts.save(
            [
                _alert(
                    "fp-crit",
                    "scam-words",
                    "critical",
                    "firing",
                    labels=LABELS,
                    annotations={
                        "summary": "scam words: " + HOSTILE,
                        "runbook": "ban, then report",
                    },
                    active_at=T - 12 * MIN,
                    last_active=T - MIN,
                    fired_at=T - 10 * MIN,
                    summary="scam words",
                    count=2,
                    value=2,
                    ids=ids,
                ),
                _alert(
                    "fp-warn",
                    "join-flood",
                    "warning",
                    "pending",
                    active_at=T - 3 * MIN,
                    last_active=T - MIN,
                    summary="14 joins in 5m",
                    count=14,
                ),
                _alert(
                    "fp-info",
                    "quiet-channel",
                    "info",
                    "firing",
                    active_at=T - 300 * MIN,
                    last_active=T - MIN,
                    fired_at=T - 240 * MIN,
                    summary="#general quiet for 4h",
                    count=1,
                ),
            ],
            T - MIN,
        )
        await alerts.add_silence(
            [Matcher("alertname", "=", "quiet-channel")],
            T - 60 * MIN,
            T + 60 * MIN,
            "nightly",
            "kim",
            T,
        )
        await store.transaction(
            lambda c: c.execute(
                "INSERT INTO outbox (receiver, group_key, notify_type, title, body, alert_ids, "
                "created, next_attempt, attempts, state, last_error) "
                "VALUES ('mods', 'g', 'warning', 't', 'b', '[1]', ?, ?, 5, 'failed', ?)",
                (T, T, "discord: 401 Unauthorized\x1b[2J"),
            )
        )
        return ids
    finally:
        await store.close()


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Path, list[int]]:
    path = make_store(tmp_path / "alerts.db")
    ids = asyncio.run(_seed_alerts(path))
    return path, ids


def make_app(path: Path, attach: bool) -> CockpitApp:
    return CockpitApp(
        store_path=path,
        config=config(),
        registry=registry(),
        attach=attach,
        clock=lambda: NOW,
        live=False,
    )


def cells(pane: AlertsPane) -> list[list[str]]:
    table = pane.table
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def static_text(widget: Static) -> str:
    content = widget.render()
    return content.plain if isinstance(content, Text) else str(content)


async def _open(pilot: Any, app: CockpitApp) -> AlertsPane:
    await until(pilot, lambda: app.ready)
    await pilot.press("2")
    pane = app.query_one(AlertsPane)
    await until(pilot, lambda: pane.snapshot is not None and pane.table.row_count == 3)
    return pane


async def read_alert(path: Path, alert_id: int) -> AlertRow:
    store = await SQLiteStore.open(path, readonly=True)
    try:
        row = await AlertStore(store).alert(alert_id)
        assert row is not None
        return row
    finally:
        await store.close()


# ---------------------------------------------------------------- pure helpers


def test_age_and_shown_state() -> None:
    assert [age(T - s * 1000, T) for s in (5, 119, 120, 7199, 7200, 172800)] == [
        "5s",
        "119s",
        "2m",
        "119m",
        "2h",
        "2d",
    ]
    assert age(T + 5000, T) == "0s"
    base = AlertRow(
        1,
        "f",
        "r",
        "acme",
        "warning",
        "firing",
        {},
        {},
        (),
        "",
        0,
        0,
        (),
        T,
        T,
        None,
        T,
        None,
        None,
        None,
    )
    from dataclasses import replace

    assert shown_state(base) == "firing"
    assert shown_state(replace(base, acked_at=T)) == "acked"
    assert shown_state(replace(base, acked_at=T, silenced_by=(3,))) == "silenced"
    assert shown_state(replace(base, state="resolved", silenced_by=(3,))) == "resolved"


def test_header_counts() -> None:
    assert header_counts({}, 0) == {}
    assert header_counts({}, 2) == {"critical": 0, "warning": 0, "info": 0}
    assert header_counts({"firing": 3, "critical": 1, "info": 2, "pending": 1}, 0) == {
        "critical": 1,
        "warning": 0,
        "info": 2,
    }


def test_runs() -> None:
    assert alerts_mod._runs([1, 2, 3, 7, 9, 10]) == [(1, 3), (7, 7), (9, 10)]
    assert alerts_mod._runs([]) == []


# ---------------------------------------------------------------- the pane


async def test_lists_by_state_and_severity_with_inert_text(seeded: tuple[Path, list[int]]) -> None:
    path, _ = seeded
    app = make_app(path, attach=True)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await _open(pilot, app)
        assert not pane.query_one(EmptyState).display
        rows = cells(pane)
        # firing before pending; critical before info; the silenced one says so
        assert [r[:4] for r in rows] == [
            ["✖ crit", "firing", " 10m", "   2"],
            ["● info", "silenced", "  4h", "   1"],
            ["▲ warn", "pending", "  3m", "  14"],
        ]
        assert rows[0][4].startswith("scam words: [bold red]x[/] [link=http://e]y[/link] \\")
        assert rows[0][4].endswith("…") and len(rows[0][4]) == pane._width
        assert "\x1b" not in rows[0][4] and "\u202e" not in rows[0][4]
        assert rows[2][4].rstrip() == "14 joins in 5m"
        status = static_text(pane.query_one("#alerts-status", Static))
        assert status == "2 firing · 1 pending · 1 silence (v) · read-only"
        problems = pane.query_one("#alerts-problems", Static)
        assert problems.display
        assert static_text(problems) == (
            "⚠ notifications: 1 failed, 0 retrying · discord: 401 Unauthorized\\x1b[2J"
        )
        header = app.query_one(PulseHeader)
        await until(pilot, lambda: header.pulse.alerts == {"critical": 1, "warning": 0, "info": 1})
        assert "alerts 1C 1I" in header.render().plain
        assert app.focused is pane.table


async def test_read_only_when_attached(seeded: tuple[Path, list[int]]) -> None:
    path, _ = seeded
    app = make_app(path, attach=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, app)
        await pilot.press("a")
        await pilot.pause(0.1)
        assert [n.message for n in app._notifications] == [READ_ONLY]
        await pilot.press("s")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, SilenceDialog)
    row = await read_alert(path, 1)
    assert row.acked_at is None and row.state == "firing"


async def test_ack_and_resolve_write_through_the_store(
    seeded: tuple[Path, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = seeded
    monkeypatch.setattr(operations, "who", lambda: "kim")
    app = make_app(path, attach=False)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await _open(pilot, app)
        await pilot.press("a")
        await until(pilot, lambda: cells(pane)[0][1] == "acked")
        await pilot.press("down", "down")
        assert pane.current is not None and pane.current.rule == "join-flood"
        await pilot.press("r")
        await until(pilot, lambda: cells(pane)[2][1] == "resolved")
        # the cursor stays on the alert it was on
        assert pane.current is not None and pane.current.rule == "join-flood"
        await pilot.press("r")
        await pilot.pause(0.1)
        messages = [n.message for n in app._notifications]
        assert messages == [
            "Alert #1 acknowledged",
            "Alert #2 resolved",
            "Alert #2 is already resolved",
        ]
        await until(
            pilot,
            lambda: (
                app.query_one(PulseHeader).pulse.alerts == {"critical": 1, "warning": 0, "info": 1}
            ),
        )
    acked = await read_alert(path, 1)
    assert (acked.acked_by, acked.acked_at, acked.state) == ("kim", T, "firing")
    resolved = await read_alert(path, 2)
    assert (resolved.state, resolved.resolved_by, resolved.resolved_at) == ("resolved", "kim", T)


async def test_silence_dialog(
    seeded: tuple[Path, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = seeded
    monkeypatch.setattr(operations, "who", lambda: "kim")
    app = make_app(path, attach=False)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await _open(pilot, app)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SilenceDialog))
        dialog = app.screen
        assert static_text(dialog.query_one("#silence-matchers", Static)) == (
            "Matches alertname=scam-words channel=Announcements community=acme "
            "platform=discourse severity=critical"
        )
        # no comment: refused with a reason, the dialog stays
        await pilot.press("enter")
        assert "Say why" in static_text(dialog.query_one("#silence-error", Static))
        dialog.query_one("#silence-duration", Input).value = "soon"
        await pilot.press(*"raid", "enter")
        assert "not a duration: 'soon'" in static_text(dialog.query_one("#silence-error", Static))
        assert isinstance(app.screen, SilenceDialog)
        dialog.query_one("#silence-duration", Input).value = "90m"
        dialog.query_one("#silence-rule", Checkbox).value = True
        await pilot.pause(0.05)
        assert static_text(dialog.query_one("#silence-matchers", Static)) == (
            "Matches alertname=scam-words"
        )
        await pilot.press("ctrl+s")
        await until(pilot, lambda: cells(pane)[0][1] == "silenced")
        assert app._notifications and list(app._notifications)[-1].message == (
            "Silence #2 until 18:00"
        )
    store = await SQLiteStore.open(path, readonly=True)
    try:
        silences = await AlertStore(store).silences()
    finally:
        await store.close()
    new = silences[0]
    assert (new.id, new.matchers, new.comment, new.created_by) == (
        2,
        (Matcher("alertname", "=", "scam-words"),),
        "raid",
        "kim",
    )
    assert (new.starts, new.ends) == (T, T + 90 * MIN)


async def test_silences_list_and_expire(seeded: tuple[Path, list[int]]) -> None:
    path, _ = seeded
    app = make_app(path, attach=False)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await _open(pilot, app)
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, SilencesScreen))
        screen = app.screen
        table = screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 1)
        assert [str(c).rstrip() for c in table.get_row_at(0)] == [
            "1",
            "active",
            "05-14 17:30",
            "alertname=quiet-channel",
            "nightly",
            "kim",
        ]
        await pilot.press("e")
        await until(pilot, lambda: str(table.get_row_at(0)[1]) == "expired")
        await pilot.press("escape")
        await until(pilot, lambda: cells(pane)[1][1] == "firing")


async def test_detail_shows_labels_timeline_and_activities(
    seeded: tuple[Path, list[int]],
) -> None:
    path, ids = seeded
    assert len(ids) == 2
    app = make_app(path, attach=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AlertDetail))
        detail = app.screen
        assert isinstance(detail, AlertDetail)
        info = static_text(detail.query_one("#alert-meta", Static))
        assert "firing · rule scam-words · acme · count 2" in info
        assert "  channel = Announcements" in info
        assert "  runbook: ban, then report" in info
        # Europe/Berlin: UTC+2
        assert "2024-05-14 16:18:00  became active (pending)" in info
        assert "2024-05-14 16:20:00  fired" in info
        assert "\x1b" not in info
        box = detail.query_one(OptionList)
        await until(pilot, lambda: len(detail.events) == 2)
        first = box.get_option_at_index(0).prompt
        assert isinstance(first, Text)
        assert first.plain.startswith("05-14 16:24 DS #Announcements Dennis R.  [bold red]x[/]")
        second = box.get_option_at_index(1).prompt
        assert isinstance(second, Text)
        assert second.plain == "05-14 16:26 WA #Acme Friends Barbara  beep: deploy finished"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ActivityDetail))
        assert app.screen.row.source_id == "cat-5:2006"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AlertDetail))
        await pilot.press("a")  # from the detail: closes it and acks (read-only here)
        await pilot.pause(0.1)
        assert not isinstance(app.screen, AlertDetail)
        assert [n.message for n in app._notifications] == [READ_ONLY]


async def test_empty_state_unchanged_without_alerts_or_rules(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    await seed_store(path)
    app = make_app(path, attach=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.ready)
        await pilot.press("2")
        pane = app.query_one(AlertsPane)
        await until(pilot, lambda: pane.snapshot is not None)
        assert pane.query_one(EmptyState).display
        assert not pane.table.display
        assert app.focused is pane
        assert app.query_one(PulseHeader).pulse.alerts is None


async def test_rules_but_no_alerts_says_all_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "quiet.db"
    await seed_store(path)
    monkeypatch.setattr(AlertsPane, "rule_count", lambda self: 3)
    app = make_app(path, attach=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.ready)
        await pilot.press("2")
        pane = app.query_one(AlertsPane)
        await until(pilot, lambda: pane.snapshot is not None and pane.table.display)
        assert static_text(pane.query_one("#alerts-status", Static)) == (
            "All quiet · 3 rules watching · read-only"
        )
        assert pane.table.row_count == 0
        await until(
            pilot,
            lambda: (
                app.query_one(PulseHeader).pulse.alerts == {"critical": 0, "warning": 0, "info": 0}
            ),
        )
        assert "alerts 0" in app.query_one(PulseHeader).render().plain


async def test_tiled_layout_fits_the_summary(seeded: tuple[Path, list[int]]) -> None:
    path, _ = seeded
    app = make_app(path, attach=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.ready)
        pane = app.query_one(AlertsPane)
        await until(pilot, lambda: pane.table.row_count == 3)
        width = pane.table.scrollable_content_region.width
        assert 40 <= width <= 56
        # every column fits the pane: no horizontal scrolling
        assert pane.table.virtual_size.width <= width
        assert cells(pane)[2][4].rstrip() == "14 joins in 5m"


# ---------------------------------------------------------------- #17 item 14


async def _save(path: Path, alerts: list[Alert], now: int = T) -> None:
    store = await SQLiteStore.open(path)
    try:
        await AlertStore(store).save(alerts, now)
    finally:
        await store.close()


async def test_cursor_stays_on_its_alert_when_the_list_resorts(
    seeded: tuple[Path, list[int]],
) -> None:
    path, _ = seeded
    app = make_app(path, attach=True)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await _open(pilot, app)
        await pilot.press("down", "down")
        assert pane.current is not None and pane.current.rule == "join-flood"
        # a new critical alert sorts above everything: join-flood moves down a row
        await _save(
            path,
            [
                _alert(
                    "fp-new",
                    "raid",
                    "critical",
                    "firing",
                    active_at=T - MIN,
                    last_active=T,
                    fired_at=T,
                    summary="40 joins in 2m",
                    count=40,
                )
            ],
        )
        pane.reload()
        await until(pilot, lambda: pane.table.row_count == 4)
        assert [r[1] for r in cells(pane)] == ["firing", "firing", "silenced", "pending"]
        assert pane.table.cursor_row == 3
        assert pane.current is not None and pane.current.rule == "join-flood"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AlertDetail))
        assert app.screen.alert.rule == "join-flood"
        await pilot.press("escape")
        # Home goes to the top, End to the bottom
        await pilot.press("home")
        assert pane.table.cursor_row == 0 and pane.current is not None
        assert pane.current.rule == "raid"
        await pilot.press("end")
        assert pane.current is not None and pane.current.rule == "join-flood"


async def test_resolved_alerts_stay_listed_dimmed_then_behind_h(
    seeded: tuple[Path, list[int]],
) -> None:
    path, _ = seeded
    for fp, rule, ago in (("fp-r1", "spam-burst", 40), ("fp-r2", "old-raid", 300)):
        fired = _alert(
            fp,
            rule,
            "critical",
            "firing",
            active_at=T - (ago + 5) * MIN,
            last_active=T - ago * MIN,
            fired_at=T - (ago + 5) * MIN,
            summary=rule,
        )
        await _save(path, [fired], T - (ago + 5) * MIN)
        fired.state = "resolved"
        fired.resolved_at = T - ago * MIN
        await _save(path, [fired], T - ago * MIN)
    app = make_app(path, attach=True)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await _open_n(pilot, app, 4)
        rows = cells(pane)
        # resolved 40 minutes ago: still listed, after the open ones; 5 hours ago: hidden
        assert [r[1:3] for r in rows][-1] == ["resolved", " 40m"]
        assert "old-raid" not in [a.rule for a in pane.shown.values()]
        status = static_text(pane.query_one("#alerts-status", Static))
        assert status.endswith("· 1 older resolved (h) · read-only")
        await pilot.press("h")
        await until(pilot, lambda: pane.table.row_count == 5)
        assert cells(pane)[-1][1:3] == ["resolved", "  5h"]
        assert "(h hides)" in static_text(pane.query_one("#alerts-status", Static))
        await pilot.press("end")
        assert pane.current is not None and pane.current.rule == "old-raid"
        await pilot.press("h")
        await until(pilot, lambda: pane.table.row_count == 4)
        # the alert under the cursor went away: the cursor stays on the last row
        assert pane.current is not None and pane.current.rule == "spam-burst"


async def _open_n(pilot: Any, app: CockpitApp, n: int) -> AlertsPane:
    await until(pilot, lambda: app.ready)
    await pilot.press("2")
    pane = app.query_one(AlertsPane)
    await until(pilot, lambda: pane.snapshot is not None and pane.table.row_count == n)
    return pane
