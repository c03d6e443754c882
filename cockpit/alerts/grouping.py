"""Which notifications go out now: Alertmanager's grouping, dedup, repeat, silences, ack,
quiet hours and escalation, as one pure decision over what the store holds.

The store runs `plan` inside one write transaction and applies its result, so a decision and
the outbox entries it produces are committed together: a restart never re-sends what the
notification log already records, and never loses what was decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

from cockpit.alerts.config import AlertingSettings, Receiver
from cockpit.alerts.records import AlertRow, SilenceRow
from cockpit.textsafe import inert_line
from cockpit.timeutil import from_ms, to_ms, zone

GroupId = tuple[str, str]  # receiver name, group key


def _ms(d: timedelta) -> int:
    return int(d.total_seconds() * 1000)


@dataclass(slots=True)
class LogEntry:
    firing: list[str]
    resolved: list[str]
    sent_at: int


@dataclass(slots=True)
class Outgoing:
    receiver: str
    group_key: str
    notify_type: str  # apprise: info | success | warning | failure
    title: str
    body: str
    alert_ids: list[int]


@dataclass(slots=True)
class Plan:
    outgoing: list[Outgoing] = field(default_factory=list)
    groups: dict[GroupId, int] = field(default_factory=dict)  # next flush
    drop_groups: set[GroupId] = field(default_factory=set)
    log: dict[GroupId, LogEntry] = field(default_factory=dict)
    escalations: list[tuple[int, str]] = field(default_factory=list)


def quiet_until(receiver: Receiver, now: int) -> int | None:
    """The end of the receiver's quiet hours (ms) when `now` falls inside them."""
    q = receiver.quiet_hours
    if q is None:
        return None
    tz = zone(q.timezone)
    local = from_ms(now).astimezone(tz)
    t = local.time().replace(tzinfo=None)
    if q.start == q.end:
        return None
    inside = (q.start <= t < q.end) if q.start < q.end else (t >= q.start or t < q.end)
    if not inside:
        return None
    end_day = local.date() if t < q.end else local.date() + timedelta(days=1)
    end = datetime.combine(end_day, q.end, tzinfo=tz)
    return to_ms(end)


def routed(alert: AlertRow, receiver: Receiver) -> bool:
    return bool(set(alert.notify) & set(receiver.tags))


def group_key(alert: AlertRow, group_by: list[str]) -> str:
    if "..." in group_by:
        return alert.fingerprint
    return orjson.dumps({k: alert.labels.get(k, "") for k in group_by}).decode()


def plan(
    now: int,
    alerts: list[AlertRow],
    silences: list[SilenceRow],
    groups: dict[GroupId, int],
    log: dict[GroupId, LogEntry],
    escalated: set[tuple[int, str]],
    receivers: list[Receiver],
    settings: AlertingSettings,
) -> Plan:
    out = Plan()
    active_silences = [s for s in silences if s.active(now)]
    silenced = {a.id for a in alerts if any(s.silences(a.labels) for s in active_silences)}
    by_group: dict[GroupId, list[AlertRow]] = {}
    for receiver in receivers:
        for a in alerts:
            if a.fired_at is not None and routed(a, receiver):
                by_group.setdefault((receiver.name, group_key(a, settings.group_by)), []).append(a)
    by_name = {r.name: r for r in receivers}
    wait, interval = _ms(settings.group_wait), _ms(settings.group_interval)
    repeat = _ms(settings.repeat_interval)
    for gid in sorted(set(groups) | set(by_group)):
        found = by_name.get(gid[0])
        members = by_group.get(gid, [])
        if found is None:
            out.drop_groups.add(gid)
            continue
        receiver = found
        firing = [a for a in members if a.state == "firing" and a.id not in silenced]
        prev = log.get(gid)
        prev_firing = set(prev.firing) if prev else set()
        resolved = [a for a in members if a.state == "resolved" and a.fingerprint in prev_firing]
        if gid not in groups:
            if not firing:
                continue
            groups[gid] = now + wait
            out.groups[gid] = now + wait
        firing_fps = sorted(a.fingerprint for a in firing)
        new = set(firing_fps) - prev_firing
        # a new critical alert pages at once: group_wait and group_interval are for company,
        # and a scam spreading is not worth waiting minutes for
        urgent = any(a.severity == "critical" and a.fingerprint in new for a in firing)
        if now < groups[gid] and not urgent:
            continue
        unacked = [a for a in firing if a.acked_at is None]
        due_repeat = prev is not None and unacked and now - prev.sent_at >= repeat
        send_resolved = receiver.send_resolved and bool(resolved)
        if not (new or resolved or due_repeat):
            if not firing:
                out.drop_groups.add(gid)
            continue
        quiet = quiet_until(receiver, now)
        hours = receiver.quiet_hours
        if (
            quiet is not None
            and hours is not None
            and not any(a.severity in hours.allow for a in firing)
        ):
            out.groups[gid] = quiet
            continue
        if new or send_resolved or due_repeat:
            out.outgoing.append(
                _message(receiver.name, gid[1], firing, resolved if send_resolved else [], receiver)
            )
        out.log[gid] = LogEntry(firing_fps, sorted(a.fingerprint for a in resolved), now)
        if firing:
            out.groups[gid] = now + interval
        else:
            out.drop_groups.add(gid)
    _escalate(now, alerts, silenced, escalated, receivers, out)
    return out


