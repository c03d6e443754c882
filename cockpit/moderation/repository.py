"""The case log's data: cases, one step per platform, their events, notes and effects.

A case is what one operator (or a rule) asked: an action on a target, with a reason. It
has one STEP per platform it runs on; each step is claimed by the process holding that
platform's token BEFORE the call and gets its outcome AFTER, so it runs at most once across
crashes and restarts. A step left claimed without an outcome is checked against the
platform (`Actor.verify`), never repeated blindly. The case's state follows from its steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, get_args

from cockpit.plugin_api import ActionCall, ActionOutcome, ActionTarget
from cockpit.timeutil import iso_z

StepStatus = Literal[
    "proposed",
    "pending",
    "claimed",
    "done",
    "failed",
    "unknown",
    "withdrawn",
    "rejected",
    "dry-run",
]
FINAL: frozenset[str] = frozenset({"done", "failed", "unknown", "withdrawn", "rejected", "dry-run"})
# a rule's case starts `proposed` (on-call confirms: its steps become pending, or rejects),
# `pending` (by hand, or a rule in auto mode) or `dry-run` (recorded, never run)
NewStatus = Literal["pending", "proposed", "dry-run"]
CaseState = Literal[
    "proposed",
    "pending",
    "done",
    "partial",
    "failed",
    "unknown",
    "withdrawn",
    "rejected",
    "dry-run",
    "expired",
    "reverted",
]
STATES: tuple[str, ...] = get_args(CaseState)
EVENT_KINDS = frozenset(
    {
        "requested",
        "claimed",
        "done",
        "failed",
        "unknown",
        "verified",
        "expired",
        "reverted",
        "note",
        "appealed",
        "overturned",
        "withdrawn",
        "proposed",
        "confirmed",
        "rejected",
        "dry-run",
    }
)


@dataclass(frozen=True, slots=True)
class Step:
    """One platform's part of a case."""

    id: int
    case: int
    target: ActionTarget
    status: StepStatus
    detail: str = ""
    ref: str | None = None
    restore: Mapping[str, Any] | None = None
    lifts_itself: bool = False
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    finished_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        t = self.target
        return {
            "platform": t.platform,
            "user_id": t.user_id,
            "channel_id": t.channel_id,
            "message_ids": list(t.message_ids),
            "status": self.status,
            "detail": self.detail,
            "ref": self.ref,
            "claimed_by": self.claimed_by,
            "finished_at": iso_z(self.finished_at) if self.finished_at else None,
        }


@dataclass(frozen=True, slots=True)
class CaseEvent:
    kind: str
    at: datetime
    who: str
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "at": iso_z(self.at), "who": self.who, "text": self.text}


@dataclass(frozen=True, slots=True)
class NewCase:
    """What an operator confirmed: created as one case with a step per target."""

    community: str
    action: str
    reason: str
    operator: str
    label: str
    targets: Sequence[ActionTarget]
    member_id: int | None = None
    person_id: int | None = None
    alert_id: int | None = None
    activity_ids: Sequence[int] = ()
    until: datetime | None = None
    text: str | None = None
    delete_history_s: int | None = None
    slowmode_seconds: int | None = None
    reverts: int | None = None  # the case this one undoes (`cases revert N`)
    step_members: Sequence[int | None] = ()  # the member row of each target, when known
    status: NewStatus = "pending"  # how its steps start
    origin: str | None = None  # who asked, once: a rule's "rule:NAME:alert:N:i" never twice
    role: str | None = None  # role_add/role_remove: the platform role (one platform a case)


@dataclass(frozen=True, slots=True)
class Case:
    number: int
    community: str
    action: str
    reason: str
    operator: str
    label: str
    created: datetime
    state: CaseState
    steps: tuple[Step, ...] = ()
    events: tuple[CaseEvent, ...] = ()
    member_id: int | None = None
    person_id: int | None = None
    alert_id: int | None = None
    activity_ids: tuple[int, ...] = ()
    until: datetime | None = None
    text: str | None = None
    delete_history_s: int | None = None
    slowmode_seconds: int | None = None
    reverts: int | None = None
    closed: str | None = None  # "expired" / "reverted" once the action was lifted
    origin: str | None = None
    role: str | None = None

    def call(self, step: Step) -> ActionCall:
        """The platform call of one step, with the key that identifies it across retries."""
        return ActionCall(
            action=self.action,
            target=step.target,
            reason=self.reason,
            key=f"cockpit-case-{self.number}-{step.target.platform}-{step.id}",
            operator=self.operator,
            until=self.until,
            text=self.text,
            delete_history=(
                timedelta(seconds=self.delete_history_s) if self.delete_history_s else None
            ),
            slowmode_seconds=self.slowmode_seconds,
            restore=step.restore,
            role=self.role,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.number,
            "community": self.community,
            "action": self.action,
            "target": self.label,
            "member_id": self.member_id,
            "person_id": self.person_id,
            "reason": self.reason,
            "operator": self.operator,
            "state": self.state,
            "created": iso_z(self.created),
            "until": iso_z(self.until) if self.until else None,
            "alert_id": self.alert_id,
            "activity_ids": list(self.activity_ids),
            "reverts": self.reverts,
            "origin": self.origin,
            "role": self.role,
            "steps": [s.to_json() for s in self.steps],
            "events": [e.to_json() for e in self.events],
        }


