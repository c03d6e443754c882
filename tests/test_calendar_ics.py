"""`.ics` export and import: round trips through an independent parser (`ical`), files from
other calendars, refusals that name the file and the line, and a little fuzzing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream

from cockpit.calendar.ics import IcsError, export_ics, import_ics
from cockpit.calendar.model import Event, EventKind, Override, TimeKind
from cockpit.calendar.recurrence import check_rule, occurrences
from dst_events import DST_EVENTS, DST_FROM, DST_STAMP, DST_UNTIL

FIXTURES = Path(__file__).parent / "fixtures" / "calendar"
STAMP = datetime(2024, 2, 1, 12, 0, tzinfo=UTC)


def ama() -> Event:
    return Event(
        uid="ama-1@cockpit",
        title="Weekly AMA <b>",
        start=datetime(2024, 3, 7, 10, 0),
        duration=timedelta(hours=1),
        tz="America/New_York",
        rrule="FREQ=WEEKLY;COUNT=5",
        exdates=frozenset({datetime(2024, 3, 21, 10, 0)}),
        overrides=(
            Override(
                datetime(2024, 3, 28, 10, 0),
                datetime(2024, 3, 28, 12, 0),
                timedelta(hours=2),
                title="Long AMA",
            ),
        ),
        community="acme",
        platform="discord",
        channel="ama",
        host="alice",
        regions=("Europe/London", "Australia/Sydney", "Asia/Kolkata"),
        description="Ask us anything.\nSecond line; with, punctuation",
        reminders=(timedelta(hours=24), timedelta(minutes=10)),
    )


def shift() -> Event:
    return Event(
        uid="shift-1@cockpit",
        title="On call: bob",
        start=datetime(2024, 3, 4, 9, 0),
        duration=timedelta(hours=8),
        tz="Europe/Berlin",
        kind=EventKind.SHIFT,
        rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        host="bob",
    )


def test_export_has_what_calendar_programs_need() -> None:
    text = export_ics([ama(), shift()], STAMP).decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n")
    for line in (
        "VERSION:2.0",
        "UID:ama-1@cockpit",
        "DTSTAMP:20240201T120000Z",
        "DTSTART;TZID=America/New_York:20240307T100000",
        "DTEND;TZID=America/New_York:20240307T110000",
        "RRULE:FREQ=WEEKLY;COUNT=5",
        "EXDATE;TZID=America/New_York:20240321T100000",
        "RECURRENCE-ID;TZID=America/New_York:20240328T100000",
        "TZID:America/New_York",
        "TZID:Europe/Berlin",
        "X-COCKPIT-KIND:shift",
    ):
        assert line in text, line
    unfolded = text.replace("\r\n ", "")
    # VTIMEZONE transitions go well beyond 2038 (New York's DST start in 2090)
    assert "20900312T0" in unfolded and "20901105T0" in unfolded
    assert text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")


def test_round_trip_through_our_importer_is_exact() -> None:
    events = [ama(), shift()]
    back = import_ics(export_ics(events, STAMP), "x.ics", "other")
    assert back.events == events
    assert back.warnings == []


def test_round_trip_through_an_independent_parser() -> None:
    cal = IcsCalendarStream.calendar_from_ics(export_ics([ama()], STAMP).decode())
    got = [(e.summary, e.start.astimezone(UTC)) for e in cal.timeline_tz(ZoneInfo("UTC"))]
    ours = [(o.title, o.start) for o in occurrences(ama(), STAMP, STAMP + timedelta(days=90))]
    assert (
        got
        == ours
        == [
            ("Weekly AMA <b>", datetime(2024, 3, 7, 15, 0, tzinfo=UTC)),
            ("Weekly AMA <b>", datetime(2024, 3, 14, 14, 0, tzinfo=UTC)),
            ("Long AMA", datetime(2024, 3, 28, 16, 0, tzinfo=UTC)),
            ("Weekly AMA <b>", datetime(2024, 4, 4, 14, 0, tzinfo=UTC)),
        ]
    )


def test_floating_and_all_day_export() -> None:
    day = Event(
        "d@x", "Launch day", datetime(2024, 5, 1), timedelta(days=2), time_kind=TimeKind.ALL_DAY
    )
    fl = Event(
        "f@x",
        "Stretch",
        datetime(2024, 5, 1, 9, 0),
        timedelta(minutes=15),
        time_kind=TimeKind.FLOATING,
    )
    text = export_ics([day, fl], STAMP).decode()
    assert "DTSTART;VALUE=DATE:20240501" in text
    assert "DTEND;VALUE=DATE:20240503" in text
    assert "DTSTART:20240501T090000\r\n" in text
    assert "VTIMEZONE" not in text
    assert import_ics(text.encode(), "x.ics", "default").events == [day, fl]
    cal = IcsCalendarStream.calendar_from_ics(text)
    assert sorted(e.summary for e in cal.events) == ["Launch day", "Stretch"]


def test_import_outlook_windows_zone_exdate_in_utc_and_edits() -> None:
    result = import_ics((FIXTURES / "outlook.ics").read_bytes(), "outlook.ics", "acme")
    sync, holiday = result.events
    assert sync.tz == "Europe/Berlin"
    assert (
        sync.uid
        == "040000008200E00074C5B7101A82E00800000000D0A1B2C3D4E5F601000000000000000010000000"
    )
    assert sync.description == "Weekly mod sync. <b>Bring notes</b>, please.\n"
    # EXDATE 09:00Z is 10:00 in Berlin (CET); the cancelled edit is an EXDATE too
    assert sync.exdates == {datetime(2024, 3, 19, 10, 0), datetime(2024, 4, 9, 10, 0)}
    occs = occurrences(sync, STAMP, STAMP + timedelta(days=120))
    berlin = ZoneInfo("Europe/Berlin")
    assert [(o.start.astimezone(berlin).strftime("%m-%d %H:%M"), o.title) for o in occs] == [
        ("03-05 10:00", "Mod sync"),
        ("03-12 10:00", "Mod sync"),
        ("03-26 10:00", "Mod sync"),
        ("04-02 14:00", "Mod sync (afternoon)"),
        ("04-16 10:00", "Mod sync"),
        ("04-23 10:00", "Mod sync"),
        ("04-30 10:00", "Mod sync"),  # UNTIL 08:00Z is 10:00 CEST: included
    ]
    assert holiday.time_kind is TimeKind.ALL_DAY
    assert holiday.start == datetime(2024, 5, 1)
    assert holiday.duration == timedelta(days=1)
    assert holiday.community == "acme"


def test_import_google_export() -> None:
    call, launch = import_ics((FIXTURES / "google.ics").read_bytes(), "google.ics", "acme").events
    assert (call.tz, call.start, call.duration) == (
        "America/Sao_Paulo",
        datetime(2024, 6, 11, 19, 0),
        timedelta(hours=1),
    )
    assert (launch.tz, launch.start, launch.duration) == (
        "UTC",
        datetime(2024, 6, 12, 15, 0),
        timedelta(minutes=45),
    )
    assert (
        launch.title == "Launch 🚀 <script>alert(1)</script>"
    )  # verbatim: the display neutralises it


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad_offset.ics", "bad_offset.ics: line 8: Offset must be less than 24 hours, was +2600"),
        (
            "truncated.ics",
            "truncated.ics: the file ends inside VEVENT (begun at line 12): truncated?",
        ),
    ],
)
def test_malformed_fixture_files_are_refused(name: str, message: str) -> None:
    with pytest.raises(IcsError) as info:
        import_ics((FIXTURES / name).read_bytes(), name, "c")
    assert str(info.value) == message


def _cal(body: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:e1\r\n"
        "DTSTAMP:20240101T000000Z\r\n" + body + "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("DTSTART:20240301T100000+0200\r\n", "f.ics: line 7: VEVENT 1 DTSTART: Expected datetime"),
        ("DTSTART:20241345T100000\r\n", "f.ics: line 7: VEVENT 1 DTSTART: Wrong datetime format"),
        (
            "DTSTART;TZID=Nowhere/Land:20240301T100000\r\n",
            "f.ics: line 4: VEVENT 1 (e1): unknown time zone 'Nowhere/Land'",
        ),
        ("SUMMARY:no start\r\n", "f.ics: line 4: VEVENT 1 (e1): no DTSTART"),
        (
            "DTSTART:20240301T100000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=XX\r\n",
            "f.ics: line 8: VEVENT 1 RRULE",
        ),
        (
            "DTSTART:20240301T100000Z\r\nDTEND:20240301T090000Z\r\n",
            "f.ics: line 4: VEVENT 1 (e1): DTEND is before DTSTART",
        ),
        (
            "DTSTART;TZID=Europe/Berlin:20240301T100000\r\nRRULE:FREQ=DAILY;UNTIL=20240310T100000\r\n",
            "UNTIL must be in UTC",
        ),
        (
            "DTSTART:20240301T100000Z\r\nEND:VTODO\r\n",
            "f.ics: line 8: END:VTODO where END:VEVENT was due",
        ),
    ],
)
def test_bad_events_are_refused_with_line(body: str, message: str) -> None:
    with pytest.raises(IcsError) as info:
        import_ics(_cal(body), "f.ics", "c")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_not_an_ics_file() -> None:
    with pytest.raises(IcsError, match=r"^x.ics: line 1: not an iCalendar file"):
        import_ics(b'{"json": true}', "x.ics", "c")
    with pytest.raises(IcsError, match=r"^x.ics: not UTF-8 text \(byte 0\)"):
        import_ics(b"\xff\xfe\x00", "x.ics", "c")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.integers(0, 2000))
def test_fuzz_import_only_returns_or_refuses(noise: bytes, cut: int) -> None:
    good = export_ics([ama()], STAMP)
    for data in (noise, good[:cut], good[:cut] + noise, good.replace(b"\r\n", b"\n")[: cut + 500]):
        try:
            result = import_ics(data, "fuzz.ics", "c")
        except IcsError as exc:
            assert str(exc).startswith("fuzz.ics")
        else:
            assert all(isinstance(e, Event) for e in result.events)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(
        [
            "Europe/Berlin",
            "Australia/Lord_Howe",
            "Asia/Kathmandu",
            "Pacific/Chatham",
            "America/New_York",
        ]
    ),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2060, 1, 1)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    st.integers(1, 600),
    st.sampled_from(
        [None, "FREQ=DAILY;COUNT=3", "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4", "FREQ=MONTHLY;COUNT=2"]
    ),
)
def test_property_export_import_round_trip(
    tz: str, start: datetime, minutes: int, rule: str | None
) -> None:
    rule = check_rule(rule) if rule else None
    event = Event("p@x", "P", start, timedelta(minutes=minutes), tz=tz, rrule=rule)
    assert import_ics(export_ics([event], STAMP), "p.ics", "default").events == [event]


def test_vtimezone_covers_old_events() -> None:
    old = Event("o@x", "Old", datetime(1995, 6, 1, 12), timedelta(hours=1), tz="Europe/Berlin")
    text = export_ics([old], STAMP).decode().replace("\r\n ", "")
    assert "19950326T020000" in text or "19950326" in text  # DST start of 1995
    assert date(1995, 6, 1) > date(1994, 1, 1)


def _our_instants() -> list[tuple[str, datetime, datetime]]:
    return sorted(
        (e.uid, o.start, o.end) for e in DST_EVENTS for o in occurrences(e, DST_FROM, DST_UNTIL)
    )


def test_dst_gaps_and_folds_read_the_same_by_ical() -> None:
    """Every instance starts and ends at our instants in the `ical` library's timeline."""
    text = export_ics(DST_EVENTS, DST_STAMP).decode()
    cal = IcsCalendarStream.calendar_from_ics(text)
    theirs = sorted(
        (str(e.uid), e.start.astimezone(UTC), e.end.astimezone(UTC))
        for e in cal.timeline_tz(ZoneInfo("UTC"))
        if e.start.astimezone(UTC) < DST_UNTIL
    )
    ours = _our_instants()
    assert theirs == ours
    assert all(end > start for _, start, end in ours)
    fold = next(x for x in ours if x[0] == "ny-end-in-fold@t")
    assert fold[1:] == (
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    )


