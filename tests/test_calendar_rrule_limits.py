"""Calendar input that cannot hang (issue 18): RRULEs are checked against RFC 5545's
ranges on input (typed or imported), and every expansion is bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dateutil.rrule import rrulestr

from cockpit.calendar.model import Event
from cockpit.calendar.recurrence import RecurrenceError, check_rule, occurrences
from cockpit.cli import main

BAD = [
    ("FREQ=DAILY;INTERVAL=0", "INTERVAL=0"),
    ("FREQ=SECONDLY;COUNT=100000000", "at most hourly"),
    ("FREQ=HOURLY;COUNT=100000000", "COUNT=100000000"),
    ("FREQ=DAILY;BYMONTH=13", "BYMONTH=13"),
    ("FREQ=DAILY;COUNT=-1", "COUNT=-1"),
    ("FREQ=DAILY;COUNT=0", "COUNT=0"),
    ("FREQ=WEEKLY;BYDAY=XX", "not a day"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never falls"),
    ("FREQ=YEARLY;BYYEARDAY=60;BYMONTH=1", "no day ever matches"),
    ("FREQ=DAILY;BYSETPOS=2", "BYSETPOS=2"),
    ("FREQ=DAILY;COUNT=3;UNTIL=20300101", "COUNT and UNTIL"),
    ("FREQ=DAILY;BYHOUR=24", "BYHOUR=24"),
]


@pytest.mark.parametrize(("rule", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_rules_are_refused(rule: str, message: str) -> None:
    with pytest.raises(RecurrenceError, match=message.replace("(", r"\(")):
        check_rule(rule)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;BYDAY=TH;COUNT=10",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=DAILY;BYHOUR=9,17;BYSETPOS=2",
        "FREQ=YEARLY;BYWEEKNO=53;BYDAY=TH",
        "FREQ=HOURLY;INTERVAL=8",
    ],
)
def test_good_rules_pass(rule: str) -> None:
    assert check_rule(rule)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COCKPIT_DB", raising=False)
    db = str(tmp_path / "c.db")

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--db", db, *argv])
        cap = capsys.readouterr()
        return code, cap.out, cap.err

    assert run("calendar", "add", "Later", "--start", "2031-01-01 10:00")[0] == 0  # the store
    return run


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("rule", "message"), BAD[:5], ids=[b[0] for b in BAD[:5]])
def test_calendar_add_refuses_and_stores_nothing(cli, rule: str, message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("calendar", "add", "AMA", "--start", "2030-01-01 10:00", "--rrule", rule)
    assert (code, err.count("\n")) == (1, 1) and message in err, err
    code, out, _ = cli("calendar", "--from", "2030-01-01", "--days", "30", "--json")
    assert (code, out.strip()) == (0, "[]")


@pytest.mark.timeout(60)
def test_ics_import_refuses_a_rule_that_would_spin(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ics = tmp_path / "spin.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VEVENT\r\n"
        "UID:spin@x\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300101T100000Z\r\n"
        "DURATION:PT1H\r\nSUMMARY:Spin\r\nRRULE:FREQ=DAILY;INTERVAL=0\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    code, _, err = cli("calendar", "import", str(ics))
    assert code == 1 and err.count("\n") == 1 and "INTERVAL" in err, err
    code, out, _ = cli("calendar", "--from", "2030-01-01", "--days", "3", "--json")
    assert out.strip() == "[]"


@pytest.mark.timeout(60)
def test_a_rule_stored_before_checks_shows_once_instead_of_spinning() -> None:
    event = Event(
        uid="old@x",
        title="old",
        start=datetime(2030, 1, 1, 10),
        duration=timedelta(hours=1),
        tz="UTC",
        rrule="FREQ=DAILY;INTERVAL=0",
    )
    found = occurrences(event, datetime(2029, 12, 1, tzinfo=UTC), datetime(2030, 2, 1, tzinfo=UTC))
    assert [o.start for o in found] == [datetime(2030, 1, 1, 10, tzinfo=UTC)]


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=HOURLY;INTERVAL=7;BYMINUTE=15",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
    ],
)
def test_a_series_begun_long_ago_expands_the_same_from_near_the_window(rule: str) -> None:
    """Expansion starts a whole number of periods before the window: same instances."""
    start = datetime(2001, 3, 5, 9, 15)
    event = Event(
        uid="long@x",
        title="long",
        start=start,
        duration=timedelta(minutes=30),
        tz="UTC",
        rrule=rule,
    )
    lo, hi = datetime(2026, 3, 1), datetime(2026, 3, 20)
    expected = [
        d.replace(tzinfo=UTC)
        for d in rrulestr(rule, dtstart=start).between(lo - timedelta(minutes=30), hi, inc=True)
        if d + timedelta(minutes=30) > lo and d < hi
    ]
    found = occurrences(event, lo.replace(tzinfo=UTC), hi.replace(tzinfo=UTC))
    assert [o.start for o in found] == expected and expected
