"""The moderation write operations, one place for the CLI and the TUI: who may act, submit a
confirmed plan as a case, wait for the token holder's outcome (withdrawing what nobody took
in time, so it never runs later by surprise), revert, notes."""

from __future__ import annotations

import getpass
import time
from datetime import datetime, timedelta

from cockpit.config import Config
from cockpit.errors import CockpitError
from cockpit.moderation.repository import Case, CaseQuery, NewCase, NewStatus
from cockpit.moderation.targets import Plan, Planned, Refused
from cockpit.plugin_api import TEMPORARY, ActionTarget
from cockpit.store.base import Store
from cockpit.timeutil import parse_duration, utcnow
from cockpit.watch import ChangeWatch

MAX_TIMEOUT = {"discord": timedelta(days=28)}  # the platform's own ceiling
REVERSE = {"ban": "unban", "timeout": "unban", "lock": "unlock", "slowmode": "slowmode"}
MAX_REASON = 512  # Discord's audit-log reason limit


def operator_name(config: Config) -> str:
    """Who acts: `[moderation] operator`, else the OS user."""
    name = config.moderation.operator
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def authorize(config: Config, operator: str) -> None:
    allowed = config.moderation.moderators
    if allowed and operator not in allowed:
        raise Refused(
            f"{operator!r} may not act: not in [moderation] moderators ({', '.join(allowed)})"
        )


def duration_until(
    action: str, value: str | None, now: datetime, platforms: list[str]
) -> datetime | None:
    """`--for` as an end time; refused for actions that are not temporary, and past a
    platform's own limit (a Discord timeout lasts 28 days at most)."""
    if value is None:
        if action == "timeout":
            raise Refused("timeout needs --for DURATION (e.g. 10m, 1d, 7d)")
        return None
    if action not in TEMPORARY:
        raise Refused(f"{action} is not temporary: --for does not apply")
    try:
        span = parse_duration(value)
    except ValueError as exc:
        raise Refused(f"--for: {exc}") from None
    if span <= timedelta(0):
        raise Refused("--for: the duration must be positive")
    if action == "timeout":
        for p in platforms:
            ceiling = MAX_TIMEOUT.get(p)
            if ceiling is not None and span > ceiling:
                raise Refused(f"--for {value}: a {p} timeout lasts at most {ceiling.days} days")
    return now + span


def check_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise Refused("a reason is required (--reason TEXT): it goes in the case log")
    if len(text) > MAX_REASON:
        raise Refused(f"--reason is {len(text)} characters; at most {MAX_REASON}")
    return " ".join(text.split())


MAX_NOTE = 2000


async def add_note(
    store: Store, config: Config, member_id: int, text: str, operator: str, now: datetime
) -> str:
    """A moderator's note on a member (who and when), the one write the CLI and the member
    view share; returns the note as stored (whitespace folded)."""
    authorize(config, operator)
    clean = " ".join(text.split())
    if not clean:
        raise Refused("the note is empty")
    if len(clean) > MAX_NOTE:
        raise Refused(f"the note is {len(clean)} characters; at most {MAX_NOTE}")
    if await store.member(member_id) is None:
        raise CockpitError(f"no member #{member_id}")
    await store.moderation.add_note(member_id, clean, operator, now)
    return clean


CASE_EVENTS = ("note", "appealed", "overturned")


async def case_event(
    store: Store, config: Config, number: int, kind: str, text: str, operator: str, now: datetime
) -> Case:
    """A note, an appeal or an overturn on a case (a note also goes on its member's record):
    the one write `cockpit cases note|appeal|overturn` and the Cases screen share."""
    if kind not in CASE_EVENTS:
        raise CockpitError(f"not a case event: {kind!r}")
    clean = " ".join(text.split())
    if not clean:
        raise Refused(f"{kind}: the text is empty")
    if len(clean) > MAX_NOTE:
        raise Refused(f"the {kind} is {len(clean)} characters; at most {MAX_NOTE}")
    case = await store.moderation.case(number)
    if case is None:
        raise CockpitError(f"no case {number}")
    if kind == "note":
        authorize(config, operator)
    await store.moderation.add_event(number, kind, operator, clean, now)
    if kind == "note" and case.member_id is not None:
        await add_note(store, config, case.member_id, f"case {number}: {clean}", operator, now)
    found = await store.moderation.case(number)
    assert found is not None
    return found


