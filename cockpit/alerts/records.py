"""Alerts, silences and outbox entries as read back from the store, and silence matchers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cockpit.timeutil import from_ms, iso_z

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


def _iso(ms: int | None) -> str | None:
    return iso_z(from_ms(ms)) if ms is not None else None


@dataclass(frozen=True, slots=True)
class Matcher:
    """Alertmanager's label matcher: `name=value`, `!=`, `=~regex`, `!~regex` (regex anchored)."""

    name: str
    op: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Matcher:
        m = _MATCHER.match(text)
        if not m:
            raise ValueError(
                f"matcher {text!r}: expected label=value, label!=value, label=~regex or label!~regex"
            )
        name, op, value = m.group(1), m.group(2), m.group(3)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"matcher {text!r}: bad regex: {exc}") from None
        return cls(name, op, value)

    def matches(self, labels: dict[str, str]) -> bool:
        have = labels.get(self.name, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        found = re.fullmatch(self.value, have) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "op": self.op, "value": self.value}


@dataclass(frozen=True, slots=True)
class SilenceRow:
    id: int
    matchers: tuple[Matcher, ...]
    starts: int
    ends: int
    comment: str
    created_by: str
    created: int

    def active(self, now: int) -> bool:
        return self.starts <= now < self.ends

    def silences(self, labels: dict[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def state(self, now: int) -> str:
        return "active" if self.active(now) else ("pending" if now < self.starts else "expired")

    def to_json(self, now: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "matchers": [str(m) for m in self.matchers],
            "starts": _iso(self.starts),
            "ends": _iso(self.ends),
            "state": self.state(now),
            "comment": self.comment,
            "created_by": self.created_by,
        }


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    fingerprint: str
    rule: str
    community: str
    severity: str
    state: str  # pending | firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    notify: tuple[str, ...]
    summary: str
    value: float
    count: int
    activity_ids: tuple[int, ...]
    active_at: int
    fired_at: int | None
    resolved_at: int | None
    updated: int
    acked_at: int | None
    acked_by: str | None
    resolved_by: str | None
    silenced_by: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "community": self.community,
            "severity": self.severity,
            "state": self.state,
            "labels": self.labels,
            "annotations": self.annotations,
            "summary": self.summary,
            "value": self.value,
            "count": self.count,
            "activity_ids": list(self.activity_ids),
            "active_at": _iso(self.active_at),
            "fired_at": _iso(self.fired_at),
            "resolved_at": _iso(self.resolved_at),
            "acked_at": _iso(self.acked_at),
            "acked_by": self.acked_by,
            "resolved_by": self.resolved_by,
            "silenced_by": list(self.silenced_by),
        }


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    receiver: str
    group_key: str
    notify_type: str
    title: str
    body: str
    attempts: int
    state: str  # queued | sending | sent | failed
    created: int
    next_attempt: int
    last_error: str | None
    sent_at: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "receiver": self.receiver,
            "type": self.notify_type,
            "title": self.title,
            "state": self.state,
            "attempts": self.attempts,
            "created": _iso(self.created),
            "next_attempt": _iso(self.next_attempt),
            "sent_at": _iso(self.sent_at),
            "last_error": self.last_error,
        }


@dataclass(frozen=True, slots=True)
class RuleStats:
    """How one rule has behaved, from the stored alerts: for the Rules view."""

    rule: str
    open_state: str | None  # "firing", "pending", or None when nothing is open
    silenced: bool  # an open alert of it is silenced now
    last_fired: int | None  # ms
    fires_24h: int
    fires_7d: int


@dataclass(frozen=True, slots=True)
class RuleChange:
    """Who changed a rule (enabled, disabled, a threshold), when, and how."""

    id: int
    rule: str
    change: str  # e.g. "disabled", "joins: 10 -> 15"
    by: str
    at: int  # ms

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "change": self.change,
            "by": self.by,
            "at": iso_z(from_ms(self.at)),
        }
