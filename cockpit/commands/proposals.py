"""`cockpit alerts act ID` / `cockpit alerts reject ID`: answer what a rule proposed for an
alert, through the same service write as `y`/`n` in the Alerts pane. `act` waits for the
token holder's outcome, as `cockpit mod` does."""

from __future__ import annotations

from cockpit.commands.context import Context, record_id
from cockpit.commands.mod import outcome_lines
from cockpit.commands.options import Subparsers, json_output
from cockpit.moderation import service
from cockpit.textsafe import inert_line
from cockpit.timeutil import utcnow


def register(asub: Subparsers) -> None:
    act = asub.add_parser("act", help="confirm what a rule proposed for this alert")
    act.add_argument("id", help="the alert id (as listed)")
    act.add_argument("--wait", type=float, default=None, metavar="SECONDS", help="wait this long")
    json_output(act)
    act.set_defaults(run=run_act)
    rej = asub.add_parser("reject", help="reject what a rule proposed for this alert")
    rej.add_argument("id", help="the alert id (as listed)")
    json_output(rej)
    rej.set_defaults(run=run_reject)


async def run_act(ctx: Context) -> int:
    return await _decide(ctx, True)


async def run_reject(ctx: Context) -> int:
    return await _decide(ctx, False)


async def _decide(ctx: Context, confirm: bool) -> int:
    alert_id = record_id(ctx.args.id, "alert")
    config = ctx.config
    operator = service.operator_name(config)
    store = await ctx.open_store(readonly=False)
    try:
        cases = await service.decide_alert(store, config, alert_id, confirm, operator, utcnow())
        if confirm:
            wait = ctx.args.wait if ctx.args.wait is not None else config.moderation.wait
            cases = [await service.wait_for_outcome(store, c.number, wait, operator) for c in cases]
    finally:
        await store.close()
    if ctx.args.json:
        ctx.print_json([c.to_json() for c in cases])
        return 0 if all(c.state in ("done", "rejected") for c in cases) else 1
    for c in cases:
        print(f"case {c.number}: {c.action} {inert_line(c.label)}: {c.state}", file=ctx.out)
        if confirm:
            for line in outcome_lines(c):
                print(line, file=ctx.out)
    return 0 if all(c.state in ("done", "rejected") for c in cases) else 1
