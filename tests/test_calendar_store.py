"""The calendar in a real SQLite store: events, the hour-of-week rollup, reminders sent once
through apprise to a real HTTP server on 127.0.0.1, shifts and the slot finder."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from cockpit.calendar.config import CalendarSettings
from cockpit.calendar.model import Event, EventKind, Override
from cockpit.calendar.reminders import Reminders, due_reminders, receiver_key, reminder_text
from cockpit.calendar.shifts import coverage, gaps, on_call, shift_event
from cockpit.calendar.slots import find_slots, hour_of_week
from cockpit.model import Kind
from cockpit.pipeline import BatchingWriter
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_calendar import CalendarStore
from factories import act

T = datetime(2030, 6, 13, 15, 0, tzinfo=UTC)  # a Thursday


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def ama(**kw: Any) -> Event:
    base: dict[str, Any] = dict(
        uid="ama@test",
        title="Community AMA",
        start=datetime(2030, 6, 13, 17, 0),
        duration=timedelta(hours=1),
        tz="Europe/Berlin",
        community="c1",
        regions=("America/Los_Angeles", "Asia/Jakarta"),
        platform="discord",
        channel="ama",
        host="alice",
    )
    base.update(kw)
    return Event(**base)


async def test_save_load_update_and_delete(store: SQLiteStore) -> None:
    cal = CalendarStore(store)
    e = ama(
        rrule="FREQ=WEEKLY;COUNT=4",
        exdates=frozenset({datetime(2030, 6, 20, 17, 0)}),
        overrides=(
            Override(
                datetime(2030, 6, 27, 17, 0),
                datetime(2030, 6, 27, 19, 0),
                timedelta(hours=2),
                title="Big AMA",
            ),
        ),
        reminders=(timedelta(hours=1),),
    )
    assert await cal.save(e) == "new"
    assert await cal.get("ama@test") == e
    assert await cal.save(e) == "unchanged"
    assert await cal.save(ama(title="Renamed")) == "updated"
    loaded = await cal.get("ama@test")
    assert loaded is not None and loaded.title == "Renamed" and loaded.sequence == 1
    assert loaded.exdates == frozenset() and loaded.overrides == ()
    assert (await cal.find("ama@")).uid == "ama@test"
    assert await cal.delete("ama@test") is True
    assert await cal.get("ama@test") is None
    assert await store.fetchall("SELECT count(*) FROM cal_override") == [(0,)]


async def test_window_query_uses_first_and_last(store: SQLiteStore) -> None:
    cal = CalendarStore(store)
    await cal.save(ama(uid="once@test"))
    await cal.save(ama(uid="weekly@test", rrule="FREQ=WEEKLY"))
    await cal.save(ama(uid="old@test", start=datetime(2020, 1, 1, 12, 0)))
    later = T + timedelta(days=30)
    found = await cal.occurrences(later, later + timedelta(days=7))
    assert [(o.uid, o.start) for o in found] == [
        ("weekly@test", datetime(2030, 7, 18, 15, 0, tzinfo=UTC))
    ]
    assert [e.uid for e in await cal.events(T, T + timedelta(days=1))] == [
        "once@test",
        "weekly@test",
    ]


async def test_rollup_kept_current_by_the_writer_listener(store: SQLiteStore) -> None:
    cal = CalendarStore(store)
    writer = BatchingWriter(store)
    writer.listeners.append(cal.listener())
    # user0..user6 post at T0 (2024-05-01 12:00 UTC, a Wednesday) + i seconds
    await writer.write([act(i) for i in range(14)])
    await writer.write(
        [act(100, author_id="bot", author="Bot", is_bot=True), act(101, kind=Kind.JOIN)]
    )
    await writer.close()
    since = datetime(2024, 4, 1, tzinfo=UTC)
    presence = await cal.hour_presence("c1", since)
    how = hour_of_week(datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    assert how == 2 * 24 + 12
    assert list(presence) == [how]
    ids = [
        r[0]
        for r in await store.fetchall(
            "SELECT id FROM member WHERE is_bot = 0 AND platform_user_id LIKE '100_'"
        )
    ]
    assert presence[how] == sum(1 << i for i in ids)
    assert presence[how].bit_count() == 7  # the bot and the join are not counted
    member = ids[0]
    assert await cal.member_hours(member) == {how: 2}
    # nothing new: nothing to do; a rebuild gives the same
    assert await cal.catch_up_rollup() == 0
    await cal.rebuild_rollup()
    assert await cal.hour_presence("c1", since) == presence
    assert await cal.hour_presence("c1", datetime(2024, 6, 1, tzinfo=UTC)) == {}  # outside lookback


async def test_backfill_of_an_existing_store_in_steps(store: SQLiteStore) -> None:
    await store.write([act(i, ts=datetime(2024, 5, 6, i % 24, tzinfo=UTC)) for i in range(48)])
    cal = CalendarStore(store)
    assert await cal.catch_up_rollup(max_rows=10) == 10
    assert await cal.catch_up_rollup() == 38
    presence = await cal.hour_presence("c1", datetime(2024, 1, 1, tzinfo=UTC))
    assert sorted(presence) == list(range(24))  # Monday 00:00..23:00 UTC
    assert sum(n for (n,) in await store.fetchall("SELECT n FROM cal_member_hour")) == 48


def test_find_slots_ranks_by_members_and_keeps_regions_awake() -> None:
    # members 1-10 active Thursdays 15:00 UTC, members 1-3 Thursdays 03:00 UTC
    thu15 = hour_of_week(T)
    thu03 = hour_of_week(T - timedelta(hours=12))
    presence = {thu15: sum(1 << i for i in range(1, 11)), thu03: 0b1110}
    window = (datetime(2030, 6, 10, tzinfo=UTC), datetime(2030, 6, 17, tzinfo=UTC))
    regions = ["America/Los_Angeles", "Europe/Berlin", "Asia/Jakarta"]
    slots = find_slots(presence, *window, timedelta(hours=1), regions, limit=2)
    best = slots[0]
    assert best.start == T and best.attendees == 10 and best.active == 10 and best.share == 1.0
    assert [(r.region, r.local.strftime("%a %H:%M"), r.awake) for r in best.regions] == [
        ("America/Los_Angeles", "Thu 08:00", True),
        ("Europe/Berlin", "Thu 17:00", True),
        ("Asia/Jakarta", "Thu 22:00", True),
    ]
    assert all(
        s.start != T - timedelta(hours=12) for s in slots
    )  # 03:00 UTC: LA at 20:00 ok, Jakarta 10:00, Berlin 05:00 asleep
    night = find_slots(
        presence, *window, timedelta(hours=1), ["Europe/Berlin"], include_night=True, limit=3
    )
    assert [s.attendees for s in night[:2]] == [10, 3]
    assert night[1].everyone_awake is False
    busy = find_slots(
        presence,
        *window,
        timedelta(hours=1),
        regions,
        busy=[(T, T + timedelta(hours=1), "AMA")],
        limit=1,
    )
    assert busy[0].start != T


def test_shift_coverage_gaps_and_on_call() -> None:
    from cockpit.calendar.recurrence import occurrences

    berlin = shift_event(
        "bob", "Europe/Berlin", "09:00-17:00", "weekdays", date(2030, 6, 10), "c1", uid="s1"
    )
    kolkata = shift_event(
        "asha", "Asia/Kolkata", "18:00-02:00", "MO", date(2030, 6, 10), "c1", uid="s2"
    )
    week = (datetime(2030, 6, 10, tzinfo=UTC), datetime(2030, 6, 17, tzinfo=UTC))
    occs = [*occurrences(berlin, *week), *occurrences(kolkata, *week)]
    assert [o.host for o in on_call(occs, datetime(2030, 6, 10, 12, 0, tzinfo=UTC))] == ["bob"]
    assert [o.host for o in on_call(occs, datetime(2030, 6, 10, 20, 0, tzinfo=UTC))] == ["asha"]
    holes = gaps(occs, *week)
    # Monday: bob 07:00-15:00Z (CEST), asha 12:30-20:30Z (IST): one span 07:00-20:30Z
    assert holes[0] == (week[0], datetime(2030, 6, 10, 7, 0, tzinfo=UTC))
    assert holes[1] == (
        datetime(2030, 6, 10, 20, 30, tzinfo=UTC),
        datetime(2030, 6, 11, 7, 0, tzinfo=UTC),
    )
    presence = {hour_of_week(datetime(2030, 6, 10, 20, 0, tzinfo=UTC)): 0b111}
    rows = coverage(occs, week[0], 48, presence)
    assert rows[20].moderators == ("asha",) and rows[20].covered == 0.5 and rows[20].members == 3
    assert rows[3].moderators == () and rows[3].covered == 0.0
    assert rows[8].moderators == ("bob",) and rows[8].covered == 1.0


class _Receiver(BaseHTTPRequestHandler):
    got: ClassVar[list[dict[str, Any]]] = []
    fail: ClassVar[bool] = False

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).got.append(json.loads(body))
        self.send_response(500 if type(self).fail else 200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"got": [], "fail": False})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_address[1]}/", handler
    server.shutdown()
    server.server_close()


def test_due_reminders_nearest_offset_wins() -> None:
    from cockpit.calendar.recurrence import occurrences

    occ = occurrences(ama(), T - timedelta(days=1), T + timedelta(days=1))[0]
    offsets = (timedelta(hours=24), timedelta(hours=1), timedelta(minutes=10))
    assert due_reminders([occ], offsets, T - timedelta(hours=25)) == []
    due = due_reminders([occ], offsets, T - timedelta(minutes=30))
    assert [(d.offset, d.skipped) for d in due] == [(timedelta(hours=1), (timedelta(hours=24),))]
    assert due_reminders([occ], offsets, T) == []  # started: too late
    title, body = reminder_text(occ, ["Europe/Berlin"], T - timedelta(hours=1))
    assert title == "Reminder: Community AMA in 1 h"
    assert body.splitlines() == [
        "Community AMA starts Thu 2030-06-13 15:00 UTC.",
        "Berlin Thu 17:00 · Los Angeles Thu 08:00 · Jakarta Thu 22:00",
        "Where: discord #ama",
        "Host: alice",
    ]


async def test_reminders_sent_once_across_restarts(
    store: SQLiteStore, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    clock = Clock(T - timedelta(hours=30))
    cal = CalendarStore(store, clock)
    await cal.save(ama())
    settings = CalendarSettings(receivers=[url])
    rem = Reminders(cal, settings, ["UTC"], clock)
    assert await rem.tick() == []
    clock.now = T - timedelta(hours=23, minutes=59)
    sent = await rem.tick()
    assert [(s.offset, s.ok) for s in sent] == [(timedelta(hours=24), True)]
    assert handler.got[0]["title"] == "Reminder: Community AMA in 23 h 59 min"
    assert "Los Angeles Thu 08:00 · Jakarta Thu 22:00" in handler.got[0]["message"]
    assert await rem.tick() == []
    # a restart: a new Reminders over the same store sends nothing twice
    rem2 = Reminders(CalendarStore(store, clock), settings, ["UTC"], clock)
    assert await rem2.tick() == []
    clock.now = T - timedelta(minutes=5)  # the 1 h one was missed while down: only 10 min goes
    sent = await rem2.tick()
    assert [(s.offset, s.ok) for s in sent] == [(timedelta(minutes=10), True)]
    assert len(handler.got) == 2
    log = await cal.reminder_log("ama@test")
    assert [(r["offset_s"], r["state"], r["receiver"]) for r in log] == [
        (86400, "sent", receiver_key(url)),
        (3600, "skipped", receiver_key(url)),
        (600, "sent", receiver_key(url)),
    ]
    assert url not in json.dumps(log, default=str)


async def test_failed_delivery_is_retried_then_recorded(
    store: SQLiteStore, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    handler.fail = True
    clock = Clock(T - timedelta(minutes=50))
    cal = CalendarStore(store, clock)
    await cal.save(ama(reminders=(timedelta(hours=1),)))
    rem = Reminders(cal, CalendarSettings(receivers=[url]), [], clock)
    first = await rem.tick()
    assert [s.ok for s in first] == [False]
    handler.fail = False
    second = await rem.tick()
    assert [s.ok for s in second] == [True]
    assert len(handler.got) == 2
    assert await rem.tick() == []
    log = await cal.reminder_log()
    assert [(r["state"], r["attempts"]) for r in log] == [("sent", 2)]


async def test_shifts_live_in_the_store(store: SQLiteStore) -> None:
    cal = CalendarStore(store)
    await cal.save(
        shift_event(
            "bob", "Europe/Berlin", "09:00-17:00", "weekdays", date(2030, 6, 10), "c1", uid="s1"
        )
    )
    await cal.save(ama())
    shifts = await cal.occurrences(T - timedelta(hours=4), T, kind=EventKind.SHIFT)
    assert [(o.host, o.start) for o in shifts] == [("bob", datetime(2030, 6, 13, 7, 0, tzinfo=UTC))]
