"""Events whose starts or ends fall in DST gaps and folds, in several zones, single and
recurring: the cases where readers of an .ics file disagree unless it is written with care."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit.calendar.model import Event, Override, TimeKind


def _ev(uid: str, start: datetime, tz: str, minutes: int, rrule: str | None = None) -> Event:
    return Event(
        uid=uid,
        title=uid,
        start=start,
        duration=timedelta(minutes=minutes),
        tz=tz,
        time_kind=TimeKind.ZONED,
        rrule=rrule,
    )


DST_EVENTS = [
    # ends in the repeated hour: 01:30 EDT + 30 min = 01:00 EST (wall clock earlier than start)
    _ev("ny-end-in-fold@t", datetime(2026, 11, 1, 1, 30), "America/New_York", 30),
    # starts in the skipped hour (read with the offset before: 03:30 EDT)
    _ev("ny-start-in-gap@t", datetime(2027, 3, 14, 2, 30), "America/New_York", 60),
    # ends in the skipped hour: 01:30 CET + 60 min = 03:30 CEST
    _ev("ber-end-in-gap@t", datetime(2027, 3, 28, 1, 30), "Europe/Berlin", 60),
    # half-hour DST: ends in Lord Howe's repeated half hour
    _ev("lhi-end-in-fold@t", datetime(2027, 4, 4, 1, 15), "Australia/Lord_Howe", 30),
    # daily at 02:15 Berlin: one instance in the gap, one in the fold
    _ev("ber-daily@t", datetime(2027, 3, 20, 2, 15), "Europe/Berlin", 30, "FREQ=DAILY;COUNT=240"),
    # weekly Sunday 01:30 New York, 45 min: one instance ends after the clocks went back
    _ev(
        "ny-weekly@t",
        datetime(2026, 10, 18, 1, 30),
        "America/New_York",
        45,
        "FREQ=WEEKLY;BYDAY=SU;COUNT=30",
    ),
    # the first instance itself spans the change (6 h from 22:00 on 31 October)
    _ev(
        "ny-night@t", datetime(2026, 10, 31, 22, 0), "America/New_York", 360, "FREQ=YEARLY;COUNT=3"
    ),
    # southern hemisphere, the clocks go back in April
    _ev(
        "syd-weekly@t",
        datetime(2027, 3, 7, 2, 30),
        "Australia/Sydney",
        60,
        "FREQ=WEEKLY;BYDAY=SU;COUNT=8",
    ),
]

# an edited occurrence moved into a fold
DST_EVENTS.append(
    Event(
        uid="ber-moved@t",
        title="ber-moved@t",
        start=datetime(2027, 10, 17, 10, 0),
        duration=timedelta(minutes=90),
        tz="Europe/Berlin",
        rrule="FREQ=WEEKLY;COUNT=4",
        overrides=(
            Override(
                datetime(2027, 10, 31, 10, 0), datetime(2027, 10, 31, 2, 30), timedelta(minutes=90)
            ),
        ),
    )
)

DST_FROM = datetime(2026, 1, 1, tzinfo=UTC)
DST_UNTIL = datetime(2030, 1, 1, tzinfo=UTC)
DST_STAMP = datetime(2026, 9, 1, tzinfo=UTC)
