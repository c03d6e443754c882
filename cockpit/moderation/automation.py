"""Rules that act: when an alert of a rule carrying `actions` fires, its actions become
cases, with operator "rule:NAME".

- `mode = "propose"` (the default): the case waits, `proposed`, until on-call confirms it
  (`cockpit alerts act ID`, `y` in the Alerts pane) or rejects it; a page says what is
  proposed and how to answer.
- `mode = "auto"`: the case goes to the token holder at once; a page says what was done and
  how to revert it. Past a cap (the rule's `auto_cap`, and `[moderation] auto_cap` for all
  rules together) the case is proposed instead, and the page says the cap was reached.
- `mode = "dry-run"`: the case is recorded as what would have run; nothing runs.

Protected members (staff, `[moderation] protected`, bots) are left out of every plan, and
their messages are not deleted. Each (alert, action) asks once: the case carries an origin
the store keeps unique, so a restart or a second evaluation never acts twice. This runs in
the process that evaluates alerts (under the alert lease when several collectors share a
store); the platform calls are made by whoever holds the tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from cockpit.alerts.config import AnyRule, AutoCap, Receiver, RuleAction
from cockpit.alerts.events import Event
from cockpit.alerts.grouping import Outgoing, routed
from cockpit.alerts.records import AlertRow
from cockpit.config import Config
from cockpit.errors import CockpitError
from cockpit.moderation import service
from cockpit.moderation.alert_targets import messages, resolve_alert
from cockpit.moderation.ladder import Ladder
from cockpit.moderation.repository import Case, CaseQuery, NewStatus
from cockpit.moderation.targets import Plan, Planned, Refused
from cockpit.moderation.welcomes import Welcomer
from cockpit.plugin_api import ActionTarget
from cockpit.registry import Registry
from cockpit.store.base import Store
from cockpit.tasks import cancel_all
from cockpit.textsafe import inert_line
from cockpit.timeutil import format_duration, to_ms, utcnow

log = logging.getLogger(__name__)
REASK_MS = 30_000  # an automatic follow-up on new evidence, at most this often per alert
MAX_COVERED = 50_000  # remembered targets per action
STALE_MS = 15 * 60 * 1000  # an alert older than this is not acted on automatically
STATUS: dict[str, NewStatus] = {"propose": "proposed", "auto": "pending", "dry-run": "dry-run"}
DEFAULT_WARN = "Please keep to the community's rules: this message was flagged by the moderators."


@dataclass(frozen=True)
class Taken:
    """A case a rule made for an alert, with its plan (for the page) and why it waits."""

    case: Case
    plan: Plan
    capped: str | None


def origin_of(rule: str, alert_id: int, index: int, upto: int) -> str:
    """Who asks, once: the rule's action `index` on the alert as it stood with `upto` its
    newest activity (an alert that keeps gathering evidence asks again for what is new)."""
    return f"rule:{rule}:alert:{alert_id}:{index}:{upto}"


class Automation:
    """Called by the alert service after each evaluation, with the rules in force."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        config: Config,
        receivers: Sequence[Receiver] = (),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.registry = registry
        self.config = config
        self.receivers = list(receivers)
        self.clock = clock
        self.asked: set[str] = set()  # origins handled by this process (the store has the rest)
        self.tasks: set[asyncio.Task[None]] = set()
        self.paged: set[int] = set()  # alerts whose first cases were paged
        self.closed = False
        self.welcomer = Welcomer(store, registry, config)
        self.ladder = Ladder(store, registry, config)
        # what rules already asked for, by action: (platform, user id) for member actions,
        # (platform, message id) for deletes; two alerts about one wave (its text and its
        # link) never ask twice for the same thing
        self.covered: dict[str, dict[tuple[str, str], int]] = {}

    async def close(self) -> None:
        self.closed = True
        await cancel_all(list(self.tasks))

    def observe(self, events: Sequence[Event]) -> None:
        """New activities as the engine saw them: joins wait here for their welcome."""
        self.welcomer.observe(events, to_ms(self.clock()))

    async def after_evaluate(self, rules: Sequence[AnyRule]) -> int:
        """Turn firing alerts of rules with actions into cases, greet who joined; returns
        how many cases were made."""
        acting = {r.name: r for r in rules if r.actions}
        made = await self.ladder.run(self.clock())
        if not acting and not self.welcomer.busy:
            return made
        firing = await self.store.alerts.alerts(states=("firing",), limit=1000)
        made += await self.welcomer.run(rules, firing, self.clock())
        for alert in firing:
            rule = acting.get(alert.rule)
            if rule is None:
                continue
            taken: list[Taken] = []
            for index, act in enumerate(rule.actions):
                upto = max(alert.activity_ids, default=0)
                origin = origin_of(rule.name, alert.id, index, upto)
                if origin in self.asked:
                    continue
                if await self.wait_for_earlier(rule, alert, act):
                    continue  # asked again on a later evaluation
                self.asked.add(origin)
                try:
                    found = await self.act(rule, alert, act, origin)
                except CockpitError as exc:
                    log.warning("rule %s on alert %d: %s: %s", rule.name, alert.id, act.do, exc)
                    continue
                if found is not None:
                    taken.append(found)
            made += len(taken)
            if taken and alert.id not in self.paged:  # later evidence: the pane shows it
                self.paged.add(alert.id)
                await self.tell(alert, taken)
        return made

    async def wait_for_earlier(self, rule: AnyRule, alert: AlertRow, act: RuleAction) -> bool:
        """New evidence on an alert this rule already acted on waits while that case is still
        proposed (one proposal per alert and action, not one per message), and, in auto
        mode, for REASK_MS after it: what arrives meanwhile goes in one follow-up."""
        earlier = [
            c
            for c in await self.store.moderation.cases(CaseQuery(alert_id=alert.id, limit=50))
            if c.operator == f"rule:{rule.name}" and c.action == act.do
        ]
        if not earlier:
            return False
        latest = max(earlier, key=lambda c: c.number)
        if latest.state in ("proposed", "dry-run"):
            return True
        return to_ms(self.clock()) - to_ms(latest.created) < REASK_MS

    async def act(
        self, rule: AnyRule, alert: AlertRow, act: RuleAction, origin: str
    ) -> Taken | None:
        """One of the rule's actions on this alert, as a case (None: nothing to do, or the
        case was made before, by this process or one before it)."""
        try:
            plan = await resolve_alert(self.store, self.registry, self.config, act.do, alert.id)
        except Refused as exc:
            log.info("rule %s on alert %d: nothing to %s (%s)", rule.name, alert.id, act.do, exc)
            return None
        plan = self.uncovered(plan)
        if not plan.steps:
            log.info("rule %s on alert %d: %s already asked for", rule.name, alert.id, act.do)
            return None
        now = self.clock()
        status = STATUS[rule.mode]
        capped = await self.cap_reached(rule, len(plan.steps), now) if status == "pending" else None
        fired = alert.fired_at or alert.active_at
        if status == "pending" and not capped and to_ms(now) - fired > STALE_MS:
            capped = (  # an old alert found on a restart: a person decides, not the rule
                f"the alert fired {(to_ms(now) - fired) // 60000} minutes ago; "
                "proposed rather than run"
            )
        if capped:
            status = "proposed"
        reason = service.check_reason(f"rule {rule.name}: {inert_line(alert.summary)}"[:500])
        case = await service.submit(
            self.store,
            self.config,
            plan,
            reason=reason,
            operator=f"rule:{rule.name}",
            now=now,
            until=now + act.for_ if act.for_ is not None else None,
            text=(act.text or DEFAULT_WARN) if act.do == "warn" else None,
            alert_id=alert.id,
            status=status,
            origin=origin,
        )
        if to_ms(case.created) < to_ms(now):  # made before: its page went out then
            return None
        seen = self.covered.setdefault(case.action, {})
        for key in _keys(case.action, [st.target for st in case.steps]):
            seen[key] = case.number
        if len(seen) > MAX_COVERED:  # a long-running collector: forget the oldest half
            for key in list(seen)[: len(seen) // 2]:
                del seen[key]
        log.info("rule %s: case %d %s %s (%s)", rule.name, case.number, act.do, plan.label, status)
        return Taken(case, plan, capped)

    def uncovered(self, plan: Plan) -> Plan:
        """The plan without what earlier rule cases of this process already asked for."""
        seen = self.covered.get(plan.action)
        if not seen:
            return plan
        steps: list[Planned] = []
        for step in plan.steps:
            t = step.target
            if plan.action == "delete":
                left = tuple(m for m in t.message_ids if (t.platform, m) not in seen)
                if len(left) == len(t.message_ids):
                    steps.append(step)
                elif left:
                    where = t.label.partition(" in ")[2] or t.channel_id or "?"
                    label = f"{messages(len(left))} in {where}"
                    target = replace(t, message_ids=left, label=label)
                    steps.append(Planned(target, None, f"delete {label}"))
            elif (t.platform, t.user_id or "") not in seen:
                steps.append(step)
        return replace(plan, steps=steps)

    async def tell(self, alert: AlertRow, taken: list[Taken]) -> None:
        """One page per alert: what is proposed (and why, when a cap held it back) now; what
        ran automatically once the token holder has answered."""
        waiting = [t for t in taken if t.case.state == "proposed"]
        running = [t for t in taken if t.case.state == "pending"]
        if waiting:
            await self.page(alert, waiting[0].case, proposed_page(alert, waiting))
        if running and not self.closed and any(routed(alert, r) for r in self.receivers):
            task = asyncio.create_task(self.page_outcome(alert, running))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def cap_reached(self, rule: AnyRule, steps: int, now: datetime) -> str | None:
        """Why this automatic action must wait for a person, if a cap says so."""
        caps: list[tuple[str, AutoCap, str | None]] = [
            ("all rules", self.config.moderation.auto_cap, None)
        ]
        if rule.auto_cap is not None:
            caps.insert(0, (f"rule {rule.name}", rule.auto_cap, f"rule:{rule.name}"))
        for who, cap, operator in caps:
            used = await self.store.moderation.automatic_steps(now - cap.within, operator)
            if used + steps > cap.count:
                return (
                    f"cap reached: {who} took {used} automatic actions in the last "
                    f"{format_duration(cap.within)} (at most {cap.count}); this one waits for you"
                )
        return None

    async def page_outcome(self, alert: AlertRow, running: list[Taken]) -> None:
        """Page what the automatic actions did once the token holder has answered."""
        done: list[Taken] = []
        for t in running:
            case = t.case
            with contextlib.suppress(CockpitError):
                case = await service.wait_for_outcome(
                    self.store, case.number, self.config.moderation.wait, case.operator
                )
            done.append(Taken(case, t.plan, t.capped))
        await self.page(alert, done[0].case, done_page(alert, done))

    async def page(self, alert: AlertRow, case: Case, body: tuple[str, str, str]) -> None:
        kind, title, text = body
        items = [
            Outgoing(
                r.name, f"case:{case.number}:{kind}", notify_type(kind), title, text, [alert.id]
            )
            for r in self.receivers
            if routed(alert, r)
        ]
        if items:
            await self.store.alerts.enqueue_once(items, to_ms(self.clock()))


def _keys(action: str, targets: Sequence[ActionTarget]) -> list[tuple[str, str]]:
    if action == "delete":
        return [(t.platform, m) for t in targets for m in t.message_ids]
    return [(t.platform, t.user_id or "") for t in targets]


def notify_type(kind: str) -> str:
    return {"capped": "failure", "proposed": "warning"}.get(kind, "info")


def plan_lines(plan: Plan) -> list[str]:
    lines = [f"    {s.target.platform:<10} {s.line}" for s in plan.steps]
    lines += [f"    left out: {why}" for why in plan.skipped]
    return lines


def proposed_page(alert: AlertRow, taken: list[Taken]) -> tuple[str, str, str]:
    where = inert_line(alert.community)
    capped = next((t.capped for t in taken if t.capped), None)
    kind = "capped" if capped else "proposed"
    head = "[CAPPED]" if capped else "[PROPOSED]"
    lines = [f"#{alert.id} {alert.rule}: {inert_line(alert.summary)}"]
    if capped:
        lines.append(f"    {capped}")
    for t in taken:
        lines.append(
            f"    proposed (case {t.case.number}): {t.case.action} {inert_line(t.case.label)}"
        )
        lines += plan_lines(t.plan)
    lines.append(
        f"    confirm: cockpit alerts act {alert.id} (or `y` on it in the Alerts pane); "
        f"reject: cockpit alerts reject {alert.id} (`n`)"
    )
    actions = "+".join(t.case.action for t in taken)
    return kind, f"{head} {alert.rule}: {actions} ({where})", "\n".join(lines)


def done_page(alert: AlertRow, done: list[Taken]) -> tuple[str, str, str]:
    where = inert_line(alert.community)
    lines = [f"#{alert.id} {alert.rule}: {inert_line(alert.summary)}"]
    for t in done:
        case = t.case
        lines.append(f"    done automatically (case {case.number}): {case.action} {case.state}")
        for s in case.steps:
            lines.append(f"    {s.target.platform:<10} {s.status:<9} {inert_line(s.detail)}")
        lines += [f"    left out: {why}" for why in t.plan.skipped]
        if case.action in service.REVERSE:
            lines.append(
                f"    revert: cockpit cases revert {case.number} (or `r` in the Cases view)"
            )
        else:
            lines.append("    a delete cannot be undone on the platforms")
    actions = "+".join(f"{t.case.action} {t.case.state}" for t in done)
    return "auto", f"[AUTO] {alert.rule}: {actions} ({where})", "\n".join(lines)
