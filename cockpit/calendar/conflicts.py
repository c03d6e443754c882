"""Conflicts: two occurrences overlapping in time for the same host or the same audience."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cockpit.calendar.model import EventKind, Occurrence


@dataclass(frozen=True, slots=True)
class Conflict:
    first: Occurrence
    second: Occurrence
    reason: str  # "same host alice", "same audience region:Europe/Berlin", ...


def _host(occ: Occurrence) -> str | None:
    return occ.host.strip().casefold() if occ.host and occ.host.strip() else None


def find_conflicts(occurrences: Sequence[Occurrence]) -> list[Conflict]:
    """Overlapping pairs sharing a host, a channel or a target region (shifts are not events).

    A sweep over occurrences sorted by start: each is compared only with those still running.
    """
    events = sorted(
        (o for o in occurrences if o.event.kind is EventKind.EVENT), key=lambda o: o.start
    )
    found: list[Conflict] = []
    running: list[Occurrence] = []
    for occ in events:
        running = [r for r in running if r.end > occ.start]
        for other in running:
            if other.uid == occ.uid and other.recurrence_id == occ.recurrence_id:
                continue
            reason = _shared(other, occ)
            if reason:
                found.append(Conflict(other, occ, reason))
        running.append(occ)
    return found


def _shared(a: Occurrence, b: Occurrence) -> str | None:
    host = _host(a)
    if host is not None and host == _host(b):
        return f"same host {a.host}"
    common = sorted(a.audience() & b.audience())
    if common:
        return "same audience " + ", ".join(c.split(":", 1)[1] for c in common)
    return None