def test_dst_gaps_and_folds_read_the_same_by_icalendar() -> None:
    """Each VEVENT's own DTSTART/DTEND (icalendar) is the instance's start and end: no DTEND
    before its DTSTART, and the spelled-out instances are the ones we compute."""
    cal = icalendar.Calendar.from_ical(export_ics(DST_EVENTS, DST_STAMP))
    ours = {(uid, s): e for uid, s, e in _our_instants()}
    for ve in cal.walk("VEVENT"):
        start, end = ve.decoded("DTSTART"), ve.get("DTEND")
        assert isinstance(start, datetime) and start.tzinfo is not None
        if end is None:
            assert ve.get("RRULE") is not None  # a series whose first instance is spelled out
            continue
        begin = start.astimezone(UTC)
        finish = end.dt.astimezone(UTC)
        assert finish > begin, ve.to_ical()
        assert ours[(str(ve["UID"]), begin)] == finish


def test_dst_export_reads_back_as_it_was() -> None:
    """The instances spelled out for other readers are not edits when the file comes back."""
    back = import_ics(export_ics(DST_EVENTS, DST_STAMP), "dst.ics", "default").events
    assert [(e.uid, e.tz, e.overrides) for e in back] == [
        (e.uid, e.tz, e.overrides) for e in DST_EVENTS
    ]
    assert (
        sorted((e.uid, o.start, o.end) for e in back for o in occurrences(e, DST_FROM, DST_UNTIL))
        == _our_instants()
    )