def _escalate(
    now: int,
    alerts: list[AlertRow],
    silenced: set[int],
    escalated: set[tuple[int, str]],
    receivers: list[Receiver],
    out: Plan,
) -> None:
    by_name = {r.name: r for r in receivers}
    for receiver in receivers:
        target = by_name.get(receiver.escalate_to or "")
        if target is None:
            continue
        after = _ms(receiver.escalate_after)
        due = [
            a
            for a in alerts
            if a.state == "firing"
            and a.acked_at is None
            and a.id not in silenced
            and a.fired_at is not None
            and now - a.fired_at >= after
            and routed(a, receiver)
            and (a.id, target.name) not in escalated
        ]
        if not due:
            continue
        quiet = quiet_until(target, now)
        if quiet is not None and target.quiet_hours is not None:
            due = [a for a in due if a.severity in target.quiet_hours.allow]
            if not due:
                continue
        msg = _message(target.name, f"escalation:{receiver.name}", due, [], target)
        msg.title = f"[ESCALATED from {receiver.name}] " + msg.title
        out.outgoing.append(msg)
        out.escalations.extend((a.id, target.name) for a in due)


def when(ms: int, receiver: Receiver | None) -> str:
    """An instant as the receiver reads it: 'Thu 03 Dec 18:45 CET', in its own zone."""
    tz = zone(receiver.timezone if receiver is not None else "UTC")
    local = from_ms(ms).astimezone(tz)
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


def _details(a: AlertRow) -> list[str]:
    """What a person paged needs to judge without opening the cockpit: the message (inert),
    where it is, how old the account is, what the runbook says, and how to ack."""
    notes = a.annotations
    out: list[str] = []
    if notes.get("message"):
        text = inert_line(notes["message"])
        out.append(f'    message: "{text[:300]}{"…" if len(text) > 300 else ""}"')
    if notes.get("link"):
        out.append(f"    link: {inert_line(notes['link'])}")
    if notes.get("account_age"):
        out.append(f"    account age: {inert_line(notes['account_age'])}")
    if notes.get("description"):
        out.append("    " + inert_line(notes["description"]))
    if notes.get("runbook"):
        out.append(f"    runbook: {inert_line(notes['runbook'])}")
    out.append(f"    ack: cockpit alerts ack {a.id} (or `a` on it in the Alerts pane)")
    return out


def _message(
    receiver: str,
    key: str,
    firing: list[AlertRow],
    resolved: list[AlertRow],
    to: Receiver | None = None,
) -> Outgoing:
    """Plain text: titles and bodies carry untrusted names, so control characters go."""
    first = (firing or resolved)[0]
    names = sorted({a.rule for a in firing or resolved})
    where = inert_line(first.community)
    if firing:
        title = f"[FIRING:{len(firing)}] {', '.join(names)} ({where})"
        if resolved:
            title += f", {len(resolved)} resolved"
    else:
        title = f"[RESOLVED] {', '.join(names)} ({where})"
    order = {"critical": 0, "warning": 1, "info": 2}
    lines: list[str] = []
    for a in sorted(firing, key=lambda a: (order.get(a.severity, 3), a.id)):
        since = when(a.fired_at or a.active_at, to)
        summary = a.annotations.get("summary") or a.summary
        acked = " (acked)" if a.acked_at is not None else ""
        lines.append(
            f"[{a.severity}] #{a.id} {a.rule}: {inert_line(summary)} (since {since}){acked}"
        )
        lines.extend(_details(a))
    for a in resolved:
        lines.append(f"[resolved] #{a.id} {a.rule}: {inert_line(a.summary)}")
    severity = "failure" if any(a.severity == "critical" for a in firing) else "warning"
    return Outgoing(
        receiver,
        key,
        severity if firing else "success",
        title[:250],
        "\n".join(lines)[:8000],
        [a.id for a in firing + resolved],
    )
