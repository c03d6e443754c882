from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.metadata import EntryPoint
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cockpit.registry import load_registry
from cockpit.textsafe import inert, inert_line
from cockpit.timeutil import from_ms, iso_z, localize, parse_duration, parse_iso, parse_since, to_ms


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred", "\\x1b[31mred"),
        ("a\u202eb", "a\\u202eb"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("bell\x07", "bell\\x07"),
        ("c1\x9b31m", "c1\\x9b31m"),
        ("[bold red]x[/]", "[bold red]x[/]"),
        ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"),
        ("stray\u200djoiner", "stray\\u200djoiner"),
    ],
)
def test_inert(raw: str, shown: str) -> None:
    assert inert(raw) == shown


def test_inert_line_folds_newlines() -> None:
    assert inert_line("a\nb\tc") == "a ⏎ b c"


@given(st.text())
def test_inert_output_has_no_control_characters(s: str) -> None:
    out = inert_line(s)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in out)
    assert "\u202e" not in out and "\u200b" not in out


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    )
)
def test_ms_round_trip(ts: datetime) -> None:
    ts = ts.replace(microsecond=ts.microsecond // 1000 * 1000)
    assert from_ms(to_ms(ts)) == ts


def test_iso_and_durations() -> None:
    ts = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert iso_z(ts) == "2024-05-01T12:00:00.123Z"
    assert iso_z(ts.replace(microsecond=0)) == "2024-05-01T12:00:00Z"
    assert parse_iso("2024-05-01T14:00:00+02:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="no zone"):
        parse_iso("2024-05-01T14:00:00")
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("2h") == timedelta(hours=2)
    with pytest.raises(ValueError):
        parse_duration("soon")
    now = datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2024-04-30T10:00", now, ZoneInfo("Asia/Kathmandu")) == datetime(
        2024, 4, 30, 4, 15, tzinfo=UTC
    )


def test_localize_follows_rfc5545() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 02:30 on 2024-03-31 does not exist: read with the offset before the gap (+01:00)
    assert localize(datetime(2024, 3, 31, 2, 30), berlin) == datetime(
        2024, 3, 31, 1, 30, tzinfo=UTC
    )
    # 02:30 on 2024-10-27 occurs twice: the first occurrence (+02:00)
    assert localize(datetime(2024, 10, 27, 2, 30), berlin) == datetime(
        2024, 10, 27, 0, 30, tzinfo=UTC
    )


def test_a_broken_plugin_is_a_warning_not_a_crash() -> None:
    eps = [
        EntryPoint("broken", "cockpit.no_such_module:plugin", "cockpit.plugins"),
        EntryPoint("wrongtype", "cockpit.timeutil:utcnow", "cockpit.plugins"),
        EntryPoint("jsonl", "cockpit.plugins.jsonl:plugin", "cockpit.plugins"),
    ]
    warnings: list[str] = []
    reg = load_registry(eps, warn=warnings.append)
    assert list(reg.plugins) == ["jsonl"]
    assert len(warnings) == 2
    assert "plugin 'broken'" in warnings[0] and "ModuleNotFoundError" in warnings[0]
    assert "plugin 'wrongtype'" in warnings[1] and "not a cockpit Plugin" in warnings[1]


def test_compound_durations_and_days_people_type() -> None:
    from datetime import UTC, datetime, timedelta

    from cockpit.timeutil import natural_time, parse_duration, parse_since, zone

    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d 4h") == timedelta(days=2, hours=4)
    now = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)  # Friday in UTC, Saturday 04:00 in Jakarta
    jkt = zone("Asia/Jakarta")
    assert parse_since("1h30m", now) == now - timedelta(minutes=90)
    assert parse_since("yesterday", now, jkt) == datetime(2026, 12, 3, 17, tzinfo=UTC)
    assert parse_since("today", now) == datetime(2026, 12, 4, tzinfo=UTC)
    assert parse_since("thu 15:00", now, jkt) == datetime(2026, 12, 3, 8, tzinfo=UTC)
    assert parse_since("Thursday", now) == datetime(2026, 12, 3, tzinfo=UTC)
    assert parse_since("fri 22:00", now) == datetime(2026, 11, 27, 22, tzinfo=UTC)  # not ahead
    ahead = natural_time("thu 15:00", now, zone("Europe/Berlin"), ahead=True)
    assert ahead == datetime(2026, 12, 10, 14, tzinfo=UTC)
    # across the spring DST change in Berlin: the wall clock stays 15:00
    march = datetime(2026, 3, 27, 12, tzinfo=UTC)
    assert natural_time("sun 15:00", march, zone("Europe/Berlin"), ahead=True) == datetime(
        2026, 3, 29, 13, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("thu 25:00", "25:00 is not a time of day"),
        ("thu 12:75", "not a time of day"),
        ("someday", "expected a duration (15m, 1h30m, 7d), a day"),
        ("1h30x", "expected a duration"),
        ("thunder", "expected a duration"),
    ],
)
def test_bad_natural_times_are_one_line(value: str, says: str) -> None:
    from cockpit.timeutil import parse_since

    with pytest.raises(ValueError) as caught:
        parse_since(value)
    assert says in str(caught.value) and "\n" not in str(caught.value)
