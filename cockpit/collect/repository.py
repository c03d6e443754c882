"""Where connector health is kept so attached cockpits and alerts read what the collector
sees: each backend implements `HealthRepository` inside `cockpit/store/`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cockpit.collect.health import ConnectorHealth
from cockpit.timeutil import iso_z


@dataclass(frozen=True, slots=True)
class HealthRow:
    """One source's health as stored (counters are since the collector started)."""

    name: str
    type: str
    community: str
    state: str
    detail: str | None
    last_event: datetime | None
    last_ok: datetime | None
    rate_limit_waits: int
    rate_limit_wait_s: float
    errors: int
    events: int
    updated: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "community": self.community,
            "state": self.state,
            "detail": self.detail,
            "last_event": iso_z(self.last_event) if self.last_event else None,
            "last_ok": iso_z(self.last_ok) if self.last_ok else None,
            "rate_limit_waits": self.rate_limit_waits,
            "rate_limit_wait_s": self.rate_limit_wait_s,
            "errors": self.errors,
            "events": self.events,
            "updated": iso_z(self.updated),
        }


class HealthRepository(Protocol):
    async def save(self, entries: Iterable[ConnectorHealth], now: datetime | None = None) -> None:
        """Upsert every entry's health by source name."""
        ...

    async def load(self, community: str | None = None) -> list[HealthRow]:
        """Every source's last reported health, by name."""
        ...
