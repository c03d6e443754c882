"""`cockpit calendar` end to end: add, list (text and JSON), edit one occurrence, delete,
export/import, suggest from real stored activity, shifts, and errors with exit 1."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ical.calendar_stream import IcsCalendarStream

from cockpit.cli import main
from cockpit.store.sqlite import SQLiteStore
from factories import act


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    config = tmp_path / "cockpit.toml"
    config.write_text(
        '[cockpit]\ncommunity = "c1"\ntimezone = "UTC"\n'
        'regions = ["America/Los_Angeles", "Europe/Berlin", "Asia/Jakarta"]\n'
    )

    def go(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(config), "--db", str(tmp_path / "s.db"), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return go


def _add_ama(run) -> str:  # type: ignore[no-untyped-def]
    code, out, _ = run(
        "calendar",
        "add",
        "Weekly AMA",
        "--start",
        "2030-03-07 10:00",
        "--tz",
        "America/New_York",
        "--rrule",
        "FREQ=WEEKLY;COUNT=4",
        "--host",
        "alice",
        "--platform",
        "discord",
        "--channel",
        "ama",
        "--region",
        "Europe/London",
        "--region",
        "Australia/Sydney",
        "--region",
        "Asia/Kolkata",
        "--json",
    )
    assert code == 0
    (item,) = json.loads(out)
    assert item["status"] == "new"
    return str(item["uid"])


def test_add_and_list_across_dst_in_five_regions(run) -> None:  # type: ignore[no-untyped-def]
    uid = _add_ama(run)
    code, out, _ = run("calendar", "--from", "2030-03-01", "--days", "21", "--json")
    assert code == 0
    items = json.loads(out)
    assert [i["start"] for i in items] == [
        "2030-03-07T15:00:00Z",
        "2030-03-14T14:00:00Z",
        "2030-03-21T14:00:00Z",
    ]
    assert {i["uid"] for i in items} == {uid}
    first, second = items[0]["local"], items[1]["local"]
    assert first["Europe/London"] == "2030-03-07T15:00:00+00:00"
    assert first["Australia/Sydney"] == "2030-03-08T02:00:00+11:00"
    assert first["Asia/Kolkata"] == "2030-03-07T20:30:00+05:30"
    assert second["Europe/London"] == "2030-03-14T14:00:00+00:00"  # New York moved, London not yet
    assert second["America/Los_Angeles"] == "2030-03-14T07:00:00-07:00"
    assert second["Asia/Jakarta"] == "2030-03-14T21:00:00+07:00"
    code, out, _ = run("calendar", "--from", "2030-03-07", "--days", "1", "--tz", "Asia/Kolkata")
    lines = out.splitlines()
    assert (
        lines[0] == f"2030-03-07 Thu 20:30–21:30  Weekly AMA  [{uid[:8]}]  discord #ama  host alice"
    )
    assert lines[1].startswith("    London Thu 15:00 · Sydney Fri 02:00 (+1) · Kolkata Thu 20:30")


def test_edit_one_occurrence_delete_another_and_conflicts(run) -> None:  # type: ignore[no-untyped-def]
    uid = _add_ama(run)
    code, _, _ = run(
        "calendar",
        "edit",
        uid[:6],
        "--occurrence",
        "2030-03-14 10:00",
        "--start",
        "2030-03-14 12:00",
        "--title",
        "Special AMA",
    )
    assert code == 0
    code, out, _ = run("calendar", "delete", uid, "--occurrence", "2030-03-21T14:00:00Z")
    assert code == 0 and "deleted the occurrence 2030-03-21 10:00" in out
    code, out, err = run(
        "calendar", "add", "Voice chat", "--start", "2030-03-28T14:30:00Z", "--host", "Alice"
    )
    assert code == 0 and "conflict on 2030-03-28T14:00:00Z: Weekly AMA" in err
    code, out, _ = run("calendar", "--from", "2030-03-01", "--days", "30", "--json")
    items = json.loads(out)
    assert [(i["title"], i["start"], i["edited"]) for i in items] == [
        ("Weekly AMA", "2030-03-07T15:00:00Z", False),
        ("Special AMA", "2030-03-14T16:00:00Z", True),
        ("Weekly AMA", "2030-03-28T14:00:00Z", False),
        ("Voice chat", "2030-03-28T14:30:00Z", False),
    ]
    assert items[2]["conflicts"][0].endswith("(same host alice)")
    code, _, err = run("calendar", "delete", uid, "--occurrence", "2030-03-22 10:00")
    assert code == 1 and "has no occurrence starting then" in err
    assert run("calendar", "delete", uid)[0] == 0
    assert run("calendar", "delete", uid)[0] == 1


def test_a_start_typed_as_people_say_it(run) -> None:  # type: ignore[no-untyped-def]
    from cockpit.timeutil import natural_time, utcnow, zone

    code, _, err = run(
        "calendar", "add", "Jakarta AMA", "--start", "thu 15:00", "--tz", "Asia/Jakarta"
    )
    assert code == 0, err
    want = natural_time("thu 15:00", utcnow(), zone("Asia/Jakarta"), ahead=True)
    assert want is not None
    code, out, _ = run("calendar", "--days", "8", "--json")
    (item,) = [i for i in json.loads(out) if i["title"] == "Jakarta AMA"]
    assert item["start"] == want.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_gap_time_is_told(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(
        "calendar", "add", "Odd", "--start", "2030-03-10 02:30", "--tz", "America/New_York"
    )
    assert code == 0
    assert "2030-03-10 02:30 does not exist in America/New_York" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "someday"], "--start 'someday': expected e.g. 2024-06-13 15:00"),
        (["--start", "thu 26:00"], "--start 'thu 26:00': 26:00 is not a time of day"),
        (
            ["--start", "2030-01-01 10:00", "--tz", "Mars/Base"],
            "--tz: unknown time zone 'Mars/Base'",
        ),
        (
            ["--start", "2030-01-01 10:00", "--rrule", "FREQ=SOMETIMES"],
            "--rrule: RRULE 'FREQ=SOMETIMES'",
        ),
        (["--start", "2030-01-01 10:00", "--duration", "forever"], "--duration: not a duration"),
    ],
)
def test_bad_input_exits_1_with_one_line(run, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("calendar", "add", "X", *args)
    assert code == 1
    assert message in err and err.count("\n") == 1


def test_export_import_round_trip_and_independent_parser(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    uid = _add_ama(run)
    run(
        "calendar",
        "shifts",
        "add",
        "bob",
        "--tz",
        "Europe/Berlin",
        "--hours",
        "09:00-17:00",
        "--since",
        "2030-03-04",
    )
    out_file = tmp_path / "out.ics"
    assert run("calendar", "export", str(out_file))[0] == 0
    cal = IcsCalendarStream.calendar_from_ics(out_file.read_text())
    assert {e.uid for e in cal.events} >= {uid}
    assert any(e.summary == "On call: bob" for e in cal.events)
    other = tmp_path / "other.toml"
    other.write_text('[cockpit]\ncommunity = "c1"\n')
    code = main(
        [
            "--config",
            str(other),
            "--db",
            str(tmp_path / "t.db"),
            "calendar",
            "import",
            str(out_file),
        ]
    )
    assert code == 0
    code = main(
        [
            "--config",
            str(other),
            "--db",
            str(tmp_path / "t.db"),
            "calendar",
            "import",
            str(out_file),
        ]
    )
    assert code == 0
    bad = tmp_path / "bad.ics"
    bad.write_text(out_file.read_text()[:500])
    code, _, err = run("calendar", "import", str(bad))
    assert code == 1 and err.startswith(f"cockpit: {bad}: ")


def test_import_prints_counts(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = Path(__file__).parent / "fixtures" / "calendar" / "outlook.ics"
    code, out, _ = run("calendar", "import", str(path))
    assert code == 0 and out.strip() == f"{path}: 2 new, 0 updated, 0 unchanged"
    code, out, _ = run("calendar", "import", str(path))
    assert out.strip() == f"{path}: 0 new, 0 updated, 2 unchanged"


def test_suggest_from_stored_activity(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # seven members post on recent Tuesdays at 15:xx UTC; two also at 02:xx UTC
    now = datetime.now(UTC)
    tuesday = (now - timedelta(days=(now.weekday() - 1) % 7 + 7)).replace(
        hour=15, minute=5, second=0, microsecond=0
    )

    async def seed() -> None:
        store = await SQLiteStore.open(tmp_path / "s.db")
        try:
            await store.write([act(i, ts=tuesday + timedelta(minutes=i)) for i in range(14)])
            await store.write(
                [
                    act(100 + i, author_id=str(1000 + i), ts=tuesday.replace(hour=2))
                    for i in range(2)
                ]
            )
        finally:
            await store.close()

    asyncio.run(seed())
    start = (now + timedelta(days=1)).date().isoformat()
    code, out, _ = run(
        "calendar",
        "suggest",
        "--duration",
        "1h",
        "--from",
        start,
        "--days",
        "7",
        "--limit",
        "2",
        "--json",
    )
    assert code == 0
    slots = json.loads(out)
    assert slots[0]["attendees"] == 7 and slots[0]["active_members"] == 7
    assert slots[0]["share_awake"] == 1.0
    assert slots[0]["start"].endswith("T15:00:00Z")
    assert datetime.fromisoformat(slots[0]["start"].replace("Z", "+00:00")).weekday() == 1
    assert [r["zone"] for r in slots[0]["regions"]] == [
        "America/Los_Angeles",
        "Europe/Berlin",
        "Asia/Jakarta",
    ]
    assert all(r["awake"] for r in slots[0]["regions"])
    code, out, _ = run(
        "calendar", "suggest", "--from", start, "--region", "Europe/London", "--limit", "1"
    )
    assert code == 0 and "7/7 active members (100%)  London" in out


def test_shifts_commands(run) -> None:  # type: ignore[no-untyped-def]
    assert (
        run(
            "calendar",
            "shifts",
            "add",
            "bob",
            "--tz",
            "Europe/Berlin",
            "--hours",
            "09:00-17:00",
            "--days",
            "daily",
            "--since",  # not "today in Berlin": between 23:00 and 24:00 UTC that is tomorrow
            "2020-01-01",  # for the UTC week the coverage shows, and a day went missing
        )[0]
        == 0
    )
    code, out, _ = run("calendar", "shifts", "--json")
    (s,) = json.loads(out)
    assert (s["moderator"], s["tz"], s["rrule"], s["duration_s"]) == (
        "bob",
        "Europe/Berlin",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU",
        8 * 3600,
    )
    code, out, _ = run("calendar", "shifts", "coverage", "--json")
    rows = json.loads(out)
    assert len(rows) == 168
    assert sum(1 for r in rows if r["moderators"] == ["bob"]) >= 7 * 8
    code, _, err = run(
        "calendar", "shifts", "add", "x", "--tz", "Europe/Berlin", "--hours", "9 to 5"
    )
    assert code == 1 and "hours '9 to 5': expected HH:MM-HH:MM" in err
    code, out, _ = run("calendar", "shifts", "now", "--json")
    assert code == 0 and isinstance(json.loads(out), list)


def test_help_lists_the_subcommands(run, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        main(["calendar", "--help"])
    out = capsys.readouterr().out
    for word in (
        "add",
        "edit",
        "delete",
        "export",
        "import",
        "suggest",
        "shifts",
        "--from",
        "--days",
        "--tz",
        "--json",
    ):
        assert word in out


def test_a_series_edit_keeps_or_drops_occurrence_edits_as_the_tui_does(run) -> None:  # type: ignore[no-untyped-def]
    """One rule for CLI and TUI (cockpit.calendar.editing.assemble): the same rule and start
    keep one-occurrence edits and skipped dates; a new rule drops them."""
    uid = _add_ama(run)
    run("calendar", "edit", uid, "--occurrence", "2030-03-14 10:00", "--title", "Special AMA")
    run("calendar", "delete", uid, "--occurrence", "2030-03-21 10:00")

    def titles() -> list[tuple[str, str]]:
        code, out, _ = run("calendar", "--from", "2030-03-01", "--days", "30", "--json")
        assert code == 0
        return [(i["title"], i["start"][:10]) for i in json.loads(out)]

    edited = [
        ("Weekly AMA", "2030-03-07"),
        ("Special AMA", "2030-03-14"),
        ("Weekly AMA", "2030-03-28"),
    ]
    assert titles() == edited
    assert run("calendar", "edit", uid, "--host", "bob")[0] == 0  # not the rule: kept
    assert run("calendar", "edit", uid, "--rrule", "FREQ=WEEKLY;COUNT=4")[0] == 0  # same rule
    assert titles() == edited
    assert run("calendar", "edit", uid, "--rrule", "FREQ=WEEKLY;COUNT=3")[0] == 0  # a new rule
    assert titles() == [
        ("Weekly AMA", "2030-03-07"),
        ("Weekly AMA", "2030-03-14"),
        ("Weekly AMA", "2030-03-21"),
    ]


def test_suggest_never_offers_a_past_slot_and_ranks_distinct_times(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Members post every day at 15:xx and 16:xx UTC (a few at 10:xx): the suggestions are
    distinct times (15:00, then others), each naming the other days as good, none before now,
    under a line saying what was ranked and what kept out."""
    now = datetime.now(UTC)
    day0 = (now - timedelta(days=8)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    n = 0
    for d in range(7):
        for hour, people in ((15, 7), (16, 5), (10, 3)):
            for p in range(people):
                n += 1
                ts = day0 + timedelta(days=d, hours=hour, minutes=p)
                rows.append(act(n, author_id=str(500 + p), author=f"p{p}", ts=ts))

    async def seed() -> None:
        store = await SQLiteStore.open(tmp_path / "s.db")
        try:
            await store.write(rows)
        finally:
            await store.close()

    asyncio.run(seed())
    args = ("calendar", "suggest", "--region", "Europe/London", "--limit", "3")
    code, out, _ = run(*args, "--json")
    assert code == 0
    slots = json.loads(out)
    starts = [datetime.fromisoformat(s["start"].replace("Z", "+00:00")) for s in slots]
    assert all(s >= now - timedelta(minutes=1) for s in starts)  # --from today: not the past
    assert len({(s.hour, s.minute) for s in starts}) == len(starts) == 3
    assert (starts[0].hour, starts[0].minute) == (15, 0)
    assert len(slots[0]["also"]) >= 4  # the other days at 15:00, said once
    code, out, _ = run(*args)
    header, *lines = out.strip().splitlines()
    assert "keeping Europe/London awake (07:00-23:00 local)" in header
    assert "one line per time of day" in header
    assert len(lines) == 3 and "as good on" in lines[0]
