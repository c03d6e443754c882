"""Time zones and recurrences: RFC 5545 local-time rules checked against zoneinfo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.calendar.conflicts import find_conflicts
from cockpit.calendar.model import Event, Override, TimeKind
from cockpit.calendar.recurrence import RecurrenceError, check_rule, last_end, occurrences
from cockpit.calendar.zones import local_label, resolve

Y2020 = datetime(2020, 1, 1, tzinfo=UTC)
Y2040 = datetime(2040, 1, 1, tzinfo=UTC)


def ev(start: datetime, tz: str | None = "America/New_York", **kw: object) -> Event:
    base: dict[str, object] = dict(
        uid="u@test", title="AMA", start=start, duration=timedelta(hours=1), tz=tz
    )
    if tz is None and "time_kind" not in kw:
        base["time_kind"] = TimeKind.FLOATING
    base.update(kw)
    return Event(**base)  # type: ignore[arg-type]


# (zone, wall time, expected UTC, note expected) - the matrix of edge cases
MATRIX = [
    ("Asia/Kolkata", datetime(2024, 6, 13, 20, 30), datetime(2024, 6, 13, 15, 0), False),
    ("Asia/Kathmandu", datetime(2024, 6, 13, 20, 45), datetime(2024, 6, 13, 15, 0), False),
    ("Pacific/Chatham", datetime(2024, 6, 14, 3, 45), datetime(2024, 6, 13, 15, 0), False),
    ("Pacific/Chatham", datetime(2024, 1, 14, 4, 45), datetime(2024, 1, 13, 15, 0), False),
    # Lord Howe: +10:30 in winter, +11:00 in summer (a 30-minute DST)
    ("Australia/Lord_Howe", datetime(2024, 6, 14, 1, 30), datetime(2024, 6, 13, 15, 0), False),
    ("Australia/Lord_Howe", datetime(2024, 1, 14, 2, 0), datetime(2024, 1, 13, 15, 0), False),
    # Lord Howe springs forward 02:00 -> 02:30 on 2024-10-06: 02:15 does not exist
    ("Australia/Lord_Howe", datetime(2024, 10, 6, 2, 15), datetime(2024, 10, 5, 15, 45), True),
    # Lord Howe falls back 02:00 -> 01:30 on 2024-04-07: 01:45 occurs twice, the first (+11)
    ("Australia/Lord_Howe", datetime(2024, 4, 7, 1, 45), datetime(2024, 4, 6, 14, 45), True),
    # New York spring gap: 02:30 read with the offset before the gap (EST) = 07:30Z
    ("America/New_York", datetime(2024, 3, 10, 2, 30), datetime(2024, 3, 10, 7, 30), True),
    # New York fall overlap: 01:30 occurs twice, the first (EDT) = 05:30Z
    ("America/New_York", datetime(2024, 11, 3, 1, 30), datetime(2024, 11, 3, 5, 30), True),
    ("Europe/Berlin", datetime(2024, 3, 31, 2, 30), datetime(2024, 3, 31, 1, 30), True),
    ("Europe/Berlin", datetime(2024, 10, 27, 2, 30), datetime(2024, 10, 27, 0, 30), True),
    # Apia skipped 2011-12-30 entirely (from -10 to +14): read with the offset before (-10)
    ("Pacific/Apia", datetime(2011, 12, 30, 10, 0), datetime(2011, 12, 30, 20, 0), True),
    ("Pacific/Apia", datetime(2011, 12, 31, 10, 0), datetime(2011, 12, 30, 20, 0), False),
    ("Pacific/Apia", datetime(2011, 12, 29, 10, 0), datetime(2011, 12, 29, 20, 0), False),
    # far beyond 2038: zoneinfo's rule footer still applies
    ("Europe/Berlin", datetime(2045, 7, 1, 12, 0), datetime(2045, 7, 1, 10, 0), False),
    ("America/Sao_Paulo", datetime(2024, 1, 1, 12, 0), datetime(2024, 1, 1, 15, 0), False),
]


@pytest.mark.parametrize(("tz", "wall_time", "utc", "noted"), MATRIX)
def test_tz_matrix(tz: str, wall_time: datetime, utc: datetime, noted: bool) -> None:
    zone = ZoneInfo(tz)
    got = resolve(wall_time, zone, tz)
    assert got.utc == utc.replace(tzinfo=UTC)
    assert (got.note is not None) is noted
    # the same answer as zoneinfo with fold=0, RFC 5545's reading
    assert got.utc == wall_time.replace(tzinfo=zone, fold=0).astimezone(UTC)


def test_gap_note_names_the_moved_time() -> None:
    note = resolve(
        datetime(2024, 3, 10, 2, 30), ZoneInfo("America/New_York"), "America/New_York"
    ).note
    assert note is not None
    assert "2024-03-10 02:30 does not exist in America/New_York" in note
    assert "2024-03-10 03:30" in note


def test_weekly_new_york_stays_at_ten_across_dst() -> None:
    e = ev(datetime(2024, 3, 7, 10, 0), rrule="FREQ=WEEKLY;COUNT=3")
    occs = occurrences(e, Y2020, Y2040)
    ny, london, sydney, kolkata = (
        ZoneInfo(z)
        for z in ("America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata")
    )
    assert [o.start.astimezone(ny).hour for o in occs] == [10, 10, 10]
    assert [o.start for o in occs] == [
        datetime(2024, 3, 7, 15, 0, tzinfo=UTC),
        datetime(2024, 3, 14, 14, 0, tzinfo=UTC),  # New York moved to EDT on 03-10
        datetime(2024, 3, 21, 14, 0, tzinfo=UTC),
    ]
    assert [o.start.astimezone(london).strftime("%H:%M") for o in occs] == [
        "15:00",
        "14:00",
        "14:00",
    ]
    assert [o.start.astimezone(sydney).strftime("%a %H:%M") for o in occs] == [
        "Fri 02:00",
        "Fri 01:00",
        "Fri 01:00",
    ]
    assert [o.start.astimezone(kolkata).strftime("%H:%M") for o in occs] == [
        "20:30",
        "19:30",
        "19:30",
    ]
    assert local_label(occs[0].start, sydney) == "Fri 02:00 (+1)"


def test_daily_is_calendar_days_not_24_hours() -> None:
    e = ev(datetime(2024, 10, 26, 9, 0), tz="Europe/Berlin", rrule="FREQ=DAILY;COUNT=3")
    occs = occurrences(e, Y2020, Y2040)
    assert [o.start.astimezone(ZoneInfo("Europe/Berlin")).hour for o in occs] == [9, 9, 9]
    assert occs[1].start - occs[0].start == timedelta(hours=25)  # the night clocks went back


def test_exdate_and_override() -> None:
    e = ev(
        datetime(2024, 3, 7, 10, 0),
        rrule="FREQ=WEEKLY;COUNT=4",
        exdates=frozenset({datetime(2024, 3, 14, 10, 0)}),
        overrides=(
            Override(
                datetime(2024, 3, 21, 10, 0),
                datetime(2024, 3, 22, 18, 0),
                timedelta(minutes=30),
                title="Moved AMA",
            ),
        ),
    )
    occs = occurrences(e, Y2020, Y2040)
    assert [(o.start, o.title, o.edited) for o in occs] == [
        (datetime(2024, 3, 7, 15, 0, tzinfo=UTC), "AMA", False),
        (datetime(2024, 3, 22, 22, 0, tzinfo=UTC), "Moved AMA", True),
        (datetime(2024, 3, 28, 14, 0, tzinfo=UTC), "AMA", False),
    ]
    assert occs[1].end - occs[1].start == timedelta(minutes=30)


def test_until_in_utc_against_a_zoned_start() -> None:
    # UNTIL 2024-03-21T14:00Z is exactly the third instance (10:00 EDT): it is included
    e = ev(datetime(2024, 3, 7, 10, 0), rrule="FREQ=WEEKLY;UNTIL=20240321T140000Z")
    assert len(occurrences(e, Y2020, Y2040)) == 3
    assert last_end(e) == datetime(2024, 3, 21, 15, 0, tzinfo=UTC)
    assert last_end(ev(datetime(2024, 3, 7, 10), rrule="FREQ=WEEKLY")) is None


def test_window_is_respected_and_overlap_counts() -> None:
    e = ev(datetime(2024, 3, 7, 10, 0), rrule="FREQ=DAILY")
    start = datetime(2024, 5, 1, 14, 30, tzinfo=UTC)  # inside the 14:00-15:00 instance
    occs = occurrences(e, start, start + timedelta(days=1, hours=23))
    assert [o.start for o in occs] == [
        datetime(2024, 5, 1, 14, 0, tzinfo=UTC),
        datetime(2024, 5, 2, 14, 0, tzinfo=UTC),
    ]  # the 05-03 instance starts after the window's end


def test_floating_and_all_day_follow_the_viewer() -> None:
    floating = ev(datetime(2024, 6, 1, 9, 0), tz=None)
    tokyo = occurrences(floating, Y2020, Y2040, ZoneInfo("Asia/Tokyo"))[0]
    berlin = occurrences(floating, Y2020, Y2040, ZoneInfo("Europe/Berlin"))[0]
    assert tokyo.start == datetime(2024, 6, 1, 0, 0, tzinfo=UTC)
    assert berlin.start == datetime(2024, 6, 1, 7, 0, tzinfo=UTC)
    day = ev(
        datetime(2024, 10, 27), tz=None, time_kind=TimeKind.ALL_DAY, duration=timedelta(days=1)
    )
    occ = occurrences(day, Y2020, Y2040, ZoneInfo("Europe/Berlin"))[0]
    # the day the clocks go back lasts 25 hours
    assert occ.end - occ.start == timedelta(hours=25)


def test_apia_skipped_day_is_not_doubled() -> None:
    e = ev(datetime(2011, 12, 28, 10, 0), tz="Pacific/Apia", rrule="FREQ=DAILY;COUNT=5")
    occs = occurrences(e, datetime(2011, 1, 1, tzinfo=UTC), Y2020)
    apia = ZoneInfo("Pacific/Apia")
    assert [o.start.astimezone(apia).strftime("%m-%d %H:%M") for o in occs] == [
        "12-28 10:00",
        "12-29 10:00",
        "12-31 10:00",  # the 12-30 instance, read with -10, lands here; 12-31's is the same
        "01-01 10:00",
    ]
    assert occs[2].note is not None


def test_bad_rules_are_refused() -> None:
    for rule in ("", "BYDAY=MO", "FREQ=BOGUS", "FREQ=WEEKLY;BYDAY=XX", "FREQ=WEEKLY;UNTIL=2024x"):
        with pytest.raises(RecurrenceError):
            check_rule(rule)
    assert check_rule("rrule:freq=weekly;byday=th") == "FREQ=WEEKLY;BYDAY=TH"


def test_conflicts_same_host_or_audience() -> None:
    a = ev(datetime(2024, 6, 13, 10, 0), host="Alice")
    b = Event(
        uid="b@test",
        title="Voice chat",
        start=datetime(2024, 6, 13, 16, 30),
        duration=timedelta(hours=1),
        tz="Europe/Berlin",
        host="alice",
    )
    c = Event(
        uid="c@test",
        title="Other",
        start=datetime(2024, 6, 13, 16, 30),
        duration=timedelta(hours=1),
        tz="Europe/Berlin",
        host="bob",
    )
    occs = [
        *occurrences(a, Y2020, Y2040),
        *occurrences(b, Y2020, Y2040),
        *occurrences(c, Y2020, Y2040),
    ]
    found = find_conflicts(occs)
    assert [(x.first.uid, x.second.uid, x.reason) for x in found] == [
        ("u@test", "b@test", "same host Alice")
    ]


ZONES = st.sampled_from(
    [
        "America/New_York",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "Pacific/Chatham",
        "Pacific/Apia",
        "America/Sao_Paulo",
        "UTC",
    ]
)
WALLS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1))


@settings(max_examples=300, deadline=None)
@given(ZONES, WALLS)
def test_property_resolve_round_trips_except_in_gaps(tz: str, naive: datetime) -> None:
    zone = ZoneInfo(tz)
    got = resolve(naive, zone, tz)
    back = got.utc.astimezone(zone).replace(tzinfo=None)
    if got.note and "does not exist" in got.note:
        assert back > naive  # a missing time moves forward by the gap
        assert back - naive <= timedelta(days=1)
    else:
        assert back == naive
        # a twice-occurring time is the earlier instant
        assert got.utc <= naive.replace(tzinfo=zone, fold=1).astimezone(UTC)


@settings(max_examples=100, deadline=None)
@given(ZONES, WALLS, st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]), st.integers(1, 12))
def test_property_recurrences_keep_wall_time(
    tz: str, naive: datetime, freq: str, count: int
) -> None:
    naive = naive.replace(second=0, microsecond=0)
    e = ev(naive, tz=tz, rrule=f"FREQ={freq};COUNT={count}")
    occs = occurrences(e, datetime(1980, 1, 1, tzinfo=UTC), datetime(2070, 1, 1, tzinfo=UTC))
    assert 1 <= len(occs) <= count
    zone = ZoneInfo(tz)
    starts = [o.start for o in occs]
    assert starts == sorted(set(starts))
    for o in occs:
        if o.note is None or "does not exist" not in o.note:
            assert o.start.astimezone(zone).replace(tzinfo=None) == o.recurrence_id
        assert o.recurrence_id.time() == naive.time()
