"""Connector health as the connectors see it, kept where the TUI and alerts can read it.

Connectors report into a `ConnectorHealth` (by source name, from the process-wide
`BOARD`); the collector writes the board to the store every few seconds and when it stops
(`cockpit.store.sqlite_collect`), so a TUI attached to the same store shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cockpit.timeutil import utcnow

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

    def ok(self, *, lagging: bool = False, detail: str | None = None) -> None:
        """A successful round trip; `lagging` while catching up on a backlog."""
        self.state = "lagging" if lagging else "connected"
        self.detail = detail
        self.last_ok = self.clock()

    def received(self, count: int, newest: datetime | None) -> None:
        self.events += count
        if newest is not None and (self.last_event is None or newest > self.last_event):
            self.last_event = newest

    def waited(self, seconds: float, why: str = "") -> None:
        self.rate_limit_waits += 1
        self.rate_limit_wait_s += seconds

    def failing(self, reason: str) -> None:
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