@dataclass(frozen=True, slots=True)
class Note:
    member_id: int
    text: str
    who: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Restriction:
    """A member's platform account under a timeout, mute or ban, from a done case."""

    member_id: int
    platform: str
    kind: str
    until: datetime | None
    case: int


@dataclass(frozen=True, slots=True)
class CaseQuery:
    member_ids: Sequence[int] = ()
    states: Sequence[str] = ()
    community: str | None = None
    limit: int = 100
    after: int | None = None  # cases with a number above this (export pages)
    alert_id: int | None = None  # only the cases answering this alert
    posts: bool = True  # False: leave out what rules post or reward (welcomes, announcements,
    # role rewards and welcome roles)


@dataclass(frozen=True, slots=True)
class RoleStep:
    """One platform step of a role_add/role_remove case: what role rewards replay to know
    which roles they gave (the platforms are not asked)."""

    case: int
    action: str
    role: str
    platform: str
    user_id: str
    status: str
    member_id: int | None
    created: datetime


@dataclass
class Claimed:
    case: Case
    step: Step
    stale: bool = False  # claimed earlier and never finished: verify before anything


def state_of(statuses: Sequence[str], closed: str | None) -> CaseState:
    """A case's state from its steps: partial when some platforms did and some did not."""
    if closed in ("expired", "reverted"):
        return closed  # type: ignore[return-value]
    if not statuses:
        return "pending"
    if any(s == "proposed" for s in statuses):
        return "proposed"
    if all(s == "dry-run" for s in statuses):
        return "dry-run"
    if all(s == "rejected" for s in statuses):
        return "rejected"
    live = [s for s in statuses if s not in ("withdrawn", "rejected", "dry-run")]
    if not live:
        return "withdrawn"
    if any(s in ("pending", "claimed") for s in live):
        return "pending"
    if all(s == "done" for s in live):
        return "done"
    if any(s == "done" for s in live):
        return "partial"
    if any(s == "unknown" for s in live):
        return "unknown"
    return "failed"


class ModerationRepository(Protocol):
    """What the moderation feature keeps in the store."""

    async def submit(self, new: NewCase, now: datetime) -> Case:
        """Create the case, its steps (as `new.status` says) and its first event, in one
        commit. With an `origin` already in the log, the case it made is returned and
        nothing is added: a rule asking twice (a restart, a second look) acts once."""
        ...

    async def decide(self, number: int, confirm: bool, who: str, now: datetime) -> bool:
        """Confirm (its steps become pending, for the token holder) or reject a proposed
        case; False when it was not proposed any more (someone decided first)."""
        ...

    async def automatic_steps(self, since: datetime, operator: str | None = None) -> int:
        """Platform actions rules ran on their own since then (all rules, or one
        operator such as "rule:spam"): what the caps count. Proposals, dry runs and posts
        (`say`: welcomes, announcements) do not."""
        ...

    async def case(self, number: int) -> Case | None: ...

    async def role_steps(self, community: str, operator: str) -> list[RoleStep]:
        """Every role_add/role_remove step this operator (e.g. "rule:roles") asked for in
        the community, oldest first."""
        ...

    async def cases(self, query: CaseQuery) -> list[Case]:
        """Newest first (or, with `after`, oldest first from there: an export's pages)."""
        ...

    async def claim(
        self, pairs: Sequence[tuple[str, str]], holder: str, now: datetime, limit: int = 20
    ) -> list[Claimed]:
        """Atomically take pending steps for these (platform, community) pairs: no other
        process gets the same step."""
        ...

    async def stale(self, pairs: Sequence[tuple[str, str]]) -> list[Claimed]:
        """Steps claimed but never finished (a crash between the call and its outcome)."""
        ...

    async def finish(
        self, step: Step, outcome: ActionOutcome, now: datetime, *, verified: bool = False
    ) -> Case:
        """Store a step's outcome and its effects (removed messages, restrictions) together."""
        ...

    async def withdraw(self, number: int, who: str, why: str, now: datetime) -> bool:
        """Withdraw the case's unclaimed steps; False if some step was claimed already."""
        ...

    async def add_event(
        self, number: int, kind: str, who: str, text: str, now: datetime
    ) -> None: ...

    async def close(self, number: int, how: str, who: str, text: str, now: datetime) -> bool:
        """Mark a done case expired or reverted (once: False if it was closed already)."""
        ...

    async def due(self, now: datetime, limit: int = 50) -> list[Case]:
        """Temporary actions whose time is up and that are still in effect."""
        ...

    async def add_note(self, member_id: int, text: str, who: str, now: datetime) -> None: ...

    async def notes(self, member_ids: Sequence[int]) -> list[Note]: ...

    async def restrictions(self, member_ids: Sequence[int], now: datetime) -> list[Restriction]: ...

    async def removed_messages(self, platform: str, ids: Sequence[str]) -> set[str]:
        """Of these message ids, the ones a done case deleted."""
        ...