def test_google_floating_times_follow_x_wr_timezone_and_rdate_adds_dates() -> None:
    """Google writes floating times and names their zone in X-WR-TIMEZONE: a weekly 18:00
    Berlin call stays 18:00 in Berlin after DST begins (28 March), and an RDATE adds a date
    (and goes back out as an RDATE, read by `ical` as well)."""
    data = (FIXTURES / "google_floating_rdate.ics").read_bytes()
    result = import_ics(data, "google.ics", "acme")
    assert result.warnings == []
    [event] = result.events
    assert (event.tz, event.time_kind) == ("Europe/Berlin", TimeKind.ZONED)
    berlin = ZoneInfo("Europe/Berlin")
    window = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    local = [o.start.astimezone(berlin) for o in occurrences(event, *window)]
    assert [t.strftime("%m-%d %H:%M") for t in local] == [
        "03-04 18:00",
        "03-11 18:00",
        "03-20 11:00",  # the RDATE
        "03-25 18:00",
        "04-01 18:00",  # CEST now: still 18:00 in Berlin
        "04-08 18:00",
    ]
    out = export_ics([event], STAMP)
    assert b"RDATE;TZID=Europe/Berlin:20270320T110000" in out
    assert import_ics(out, "again.ics", "acme").events == [event]
    cal = IcsCalendarStream.calendar_from_ics(out.decode())
    theirs = [e.start.astimezone(UTC) for e in cal.timeline_tz(ZoneInfo("UTC"))]
    assert theirs == [o.start for o in occurrences(event, *window)]
