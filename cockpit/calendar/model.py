"""Events, one-occurrence edits and occurrences: what the calendar holds and shows."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class TimeKind(StrEnum):
    """RFC 5545's three kinds of start: a zone, a floating wall clock, or a whole day."""

    ZONED = "zoned"
    FLOATING = "floating"
    ALL_DAY = "all-day"


class EventKind(StrEnum):
    EVENT = "event"
    SHIFT = "shift"  # a moderator's shift: `host` is the moderator


def new_uid() -> str:
    return f"{secrets.token_hex(8)}@cockpit"


@dataclass(frozen=True, slots=True)
class Override:
    """An edited occurrence (RECURRENCE-ID): it replaces the occurrence starting at `recurrence_id`.

    Times are naive wall-clock times in the event's zone (midnight for all-day events).
    """

    recurrence_id: datetime
    start: datetime
    duration: timedelta
    title: str | None = None
    host: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A calendar entry. `start` is the wall-clock time in `tz` (None unless ZONED).

    Wall-clock time is kept (not only the UTC instant) because a recurrence repeats the
    wall-clock time in its zone: a weekly 10:00 New York call stays 10:00 across DST.
    """

    uid: str
    title: str
    start: datetime
    duration: timedelta
    tz: str | None = None
    time_kind: TimeKind = TimeKind.ZONED
    kind: EventKind = EventKind.EVENT
    rrule: str | None = None
    exdates: frozenset[datetime] = frozenset()
    overrides: tuple[Override, ...] = ()
    community: str = "default"
    platform: str | None = None
    channel: str | None = None
    host: str | None = None
    regions: tuple[str, ...] = ()
    description: str = ""
    reminders: tuple[timedelta, ...] | None = None  # None: the configured defaults
    sequence: int = 0

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None:
            raise ValueError("Event.start is a naive wall-clock time")
        if (self.time_kind is TimeKind.ZONED) != (self.tz is not None):
            raise ValueError("a zoned event needs a zone; floating and all-day events have none")
        if self.duration < timedelta(0):
            raise ValueError("an event cannot end before it starts")


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One instance of an event on the UTC line, with what changed and what is odd about it."""

    event: Event
    recurrence_id: datetime  # the wall-clock start of the series instance it stands for
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC
    title: str
    host: str | None
    description: str
    edited: bool = False
    note: str | None = None  # a start that did not exist as written, or occurred twice

    @property
    def uid(self) -> str:
        return self.event.uid

    def audience(self) -> set[str]:
        """What the occurrence competes for: its channel and its target regions."""
        out = {f"region:{r}" for r in self.event.regions}
        if self.event.platform and self.event.channel:
            out.add(f"channel:{self.event.platform}/{self.event.channel}".lower())
        return out
