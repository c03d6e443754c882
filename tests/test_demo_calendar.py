"""The demo's calendar: an AMA for five regions that clashes with a sync on the same stage,
weekly hangouts, and moderator shifts that leave the Asia-Pacific night uncovered."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cockpit.calendar.conflicts import find_conflicts
from cockpit.calendar.model import EventKind
from cockpit.calendar.shifts import gaps
from cockpit.collect.health import HealthBoard
from cockpit.collect.webhooks import WebhookRouter
from cockpit.config import Config, load_config
from cockpit.plugins.demo.calendar import demo_events, seed_calendar
from cockpit.registry import load_registry
from cockpit.runtime import Runtime
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_calendar import CalendarStore

NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)  # a Saturday


def load_config_text(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "cockpit.toml"
    path.write_text(text)
    return load_config(path, load_registry())


def test_the_ama_is_next_thursday_in_london_for_five_regions() -> None:
    ama = next(e for e in demo_events(NOW, "Demo") if e.uid.startswith("demo-ama"))
    assert (ama.start, ama.tz) == (datetime(2026, 11, 26, 16, 0), "Europe/London")
    assert len(ama.regions) == 5 and ama.community == "Demo"


async def test_seeded_store_shows_a_conflict_and_a_coverage_gap(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "demo.db")
    try:
        await seed_calendar(store.calendar, ["Demo"], NOW)
        await seed_calendar(
            store.calendar, ["Demo"], NOW
        )  # a kept demo store is updated, not doubled
        cal = CalendarStore(store, lambda: NOW)
        assert len(await cal.events()) == len(demo_events(NOW, "Demo"))
        week = await cal.occurrences(NOW, NOW + timedelta(days=7), UTC)
    finally:
        await store.close()
    events = [o for o in week if o.event.kind is EventKind.EVENT]
    shifts = [o for o in week if o.event.kind is EventKind.SHIFT]
    assert sorted({o.title for o in events}) == [
        "Community AMA: the 2027 roadmap",
        "Office hours (Asia-Pacific)",
        "Translators' sync",
        "Weekly voice hangout",
    ]
    clashes = find_conflicts(events)
    assert {(c.first.title, c.second.title) for c in clashes} == {
        ("Community AMA: the 2027 roadmap", "Translators' sync")
    }
    holes = gaps(shifts, NOW, NOW + timedelta(days=7))
    assert holes, "the shifts leave the Asia-Pacific night open"
    # Monday 2026-11-23 01:00 UTC (Jakarta 08:00): nobody is on duty
    monday_night = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert any(start <= monday_night < end for start, end in holes)


async def test_the_demo_source_seeds_its_calendar_when_it_starts(tmp_path: Path) -> None:
    """Through the runtime the TUI and `cockpit collect` both run (its guard around each
    source once hid the hook, so the demo showed an empty calendar)."""
    config = load_config_text(
        tmp_path, '[[sources]]\ntype = "demo"\nname = "demo"\nrate = 1\nhistory_days = 0\n'
    )
    store = await SQLiteStore.open(tmp_path / "s.db")
    runtime = Runtime(config, store, load_registry(), router=WebhookRouter(), board=HealthBoard())
    try:
        runtime.start_sources()
        cal = CalendarStore(store)
        for _ in range(200):
            if len(await cal.events()) == len(demo_events(NOW, "x")):
                break
            await asyncio.sleep(0.05)
        assert {e.community for e in await cal.events()} == {config.cockpit.community}
        assert len(await cal.events()) == len(demo_events(NOW, "x"))
    finally:
        await runtime.stop()
        await store.close()
