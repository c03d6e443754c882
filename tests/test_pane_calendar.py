"""The Calendar pane: the week across zones, conflicts, the header's next event, and the
add / suggest / coverage dialogs, on a seeded store with a frozen clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from conftest_app import COMMUNITY, HOSTILE, NOW, config, registry, seed_store, until
from rich.text import Text
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from cockpit.app import CockpitApp
from cockpit.calendar.config import CalendarSettings
from cockpit.calendar.model import Event, Occurrence
from cockpit.calendar.recurrence import occurrences
from cockpit.calendar.shifts import shift_event
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_calendar import CalendarStore
from cockpit.textsafe import inert_line
from cockpit.widgets.calendar import CalendarPane, DayNightStrips
from cockpit.widgets.calendar_dialogs import CalendarInfo, Choice, EventScreen
from cockpit.widgets.calendar_text import coverage_text, day_cells, occurrence_text, region_times
from cockpit.widgets.header import PulseHeader
from cockpit.widgets.pane import EmptyState

BERLIN = ZoneInfo("Europe/Berlin")
REGIONS = ["America/Los_Angeles", "Europe/Berlin", "Asia/Jakarta"]
# NOW is Tue 2024-05-14 14:30 UTC (16:30 in Berlin)


def event(uid: str, title: str, start: datetime, minutes: int = 60, **kw: object) -> Event:
    return Event(
        uid=uid,
        title=title,
        start=start,
        duration=timedelta(minutes=minutes),
        tz="Europe/Berlin",
        community=COMMUNITY,
        **kw,  # type: ignore[arg-type]
    )


AMA = event("ama@t", "Community AMA", datetime(2024, 5, 14, 19, 0), host="alice")
CLASH = event("stream@t", HOSTILE, datetime(2024, 5, 14, 19, 30), host="Alice")
WEEKLY = event(
    "office@t", "Office hours", datetime(2024, 5, 9, 10, 0), rrule="FREQ=WEEKLY;BYDAY=TH"
)
LATER = event("later@t", "Launch party", datetime(2024, 8, 1, 18, 0))


async def store_with(tmp_path: Path, events: list[Event]) -> Path:
    """The seeded activity store plus these calendar entries."""
    path = tmp_path / "cal.db"
    await seed_store(path)
    store = await SQLiteStore.open(path)
    try:
        cal = CalendarStore(store)
        for e in events:
            await cal.save(e)
    finally:
        await store.close()
    return path


def make_app(path: Path, attach: bool = True) -> CockpitApp:
    return CockpitApp(
        store_path=path,
        config=config(),
        registry=registry(),
        attach=attach,
        clock=lambda: NOW,
        live=False,
    )


def listed(app: CockpitApp) -> list[str]:
    options = app.query_one("#cal-list", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def plain(renderable: object) -> str:
    """What a Static shows (Textual hands back Content; our helpers build Text)."""
    assert isinstance(renderable, Text | Content)
    return renderable.plain


def occ_of(e: Event) -> Occurrence:
    return occurrences(e, NOW - timedelta(days=1), NOW + timedelta(days=7), BERLIN)[0]


# ---------------------------------------------------------------- helpers


def test_region_times_mark_other_days_and_tighten() -> None:
    at = datetime(2024, 5, 14, 20, 0, tzinfo=UTC)  # 22:00 Berlin, 03:00 (+1) Jakarta
    text = region_times(at, REGIONS, BERLIN)
    assert text.plain == "LA 13:00 · BER 22:00 · JAK 03:00 +1"
    assert region_times(at, REGIONS, BERLIN, width=30).plain == "LA 13:00 BER 22:00 JAK 03:00 +1"
    early = datetime(2024, 5, 14, 3, 0, tzinfo=UTC)  # 05:00 Berlin, 20:00 the day before in LA
    assert region_times(early, REGIONS, BERLIN).plain.startswith("LA 20:00 -1")


def test_occurrence_text_is_literal_flags_clashes_and_fits() -> None:
    occ = occ_of(CLASH)
    text = occurrence_text(occ, NOW, BERLIN, REGIONS, ["Community AMA (same host alice)"])
    lines = text.plain.split("\n")
    assert lines[0].startswith("! Tue 14 19:30–20:30 [bold red]x[/] [link=http://e]y[/link]")
    assert "\\x1b[31mred \\u202eevil\\u202c z\\u200bw" in lines[0]
    assert lines[0].endswith("in 3h 00m  host Alice")
    assert lines[1] == "  LA 10:30 · BER 19:30 · JAK 00:30 +1"
    assert lines[2] == "  ! conflicts with Community AMA (same host alice)"
    narrow = occurrence_text(occ, NOW, BERLIN, REGIONS, ["Community AMA (same host alice)"], 30)
    assert all(len(line) <= 30 for line in narrow.plain.split("\n"))
    assert narrow.plain.split("\n")[0].endswith("…")
    running = occurrence_text(occ, occ.start + timedelta(minutes=5), BERLIN, [])
    assert running.plain == f"Tue 14 19:30–20:30 {inert_line(HOSTILE)}  now  host Alice"


def test_day_cells_follow_the_waking_hours() -> None:
    settings = CalendarSettings(awake_from=7, awake_until=23)
    # from 14:00 UTC: Jakarta is at 21:00, asleep from 23:00 (two hours on) to 07:00
    cells = day_cells("Asia/Jakarta", NOW, 24, timedelta(hours=1), settings)
    assert cells == [True] * 2 + [False] * 8 + [True] * 14


def test_coverage_text_lists_gaps_and_who_is_on_call() -> None:
    shift = shift_event("mira", "Europe/Berlin", "09:00-17:00", "daily", date(2024, 5, 13))
    start = NOW.replace(minute=0)
    shifts = occurrences(shift, start, start + timedelta(days=1), UTC)
    text = coverage_text(shifts, start, start + timedelta(days=1), BERLIN, {}, NOW).plain
    assert text.startswith("On call now: mira until 17:00")
    assert "1 gap with no moderator:" in text
    assert "Tue 14 17:00 – Wed 15 09:00  16 h, ≤0 members about" in text
    none = coverage_text([], start, start + timedelta(days=1), BERLIN, {}, NOW).plain
    assert none.startswith("No moderator shifts yet.")


# ---------------------------------------------------------------- the pane


async def test_empty_store_keeps_the_empty_state(tmp_path: Path) -> None:
    app = make_app(await store_with(tmp_path, []))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.ready)
        pane = app.query_one(CalendarPane)
        await until(pilot, lambda: pane.week is not None)
        assert pane.query_one(EmptyState).display
        assert not pane.query_one("#cal-list").display
        assert app.query_one(PulseHeader).pulse.next_event is None


async def test_week_lists_events_with_regions_conflicts_and_header(tmp_path: Path) -> None:
    app = make_app(await store_with(tmp_path, [AMA, CLASH, WEEKLY, LATER]))
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(CalendarPane)
        await until(pilot, lambda: pane.week is not None)
        await pilot.press("4")
        await until(pilot, lambda: bool(listed(app)))
        assert not pane.query_one(EmptyState).display
        rows = listed(app)
        assert [r.split("\n")[0][:22] for r in rows] == [
            "! Tue 14 19:00–20:00 C",
            "! Tue 14 19:30–20:30 [",
            "Thu 16 10:00–11:00 Off",
        ]
        assert "LA 10:00 · BER 19:00 · JAK 00:00 +1" in rows[0]
        assert "! conflicts with [bold red]x[/]" in rows[0]
        summary = plain(pane.query_one("#cal-summary", Static).render())
        assert summary == "3 events in 7 days · 1 conflict"
        header = app.query_one(PulseHeader)
        await until(
            pilot,
            lambda: (
                header.pulse.next_event
                == ("Community AMA", datetime(2024, 5, 14, 17, 0, tzinfo=UTC))
            ),
        )
        assert "next Communi" in header.render().plain  # the header cuts it at 80 columns
        assert app.focused is pane.query_one("#cal-list")
        strips = pane.query_one(DayNightStrips)
        drawn = strips.render().plain.split("\n")
        assert drawn[0].startswith("you ")
        assert [line[:10] for line in drawn[1:]] == ["LA  07:30 ", "BER 16:30 ", "JAK 21:30 "]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CalendarInfo))
        body = plain(app.screen.query_one("#cal-info-body", Static).render())
        assert "uid       ama@t" in body and "zone      Europe/Berlin" in body
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CalendarInfo))


async def test_next_event_beyond_the_week_still_shows(tmp_path: Path) -> None:
    app = make_app(await store_with(tmp_path, [LATER]))
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(CalendarPane)
        await pilot.press("4")
        await until(pilot, lambda: bool(listed(app)))
        assert listed(app)[0].startswith("Nothing this week. Next: Thu 01 18:00–19:00 Launch party")
        await until(
            pilot,
            lambda: (
                app.query_one(PulseHeader).pulse.next_event
                == ("Launch party", datetime(2024, 8, 1, 16, 0, tzinfo=UTC))
            ),
        )
        assert plain(pane.query_one("#cal-summary", Static).render()) == "0 events in 7 days"


async def test_attach_mode_refuses_to_add_in_one_line(tmp_path: Path) -> None:
    app = make_app(await store_with(tmp_path, [AMA]), attach=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.ready)
        await pilot.press("4", "n")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, EventScreen)
        messages = [n.message for n in app._notifications]
        assert messages == [
            "Read-only: attached to a store another process writes; "
            "add events with `cockpit calendar add`."
        ]


async def test_add_refuses_bad_input_then_saves(tmp_path: Path) -> None:
    path = await store_with(tmp_path, [AMA])
    app = make_app(path, attach=False)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(CalendarPane)
        await until(pilot, lambda: pane.week is not None)
        await pilot.press("4", "n")
        await until(pilot, lambda: isinstance(app.screen, EventScreen))
        screen = app.screen
        assert screen.query_one("#add-start", Input).value == "2024-05-14 17:00"
        assert screen.query_one("#add-zone", Input).value == "Europe/Berlin"
        screen.query_one("#add-title", Input).value = "Spring cleanup"
        screen.query_one("#add-zone", Input).value = "Europe/Atlantis"
        await pilot.press("enter")
        await pilot.pause(0.05)
        error = plain(screen.query_one("#add-error", Static).render())
        assert error == (
            "zone 'Europe/Atlantis': not an IANA zone (e.g. Europe/Berlin), 'floating' or 'all-day'"
        )
        assert app.screen is screen
        screen.query_one("#add-zone", Input).value = "Europe/Berlin"
        screen.query_one("#add-start", Input).value = "2024-10-27 02:30"
        await pilot.pause(0.05)
        note = plain(screen.query_one("#add-note", Static).render())
        assert "occurs twice in Europe/Berlin" in note
        screen.query_one("#add-start", Input).value = "2024-05-15 19:00"
        screen.query_one("#add-duration", Input).value = "45"
        await pilot.pause(0.05)
        note = plain(screen.query_one("#add-note", Static).render())
        assert note == "You: Wed 15 May 19:00\nLA 10:00 · BER 19:00 · JAK 00:00 +1"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("Spring cleanup" in r for r in listed(app)))
        assert any(
            n.message.startswith("Added Spring cleanup: Wed 15 May 19:00 CEST")
            for n in app._notifications
        )
        assert app.store is not None
        assert isinstance(app.store, SQLiteStore)
        saved = await CalendarStore(app.store).events(community=COMMUNITY)
        cleanup = [e for e in saved if e.title == "Spring cleanup"]
        assert len(cleanup) == 1
        assert cleanup[0].start == datetime(2024, 5, 15, 19, 0)
        assert cleanup[0].duration == timedelta(minutes=45)
        assert cleanup[0].tz == "Europe/Berlin"


async def test_suggest_and_coverage_dialogs(tmp_path: Path) -> None:
    shift = shift_event("mira", "Europe/Berlin", "09:00-17:00", "weekdays", date(2024, 5, 13))
    app = make_app(await store_with(tmp_path, [AMA, shift]), attach=False)
    async with app.run_test(size=(100, 40)) as pilot:
        pane = app.query_one(CalendarPane)
        await until(pilot, lambda: pane.week is not None)
        await pilot.press("4", "g")
        await until(pilot, lambda: isinstance(app.screen, CalendarInfo))
        body = plain(app.screen.query_one("#cal-info-body", Static).render())
        lines = body.split("\n")
        ranked = [line for line in lines if line[:2] in {f"{i}." for i in range(1, 10)}]
        assert len(ranked) == 5
        # the seeded humans (7, the bot not counted) were active 12:30-14:30 UTC on a Tuesday
        assert ranked[0] == "1. Tue 21 May 16:00  100% of active members usually about (7/7)"
        assert "LA " in body and "BER " in body and "JAK " in body
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CalendarInfo))
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, CalendarInfo))
        body = plain(app.screen.query_one("#cal-info-body", Static).render())
        assert body.startswith("On call now: mira until 17:00")
        assert "Tue 14 17:00 – Wed 15 09:00  16 h" in body
        assert "Fri 17 17:00 – Mon 20 09:00  64 h" in body
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CalendarInfo))


async def test_edit_one_occurrence_then_the_series(tmp_path: Path) -> None:
    app = make_app(await store_with(tmp_path, [AMA, WEEKLY]), attach=False)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(CalendarPane)
        await pilot.press("4")
        await until(pilot, lambda: len(listed(app)) == 2)
        await pilot.press("down", "e")
        await until(pilot, lambda: isinstance(app.screen, Choice))
        question = plain(app.screen.query_one("#cal-choice-body", Static).render())
        assert question.startswith("It repeats (FREQ=WEEKLY;BYDAY=TH). Edit:")
        assert "only the occurrence of Thu 16 May 10:00" in question
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, EventScreen))
        screen = app.screen
        assert screen.query_one("#add-start", Input).value == "2024-05-16 10:00"
        assert screen.query_one("#add-repeats", Input).disabled
        # typed in New York's wall clock: 09:00 EDT is 15:00 in Berlin, the series' zone
        screen.query_one("#add-zone", Input).value = "America/New_York"
        screen.query_one("#add-start", Input).value = "2024-05-16 09:00"
        screen.query_one("#add-title", Input).value = "Office hours (moved)"
        await pilot.pause(0.05)
        note = plain(screen.query_one("#add-note", Static).render())
        assert note.startswith("You: Thu 16 May 15:00")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("Office hours (moved)" in r for r in listed(app)))
        assert app.store is not None and isinstance(app.store, SQLiteStore)
        cal = CalendarStore(app.store)
        stored = await cal.get("office@t")
        assert stored is not None and len(stored.overrides) == 1
        edit = stored.overrides[0]
        assert (edit.recurrence_id, edit.start) == (
            datetime(2024, 5, 16, 10, 0),
            datetime(2024, 5, 16, 15, 0),
        )
        assert stored.start == WEEKLY.start and stored.rrule == WEEKLY.rrule
        # the whole series: weekly in its own zone, a target region added
        row = next(i for i, r in enumerate(listed(app)) if "moved" in r)
        pane.query_one("#cal-list", OptionList).highlighted = row
        await pilot.press("e", "a")
        await until(pilot, lambda: isinstance(app.screen, EventScreen))
        screen = app.screen
        assert screen.query_one("#add-title", Input).value == "Office hours"
        assert screen.query_one("#add-start", Input).value == "2024-05-09 10:00"
        assert not screen.query_one("#add-repeats", Input).disabled
        screen.query_one("#add-repeats", Input).value = "fortnightly"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, EventScreen) is False)
        await until(
            pilot,
            lambda: any(n.message.startswith("Saved Office hours") for n in app._notifications),
        )
        stored = await cal.get("office@t")
        assert stored is not None
        assert stored.rrule == "FREQ=WEEKLY;INTERVAL=2"
        assert stored.overrides == ()  # a new rule drops the old series' one-off edits
        assert stored.sequence > WEEKLY.sequence


async def test_delete_one_occurrence_and_a_single_event(tmp_path: Path) -> None:
    app = make_app(await store_with(tmp_path, [AMA, WEEKLY]), attach=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: len(listed(app)) == 2)
        await pilot.press("down", "d")
        await until(pilot, lambda: isinstance(app.screen, Choice))
        await pilot.press("o")
        await until(pilot, lambda: len(listed(app)) == 1)
        assert app.store is not None and isinstance(app.store, SQLiteStore)
        cal = CalendarStore(app.store)
        stored = await cal.get("office@t")
        assert stored is not None and stored.exdates == {datetime(2024, 5, 16, 10, 0)}
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, Choice))
        await pilot.press("escape")  # kept
        await until(pilot, lambda: not isinstance(app.screen, Choice))
        assert await cal.get("ama@t") is not None
        await pilot.press("d", "y")
        await until(pilot, lambda: listed(app)[:1] != [] and "Nothing this week" in listed(app)[0])
        assert listed(app)[0].startswith("Nothing this week. Next: Thu 23 10:00–11:00 Office hours")
        assert await cal.get("ama@t") is None


async def test_attached_operators_cannot_edit_or_delete(tmp_path: Path) -> None:
    app = make_app(await store_with(tmp_path, [AMA]), attach=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: bool(listed(app)))
        await pilot.press("e", "d")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, EventScreen | Choice)
        assert [n.message.split(";")[1] for n in app._notifications] == [
            " edit events with `cockpit calendar edit`.",
            " delete events with `cockpit calendar delete`.",
        ]


def test_calendar_week_snapshot_80x24(
    tmp_path: Path, here_snapshots: None, snap_compare: Any
) -> None:
    path = asyncio.run(store_with(tmp_path, [AMA, CLASH, WEEKLY, LATER]))

    async def show(pilot: Pilot[Any]) -> None:
        await pilot.press("4")
        await until(pilot, lambda: len(listed(pilot.app)) == 3)  # type: ignore[arg-type]
        await pilot.pause(0.2)

    assert snap_compare(make_app(path), terminal_size=(80, 24), run_before=show)


def test_calendar_edit_occurrence_snapshot_80x24(
    tmp_path: Path, here_snapshots: None, snap_compare: Any
) -> None:
    path = asyncio.run(store_with(tmp_path, [AMA, WEEKLY]))

    async def edit(pilot: Pilot[Any]) -> None:
        await pilot.press("4")
        await until(pilot, lambda: len(listed(pilot.app)) == 2)  # type: ignore[arg-type]
        await pilot.press("down", "e", "o")
        await until(pilot, lambda: isinstance(pilot.app.screen, EventScreen))
        for box in pilot.app.screen.query(Input):  # a blinking cursor made the picture flaky
            box.cursor_blink = False
        await pilot.pause(0.2)

    assert snap_compare(make_app(path, attach=False), terminal_size=(80, 24), run_before=edit)
