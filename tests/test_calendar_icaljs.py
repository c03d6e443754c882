"""Our .ics export read by another calendar program's engine: ical.js, the iCalendar library of
Mozilla Thunderbird's calendar. Every occurrence it expands (zones from our VTIMEZONEs, DST,
RRULE, EXDATE, RECURRENCE-ID) must start and end at the instants we compute.

Needs Node.js and ical.js (`npm install --prefix .cache/icaljs ical.js@2`; .ci/run does it when
npm is present); skipped cleanly otherwise. ICALJS_DIR may point at another install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from cockpit.calendar.ics import export_ics
from cockpit.calendar.model import Event, Override, TimeKind
from cockpit.calendar.recurrence import occurrences
from cockpit.calendar.shifts import shift_event
from dst_events import DST_EVENTS, DST_FROM, DST_STAMP, DST_UNTIL

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).parent / "icaljs" / "expand.cjs"


def _modules() -> Path | None:
    base = Path(os.environ.get("ICALJS_DIR", ROOT / ".cache" / "icaljs"))
    modules = base / "node_modules"
    return modules if (modules / "ical.js").is_dir() else None


NODE = shutil.which("node")
MODULES = _modules()
pytestmark = pytest.mark.skipif(
    NODE is None or MODULES is None,
    reason="ical.js not installed (npm install --prefix .cache/icaljs ical.js@2)",
)

STAMP = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def ev(
    uid: str, title: str, start: datetime, tz: str | None, minutes: int = 60, **kw: object
) -> Event:
    kind = TimeKind.ZONED if tz else kw.pop("time_kind", TimeKind.FLOATING)  # type: ignore[arg-type]
    return Event(
        uid=uid,
        title=title,
        start=start,
        duration=timedelta(minutes=minutes),
        tz=tz,
        time_kind=kind,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


EVENTS = [
    # weekly 10:00 New York across both 2027 DST changes, one occurrence moved, one skipped
    ev(
        "ny-weekly@t",
        "Office hours",
        datetime(2027, 2, 4, 10, 0),
        "America/New_York",
        rrule="FREQ=WEEKLY;BYDAY=TH",
        exdates=frozenset({datetime(2027, 3, 18, 10, 0)}),
        overrides=(
            Override(
                recurrence_id=datetime(2027, 3, 11, 10, 0),
                start=datetime(2027, 3, 11, 15, 30),
                duration=timedelta(minutes=45),
                title="Office hours (moved)",
            ),
        ),
    ),
    ev("ktm@t", "Kathmandu meetup", datetime(2027, 3, 20, 18, 15), "Asia/Kathmandu", 90),
    ev(
        "lhi@t",
        "Lord Howe monthly",
        datetime(2027, 1, 3, 9, 0),
        "Australia/Lord_Howe",
        rrule="FREQ=MONTHLY;COUNT=6",
    ),
    ev(
        "chatham@t",
        "Chatham sync",
        datetime(2027, 4, 1, 12, 45),
        "Pacific/Chatham",
        30,
        rrule="FREQ=DAILY;COUNT=6",
    ),
    ev(
        "allday@t",
        "Launch day",
        datetime(2027, 3, 14),
        None,
        24 * 60,
        time_kind=TimeKind.ALL_DAY,
    ),
    ev(
        "floating@t",
        "Stretch break",
        datetime(2027, 3, 14, 15, 0),
        None,
        15,
        rrule="FREQ=DAILY;COUNT=3",
    ),
    shift_event(
        "mira", "Europe/Berlin", "22:00-06:00", "weekdays", date(2027, 3, 22), uid="shift@t"
    ),
]
FROM = datetime(2027, 1, 1, tzinfo=UTC)
UNTIL = datetime(2027, 7, 1, tzinfo=UTC)


def ours() -> list[dict[str, str]]:
    out = []
    for e in EVENTS:
        for o in occurrences(e, FROM, UNTIL, UTC):
            out.append(
                {
                    "uid": e.uid,
                    "start": o.start.astimezone(UTC).isoformat().replace("+00:00", ".000Z"),
                    "end": o.end.astimezone(UTC).isoformat().replace("+00:00", ".000Z"),
                    "title": o.title,
                }
            )
    return sorted(out, key=lambda d: d["start"] + d["uid"])


def theirs(path: Path) -> list[dict[str, str]]:
    assert NODE is not None and MODULES is not None
    done = subprocess.run(
        [NODE, str(SCRIPT), str(path), FROM.isoformat(), UNTIL.isoformat()],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TZ": "UTC", "NODE_PATH": str(MODULES)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_icaljs_expands_our_export_to_the_same_instants(tmp_path: Path) -> None:
    path = tmp_path / "cal.ics"
    path.write_bytes(export_ics(EVENTS, STAMP))
    expected = ours()
    got = theirs(path)
    assert got == expected
    # and the facts the planner cares about, spelled out
    ny = [d for d in got if d["uid"] == "ny-weekly@t"]
    assert ny[0]["start"] == "2027-02-04T15:00:00.000Z"  # EST
    assert "2027-03-18T14:00:00.000Z" not in [d["start"] for d in ny]  # skipped
    assert {"start": "2027-03-11T20:30:00.000Z", "title": "Office hours (moved)"}.items() <= next(
        d for d in ny if d["title"].endswith("(moved)")
    ).items()
    assert ny[-1]["start"] == "2027-06-24T14:00:00.000Z"  # EDT: still 10:00 in New York
    ktm = next(d for d in got if d["uid"] == "ktm@t")
    assert ktm["start"] == "2027-03-20T12:30:00.000Z"  # +05:45


def test_icaljs_reads_dst_gaps_and_folds_at_our_instants(tmp_path: Path) -> None:
    """Starts and ends in gaps and folds (several zones, single and recurring, an edit moved
    into a fold): ical.js reads a twice-occurring wall time as the second one and adds
    durations on the wall clock, so such instances must be written so that it cannot."""
    path = tmp_path / "dst.ics"
    path.write_bytes(export_ics(DST_EVENTS, DST_STAMP))
    done = subprocess.run(
        [NODE or "node", str(SCRIPT), str(path), DST_FROM.isoformat(), DST_UNTIL.isoformat()],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TZ": "UTC", "NODE_PATH": str(MODULES)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    got = sorted(
        (d["uid"], datetime.fromisoformat(d["start"]), datetime.fromisoformat(d["end"]))
        for d in json.loads(done.stdout)
    )
    expected = sorted(
        (e.uid, o.start, o.end) for e in DST_EVENTS for o in occurrences(e, DST_FROM, DST_UNTIL)
    )
    assert got == expected
