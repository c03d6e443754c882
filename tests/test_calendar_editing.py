"""The planner's event form: every field checked with one line naming it, odd local times
noted, one-occurrence edits converted into the series' zone, and forms prefilled from events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.calendar.editing import (
    EventForm,
    check_form,
    check_occurrence,
    form_of,
    repeats_text,
    without_occurrence,
)
from cockpit.calendar.model import Event, TimeKind
from cockpit.calendar.recurrence import occurrences


def form(**kw: str) -> EventForm:
    base = {"title": "AMA", "start": "2024-06-13 15:00", "zone": "Europe/Berlin", "duration": "90"}
    return EventForm(**{**base, **kw})


def test_a_full_form_becomes_a_zoned_event() -> None:
    checked = check_form(
        form(
            title=" AMA ",
            repeats="weekly",
            where="Discord #ama-stage",
            host="mira",
            regions="Asia/Tokyo, Europe/London Asia/Tokyo",
        ),
        "acme",
    )
    e = checked.event
    assert checked.note is None
    assert (e.title, e.start, e.tz, e.time_kind) == (
        "AMA",
        datetime(2024, 6, 13, 15, 0),
        "Europe/Berlin",
        TimeKind.ZONED,
    )
    assert e.duration == timedelta(minutes=90) and e.community == "acme"
    assert (e.rrule, e.platform, e.channel, e.host) == (
        "FREQ=WEEKLY",
        "discord",
        "ama-stage",
        "mira",
    )
    assert e.regions == ("Asia/Tokyo", "Europe/London")


def test_odd_local_times_are_noted_not_refused() -> None:
    gap = check_form(form(start="2024-03-31 02:30"), "acme")
    assert gap.note is not None and "does not exist in Europe/Berlin" in gap.note
    assert "2024-03-31 03:30" in gap.note
    twice = check_form(form(start="2024-10-27 02:30"), "acme")
    assert twice.note is not None and "occurs twice" in twice.note and "UTC+02:00" in twice.note


def test_floating_and_all_day_kinds() -> None:
    floating = check_form(form(zone="floating"), "acme").event
    assert floating.time_kind is TimeKind.FLOATING and floating.tz is None
    day = check_form(form(zone="all-day", start="2024-06-13", duration="2d"), "acme").event
    assert day.time_kind is TimeKind.ALL_DAY and day.start == datetime(2024, 6, 13)
    assert day.duration == timedelta(days=2)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "  "}, "title: empty"),
        ({"title": "a\nb"}, "title: one line only"),
        ({"start": "13/06/2024 15:00"}, "start '13/06/2024 15:00': expected YYYY-MM-DD HH:MM"),
        ({"start": "2024-02-30 15:00"}, "expected YYYY-MM-DD HH:MM"),
        ({"zone": "Mars/Olympus"}, "zone 'Mars/Olympus': not an IANA zone"),
        ({"zone": "a" * 5000}, "not an IANA zone"),
        ({"zone": "../../etc/passwd"}, "not an IANA zone"),
        ({"duration": "0"}, "duration '0': minutes (e.g. 90) or 30m, 2h, 1d; at most 7 days"),
        ({"duration": "1.5"}, "duration '1.5'"),
        ({"duration": "٣"}, "duration '٣'"),
        ({"duration": "10081"}, "at most 7 days"),
        ({"duration": "8d"}, "at most 7 days"),
        ({"zone": "all-day", "start": "2024-06-13", "duration": "3h"}, "lasts whole days"),
        ({"zone": "all-day", "start": "June 13"}, "expected YYYY-MM-DD for an all-day event"),
        ({"repeats": "sometimes"}, "repeats 'sometimes':"),
        ({"repeats": "FREQ=HOURLY;BYDAY=XX"}, "repeats 'FREQ=HOURLY;BYDAY=XX':"),
        ({"where": "discord #a #b"}, "where 'discord #a #b': expected e.g. 'discord #ama'"),
        ({"regions": "Asia/Tokyo Nowhere/Land"}, "region 'Nowhere/Land': not an IANA zone"),
    ],
)
def test_bad_fields_are_refused_in_one_line_naming_the_field(
    fields: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError) as info:
        check_form(form(**fields), "acme")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_repeat_words_show_back_as_words() -> None:
    assert (
        check_form(form(repeats="Weekdays"), "a").event.rrule == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    )
    assert repeats_text("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR") == "weekdays"
    assert repeats_text("FREQ=WEEKLY;INTERVAL=2") == "fortnightly"
    assert repeats_text("FREQ=WEEKLY;BYDAY=TH") == "FREQ=WEEKLY;BYDAY=TH"
    assert repeats_text(None) == ""


SERIES = Event(
    uid="office@t",
    title="Office hours",
    start=datetime(2024, 3, 7, 10, 0),  # Thursdays 10:00 New York, across the March DST change
    duration=timedelta(hours=1),
    tz="America/New_York",
    rrule="FREQ=WEEKLY",
    host="mira",
    regions=("Europe/London",),
    community="acme",
)


def test_editing_the_series_keeps_its_uid_and_drops_stale_edits_on_a_new_rule() -> None:
    moved = check_occurrence(
        form(title="Office hours", start="2024-03-14 16:00", zone="Europe/London", duration="60"),
        SERIES,
        datetime(2024, 3, 14, 10, 0),
    ).event
    same = check_form(form_of(moved), "acme", moved).event
    assert same.uid == SERIES.uid and same.overrides == moved.overrides
    daily = EventForm(**{**_fields(form_of(moved)), "repeats": "daily"})
    changed = check_form(daily, "acme", moved).event
    assert changed.overrides == () and changed.rrule == "FREQ=DAILY"


def _fields(f: EventForm) -> dict[str, str]:
    return {name: getattr(f, name) for name in EventForm.__dataclass_fields__}


def test_one_occurrence_typed_in_another_zone_is_stored_in_the_series_zone() -> None:
    # 2024-03-14: New York is already on EDT (UTC-4), London still on GMT: 16:00 London = 12:00 NY
    checked = check_occurrence(
        form(title="Office hours", start="2024-03-14 16:00", zone="Europe/London", duration="45"),
        SERIES,
        datetime(2024, 3, 14, 10, 0),
    )
    (edit,) = checked.event.overrides
    assert (edit.recurrence_id, edit.start, edit.duration) == (
        datetime(2024, 3, 14, 10, 0),
        datetime(2024, 3, 14, 12, 0),
        timedelta(minutes=45),
    )
    assert edit.title is None  # unchanged from the series
    occs = occurrences(
        checked.event, datetime(2024, 3, 13, tzinfo=UTC), datetime(2024, 3, 22, tzinfo=UTC)
    )
    assert [o.start for o in occs] == [
        datetime(2024, 3, 14, 16, 0, tzinfo=UTC),
        datetime(2024, 3, 21, 14, 0, tzinfo=UTC),
    ]
    with pytest.raises(ValueError, match="keeps its series' kind"):
        check_occurrence(form(zone="floating"), SERIES, datetime(2024, 3, 14, 10, 0))


def test_forms_prefill_from_the_series_and_from_one_edited_occurrence() -> None:
    f = form_of(SERIES)
    assert _fields(f) == {
        "title": "Office hours",
        "start": "2024-03-07 10:00",
        "zone": "America/New_York",
        "duration": "60",
        "repeats": "weekly",
        "where": "",
        "host": "mira",
        "regions": "Europe/London",
    }
    assert check_form(f, "acme", SERIES).event == SERIES  # an untouched form changes nothing
    moved = check_occurrence(
        form(title="Special", start="2024-03-14 11:30", zone="America/New_York", duration="30"),
        SERIES,
        datetime(2024, 3, 14, 10, 0),
    ).event
    (occ,) = [
        o
        for o in occurrences(
            moved, datetime(2024, 3, 14, tzinfo=UTC), datetime(2024, 3, 15, tzinfo=UTC)
        )
    ]
    again = form_of(moved, occ)
    assert (again.title, again.start, again.duration) == ("Special", "2024-03-14 11:30", "30")


def test_deleting_one_occurrence_skips_it_and_forgets_its_edit() -> None:
    rid = datetime(2024, 3, 14, 10, 0)
    moved = check_occurrence(
        form(title="x", start="2024-03-14 11:00", zone="America/New_York"), SERIES, rid
    ).event
    gone = without_occurrence(moved, rid)
    assert gone.exdates == {rid} and gone.overrides == ()


@given(
    st.text(max_size=30),
    st.text(max_size=30),
    st.text(max_size=40),
    st.text(max_size=8),
    st.text(max_size=30),
    st.text(max_size=30),
    st.text(max_size=40),
)
@settings(max_examples=300, deadline=None)
def test_any_form_is_an_event_or_one_line_of_refusal(
    title: str, start: str, zone: str, duration: str, repeats: str, where: str, regions: str
) -> None:
    f = EventForm(title, start, zone, duration, repeats, where, "", regions)
    try:
        checked = check_form(f, "acme")
    except ValueError as exc:
        assert "\n" not in str(exc)
    else:
        assert checked.event.title == title.strip()
        assert check_form(form_of(checked.event), "acme", checked.event).event == checked.event
