"""`cockpit mod ACTION TARGET`: act on a platform through the process holding its token.

The request goes into the store as a numbered case; the collector (or the in-process TUI)
that holds the platform's token carries it out once and records the answer; this command
waits for it and prints one line per platform. Nothing claimed in time is withdrawn.
"""

from __future__ import annotations

from dataclasses import replace

from cockpit.commands.context import Context
from cockpit.commands.options import Subparsers, community_filter, json_output
from cockpit.errors import CockpitError
from cockpit.moderation import service
from cockpit.moderation.repository import Case
from cockpit.moderation.targets import Plan, resolve
from cockpit.plugin_api import ACTIONS
from cockpit.textsafe import inert_line
from cockpit.timeutil import utcnow


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "mod",
        help="act on a platform: delete, timeout, ban, lock, ...",
        description="Act on a platform, through the process that holds its token.",
    )
    p.add_argument(
        "action", choices=sorted(ACTIONS), metavar="ACTION", help=" | ".join(sorted(ACTIONS))
    )
    p.add_argument(
        "target",
        metavar="TARGET",
        help="a MEMBER, an activity (platform:id), a channel (#name) or an alert (alert:N)",
    )
    p.add_argument("--reason", help="why (required; goes in the case log and the audit log)")
    p.add_argument("--for", dest="duration", metavar="DURATION", help="how long: 10m, 1d, 7d")
    p.add_argument("--text", help="what `say` or `warn` posts")
    p.add_argument(
        "--dm", action="store_true", help="say/warn: by direct message to the member instead"
    )
    p.add_argument("--role", metavar="ID", help="the platform role role_add/role_remove gives")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--platform", action="append", default=[], metavar="P", help="only on this platform"
    )
    where.add_argument(
        "--everywhere", action="store_true", help="on every platform the person has an account"
    )
    p.add_argument("--wait", type=float, default=None, metavar="SECONDS", help="wait this long")
    p.add_argument("--dry-run", action="store_true", help="say what would happen, do nothing")
    p.add_argument("--force", action="store_true", help="act on a protected member too")
    p.add_argument("--slowmode", type=int, default=None, metavar="SECONDS", help="slowmode delay")
    p.add_argument(
        "--delete-days", type=int, default=None, metavar="N", help="ban: delete N days of messages"
    )
    community_filter(p)
    json_output(p)
    p.set_defaults(run=run)


def direct(plan: Plan) -> Plan:
    """`--dm`: each member's step sent to the member, not posted in a chat."""
    if plan.action not in ("say", "warn"):
        raise CockpitError(f"--dm: only say and warn are sent by direct message, not {plan.action}")
    steps = []
    for s in plan.steps:
        t = s.target
        if not t.user_id:
            raise CockpitError(f"--dm: {t.label or t.channel_id} is not a member")
        label = f"a DM to {t.label}"
        steps.append(
            replace(s, target=replace(t, channel_id=None, message_ids=(), label=label), line=label)
        )
    return replace(plan, steps=steps)


def outcome_lines(case: Case) -> list[str]:
    lines = []
    for s in case.steps:
        detail = inert_line(s.detail) if s.detail else s.status
        lines.append(f"  {s.target.platform:<10} {s.status:<9} {detail}")
    return lines


async def run(ctx: Context) -> int:
    a = ctx.args
    config = ctx.config
    now = utcnow()
    operator = service.operator_name(config)
    service.authorize(config, operator)
    reason = service.check_reason(a.reason) if not a.dry_run else (a.reason or "")
    if a.role is not None and a.action not in ("role_add", "role_remove"):
        raise CockpitError(f"--role: only role_add and role_remove take a role, not {a.action}")
    store = await ctx.open_store(readonly=a.dry_run)
    try:
        plan = await resolve(
            store,
            ctx.registry,
            config,
            a.action,
            a.target,
            platforms=a.platform,
            everywhere=a.everywhere,
            community=a.community,
        )
        if a.dm:
            plan = direct(plan)
        until = service.duration_until(
            a.action, a.duration, now, [s.target.platform for s in plan.steps]
        )
        if a.dry_run:
            if a.json:
                ctx.print_json(
                    [{"platform": s.target.platform, "would": s.line} for s in plan.steps]
                )
            else:
                print(f"would {a.action} {plan.label}:", file=ctx.out)
                for s in plan.steps:
                    print(f"  {s.target.platform:<10} {s.line}", file=ctx.out)
                for why in plan.protected:
                    print(f"  needs --force: {why}", file=ctx.out)
                for why in plan.skipped:
                    print(f"  skipped: {why}", file=ctx.out)
            return 0
        case = await service.submit(
            store,
            config,
            plan,
            reason=reason,
            operator=operator,
            now=now,
            until=until,
            text=a.text,
            force=a.force,
            slowmode_seconds=a.slowmode,
            delete_history_s=a.delete_days * 86400 if a.delete_days else None,
            role=a.role,
        )
        wait = a.wait if a.wait is not None else config.moderation.wait
        case = await service.wait_for_outcome(store, case.number, wait, operator)
    finally:
        await store.close()
    if a.json:
        ctx.print_json([case.to_json()])
    else:
        print(f"case {case.number}: {case.action} {case.label}: {case.state}", file=ctx.out)
        for line in outcome_lines(case):
            print(line, file=ctx.out)
        for why in plan.skipped:
            print(f"  skipped: {why}", file=ctx.out)
    if case.state == "withdrawn":
        print(
            f"cockpit: case {case.number} withdrawn: no collector holding the token took it "
            f"within {wait:g} s (is `cockpit collect` running?)",
            file=ctx.err,
        )
        return 1
    return 0 if case.state == "done" else 1
