"""Connector health as the connectors see it, kept where the TUI and alerts can read it.

Connectors report into a `ConnectorHealth` (by source name, from the process-wide
`BOARD`); the collector writes the board to the store every few seconds and when it stops
(`cockpit.store.sqlite_collect`), so a TUI attached to the same store shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from cockpit.timeutil import age, to_ms, utcnow

STATES = ("starting", "connected", "lagging", "failing", "stopped")


@dataclass
class ConnectorHealth:
    name: str
    type: str = ""
    community: str = ""
    state: str = "starting"
    detail: str | None = None
    last_event: datetime | None = None  # time of the newest activity received
    last_ok: datetime | None = None  # last successful contact with the platform
    rate_limit_waits: int = 0
    rate_limit_wait_s: float = 0.0
    errors: int = 0
    events: int = 0
    clock: Callable[[], datetime] = field(default=utcnow, repr=False, compare=False)
    reported: bool = field(default=False, compare=False)  # the source itself said something
    counted: bool = field(default=False, compare=False)  # the source counts its own events

    def ok(self, *, lagging: bool = False, detail: str | None = None) -> None:
        """A successful round trip; `lagging` while catching up on a backlog."""
        self.reported = True
        self.state = "lagging" if lagging else "connected"
        self.detail = detail
        self.last_ok = self.clock()

    def received(self, count: int, newest: datetime | None) -> None:
        self.reported = self.counted = True
        self.events += count
        if newest is not None and (self.last_event is None or newest > self.last_event):
            self.last_event = newest

    def waited(self, seconds: float, why: str = "") -> None:
        self.rate_limit_waits += 1
        self.rate_limit_wait_s += seconds

    def failing(self, reason: str) -> None:
        self.reported = True
        self.state = "failing"
        self.detail = reason[:300]
        self.errors += 1

    def stopped(self) -> None:
        if self.state != "failing":
            self.state = "stopped"


class HealthBoard:
    """Health of every connector of this process, by source name."""

    def __init__(self) -> None:
        self.entries: dict[str, ConnectorHealth] = {}

    def get(self, name: str) -> ConnectorHealth:
        entry = self.entries.get(name)
        if entry is None:
            entry = self.entries[name] = ConnectorHealth(name)
        return entry

    def clear(self) -> None:
        self.entries.clear()


BOARD = HealthBoard()


def health_for(name: str) -> ConnectorHealth:
    """The health entry a connector named `name` reports into."""
    return BOARD.get(name)


class Supervised(Protocol):
    """What the source runner knows of a source (cockpit.sources.SourceHealth)."""

    state: str
    last_error: str | None
    events: int
    last_event: datetime | None


@dataclass(frozen=True, slots=True)
class Expected:
    """A configured, enabled source: what the health of every one of them is kept under."""

    name: str
    type: str
    community: str


def merged(
    sources: Iterable[Expected], board: HealthBoard, supervised: Mapping[str, Supervised]
) -> list[ConnectorHealth]:
    """Each source's health as the connector reported it, corrected by its supervisor.

    A source that crashed is failing whatever it last said; one that reports nothing of its
    own (the demo, a tailed file) is connected while its task runs.
    """
    out = []
    for src in sources:
        entry = board.get(src.name)
        entry.type, entry.community = src.type, src.community
        sup = supervised.get(src.name)
        if sup is not None and sup.state == "failing" and entry.state != "failing":
            entry.failing(sup.last_error or "failed")
        elif sup is not None and sup.state == "running" and not entry.reported:
            entry.state, entry.detail = "connected", "running"
        if sup is not None and not entry.counted:  # counted for it by the runner, every time
            entry.events, entry.last_event = sup.events, sup.last_event
        out.append(entry)
    return out


STALE_AFTER = timedelta(seconds=60)  # health not rewritten for this long: its writer is gone


@dataclass(frozen=True, slots=True)
class Summary:
    """The header's word on the sources: text, and the worst state for its colour."""

    text: str
    worst: str  # connected | lagging | failing | stale | none


def summarize(
    states: Iterable[tuple[str, datetime]], now: datetime, stale_after: timedelta = STALE_AFTER
) -> Summary:
    """(state, updated) per source -> '3 sources', '1 failing', 'collector silent 5m'."""
    rows = list(states)
    if not rows:
        return Summary("no sources", "none")
    newest = max(updated for _, updated in rows)
    if now - newest > stale_after:
        return Summary(f"collector silent {age(to_ms(newest), to_ms(now))}", "stale")
    counts = {state: sum(1 for s, _ in rows if s == state) for state in STATES}
    for state in ("failing", "lagging", "stopped"):
        if counts[state]:
            return Summary(f"{counts[state]} {state}", state)
    n = len(rows)
    return Summary(f"{n} source{'s' * (n != 1)}", "connected")
