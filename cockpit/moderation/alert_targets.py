"""Acting on an alert: on everything it points at, as one reviewed action. `delete` takes
down its messages (grouped per channel, so Discord can bulk-delete them); `timeout`, `ban`,
`kick` and `warn` act on their distinct authors. Bots and protected members are left out and
said so: an alert is evidence about a wave, not a licence to touch staff."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from cockpit.config import Config
from cockpit.errors import CockpitError
from cockpit.moderation.targets import (
    MEMBER_ACTIONS,
    Plan,
    Planned,
    Refused,
    capabilities,
    member_label,
    protected_reason,
)
from cockpit.plugin_api import ActionTarget
from cockpit.registry import Registry
from cockpit.store.base import ActivityRow, MemberRow, Store
from cockpit.textsafe import inert_line

ALERT_ACTIONS = frozenset({"delete", "timeout", "ban", "kick", "warn"})
MAX_ALERT_ACTIVITIES = 500  # an alert keeps its examples; more than this is not one wave


def messages(n: int) -> str:
    return f"{n} message" if n == 1 else f"{n} messages"


async def alert_activities(store: Store, alert_id: int) -> tuple[str, list[ActivityRow]]:
    """The alert's community and the activities it points at that are still stored."""
    alert = await store.alerts.alert(alert_id)
    if alert is None:
        raise CockpitError(f"no alert {alert_id}")
    rows: list[ActivityRow] = []
    for i in sorted(set(alert.activity_ids))[-MAX_ALERT_ACTIVITIES:]:
        for event in await store.alerts.events_between(i, i):
            row = await store.activity(event.platform, event.source_id)
            if row is not None:
                rows.append(row)
    return alert.community, rows


async def resolve_alert(
    store: Store, registry: Registry, config: Config, action: str, alert_id: int
) -> Plan:
    """The plan of ACTION on alert N: one step per channel (delete) or per author."""
    if action not in ALERT_ACTIONS:
        raise Refused(
            f"{action} does not apply to an alert (one of {', '.join(sorted(ALERT_ACTIONS))})"
        )
    community, rows = await alert_activities(store, alert_id)
    if not rows:
        raise Refused(f"alert {alert_id} points at no activity still in the store")
    caps = capabilities(registry, config)
    ids = tuple(r.id for r in rows)
    plan = Plan(action, community, f"alert {alert_id}", activity_ids=ids, alert_id=alert_id)
    if action == "delete":
        await _deletes(store, config, plan, rows, caps, community)
    else:
        await _authors(store, config, plan, rows, caps, community)
    if not plan.steps:
        raise Refused(f"alert {alert_id}: nothing to {action}: " + "; ".join(plan.skipped))
    if len(plan.steps) == 1:  # name what it acts on in the case log, not only the alert
        plan = replace(plan, label=f"{plan.steps[0].target.label} (alert {alert_id})")
    return plan


async def _deletes(
    store: Store,
    config: Config,
    plan: Plan,
    rows: list[ActivityRow],
    caps: dict[str, frozenset[str]],
    community: str,
) -> None:
    by_channel: dict[tuple[str, str], list[ActivityRow]] = defaultdict(list)
    spared: dict[int, str | None] = {}
    for r in rows:
        if r.kind.value != "message":
            continue
        if r.member_id not in spared:
            m = await store.member(r.member_id)
            spared[r.member_id] = protected_reason(m, config) if m is not None else None
            if spared[r.member_id]:
                plan.skipped.append(f"{spared[r.member_id]}: their messages are left")
        if not spared[r.member_id]:
            by_channel[(r.platform, r.channel_id)].append(r)
    for (platform, channel_id), msgs in sorted(by_channel.items()):
        gone = await store.moderation.removed_messages(platform, [m.source_id for m in msgs])
        left = [m for m in msgs if m.source_id not in gone]
        where = f"#{inert_line(msgs[0].channel)} on {platform}"
        if not left:
            plan.skipped.append(f"{where}: its {len(msgs)} messages are deleted already")
            continue
        if "delete" not in caps.get(platform, frozenset()):
            plan.skipped.append(f"{where}: {platform} cannot delete from the cockpit")
            continue
        t = ActionTarget(
            platform,
            community,
            channel_id=channel_id,
            message_ids=tuple(m.source_id for m in left),
            label=f"{messages(len(left))} in {where}",
        )
        plan.steps.append(Planned(t, None, f"delete {messages(len(left))} in {where}"))


async def _authors(
    store: Store,
    config: Config,
    plan: Plan,
    rows: list[ActivityRow],
    caps: dict[str, frozenset[str]],
    community: str,
) -> None:
    assert plan.action in MEMBER_ACTIONS
    first: dict[int, ActivityRow] = {}
    for r in rows:
        first.setdefault(r.member_id, r)
    for member_id, row in first.items():
        m: MemberRow | None = await store.member(member_id)
        if m is None:
            continue
        why = protected_reason(m, config)
        if why:
            plan.skipped.append(f"{why}: left out")
            continue
        if plan.action not in caps.get(m.platform, frozenset()):
            plan.skipped.append(f"{member_label(m)}: {m.platform} cannot {plan.action}")
            continue
        t = ActionTarget(
            m.platform,
            community,
            user_id=m.platform_user_id,
            channel_id=row.channel_id,
            message_ids=(row.source_id,) if plan.action == "warn" else (),
            label=member_label(m),
        )
        plan.steps.append(Planned(t, m.id, f"{plan.action} {member_label(m)}"))