async def submit(
    store: Store,
    config: Config,
    plan: Plan,
    *,
    reason: str,
    operator: str,
    now: datetime,
    until: datetime | None = None,
    text: str | None = None,
    force: bool = False,
    alert_id: int | None = None,
    slowmode_seconds: int | None = None,
    delete_history_s: int | None = None,
    reverts: int | None = None,
    status: NewStatus = "pending",
    origin: str | None = None,
    role: str | None = None,
) -> Case:
    """Record the confirmed plan as a case; the token holder picks it up. A rule's case
    (operator "rule:NAME", set in cockpit.toml) may start proposed or as a dry run, and
    carries its `origin`, so asking again returns the same case."""
    if not operator.startswith("rule:"):
        authorize(config, operator)
    if plan.protected and not force:
        raise Refused(f"{plan.protected[0]}: not actioned without --force")
    if plan.action in ("say", "warn") and not (text or "").strip():
        raise Refused(f"{plan.action} needs the text to post (--text)")
    if plan.action in ("role_add", "role_remove") and not (role or "").strip():
        raise Refused(f"{plan.action} needs the platform's role id (--role ID)")
    if plan.action == "slowmode" and slowmode_seconds is None:
        slowmode_seconds = int((until - now).total_seconds()) if until else 30
    new = NewCase(
        community=plan.community,
        action=plan.action,
        reason=check_reason(reason),
        operator=operator,
        label=plan.label,
        targets=[p.target for p in plan.steps],
        step_members=[p.member_id for p in plan.steps],
        member_id=plan.member_id,
        person_id=plan.person_id,
        alert_id=alert_id if alert_id is not None else plan.alert_id,
        activity_ids=plan.activity_ids,
        until=until,
        text=text,
        slowmode_seconds=slowmode_seconds,
        delete_history_s=delete_history_s,
        reverts=reverts,
        status=status,
        origin=origin,
        role=role.strip() if role else None,
    )
    return await store.moderation.submit(new, now)


async def decide_alert(
    store: Store, config: Config, alert_id: int, confirm: bool, operator: str, now: datetime
) -> list[Case]:
    """Confirm or reject what a rule proposed for an alert (`cockpit alerts act|reject ID`,
    `y`/`n` in the Alerts pane). Confirmed steps go to the token holder; two operators
    deciding at once: the first wins, the second is told."""
    authorize(config, operator)
    if await store.alerts.alert(alert_id) is None:
        raise CockpitError(f"no alert {alert_id}")
    proposed = await store.moderation.cases(CaseQuery(alert_id=alert_id, states=("proposed",)))
    if not proposed:
        done = await store.moderation.cases(CaseQuery(alert_id=alert_id, limit=5))
        said = "; ".join(f"case {c.number} {c.action}: {c.state}" for c in done)
        raise Refused(
            f"alert {alert_id} has no proposed action" + (f" (its cases: {said})" if said else "")
        )
    decided: list[Case] = []
    for case in sorted(proposed, key=lambda c: c.number):
        if await store.moderation.decide(case.number, confirm, operator, now):
            found = await store.moderation.case(case.number)
            assert found is not None
            decided.append(found)
    if not decided:
        raise Refused(f"alert {alert_id}: someone decided its proposal first")
    return decided


async def wait_for_outcome(store: Store, number: int, timeout: float, operator: str) -> Case:
    """Wait until every step has an outcome; what nobody claimed in `timeout` seconds is
    withdrawn (and says so). A step claimed but not finished keeps being waited for, up to
    the same time again: a platform call under way is never abandoned half done."""
    deadline = time.monotonic() + timeout
    hard = deadline + timeout
    async with ChangeWatch(store) as watch:
        while True:
            case = await store.moderation.case(number)
            if case is None:
                raise CockpitError(f"case {number} vanished from the store")
            if case.state != "pending":
                return case
            left = deadline - time.monotonic()
            if left <= 0:
                claimed = any(s.status == "claimed" for s in case.steps)
                if not claimed and await store.moderation.withdraw(
                    number, operator, f"nothing took the request within {timeout:g} s", utcnow()
                ):
                    found = await store.moderation.case(number)
                    assert found is not None
                    return found
                if time.monotonic() > hard:
                    return case
                left = min(1.0, hard - time.monotonic())
            await watch.wait(min(left, 0.2))  # a notice sent before LISTEN took hold: 0.2 s late


async def revert(
    store: Store, config: Config, number: int, reason: str, operator: str, now: datetime
) -> Case:
    """Undo what can be undone (unban, lift a timeout, unlock, slow mode off) as a new case
    linked to the first; a delete cannot be undone."""
    case = await store.moderation.case(number)
    if case is None:
        raise CockpitError(f"no case {number}")
    undo = REVERSE.get(case.action)
    if undo is None:
        raise Refused(f"case {number} ({case.action}) cannot be undone on the platforms")
    if case.closed:
        raise Refused(f"case {number} is {case.closed} already")
    done = [s for s in case.steps if s.status == "done"]
    if not done:
        raise Refused(f"case {number} is {case.state}: nothing took effect to undo")
    plan = Plan(
        undo,
        case.community,
        case.label,
        member_id=case.member_id,
        person_id=case.person_id,
    )
    for s in done:
        t = s.target
        plan.steps.append(
            Planned(
                ActionTarget(t.platform, t.community, t.user_id, t.channel_id, (), t.label),
                case.member_id,
                f"{undo} {t.label}",
            )
        )
    new = await submit(
        store,
        config,
        plan,
        reason=reason,
        operator=operator,
        now=now,
        force=True,
        slowmode_seconds=0 if undo == "slowmode" else None,
        reverts=number,
    )
    # the unlock puts back exactly what the lock found: hand the lock's saved state over
    await store.moderation.close(number, "reverted", operator, f"by case {new.number}", now)
    return new
