"""`cockpit alerts`, `cockpit silences`, `cockpit rules check | test FILE...`."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path

from cockpit.alerts import operations
from cockpit.alerts.config import AlertingSettings, AnyRule, Receiver
from cockpit.alerts.display import age
from cockpit.alerts.records import AlertRow, Matcher, SilenceRow
from cockpit.alerts.repository import AlertRepository
from cockpit.alerts.ruletest import describe_files, run_file
from cockpit.cells import fit
from cockpit.commands import proposals, rules
from cockpit.commands.context import Context, count, option_zone, record_id
from cockpit.commands.options import Subparsers, community_filter, json_output
from cockpit.errors import CockpitError
from cockpit.store.base import Store
from cockpit.textsafe import inert_line
from cockpit.timeutil import from_ms, parse_duration, to_ms, utcnow

STATES = ("firing", "pending", "resolved")


def register(sub: Subparsers) -> None:
    p = sub.add_parser("alerts", help="alerts", description="Open alerts, then recently resolved.")
    p.add_argument("--state", action="append", choices=STATES, default=[], help="only this state")
    community_filter(p)
    p.add_argument("--limit", type=count("--limit"), default=100, help="how many (default 100)")
    json_output(p)
    p.set_defaults(run=run_list)
    asub = p.add_subparsers(
        dest="alerts_command", metavar="[ack ID | resolve ID | act ID | reject ID]"
    )
    for name, helptext in (
        ("ack", "acknowledge: stops repeats and escalation"),
        ("resolve", "resolve by hand"),
    ):
        a = asub.add_parser(name, help=helptext)
        a.add_argument("id", help="the alert id (as listed)")
        json_output(a)
        a.set_defaults(run=run_ack if name == "ack" else run_resolve)
    proposals.register(asub)

    s = sub.add_parser("silences", help="silences", description="Silences, newest first.")
    json_output(s)
    s.set_defaults(run=run_silences)
    ssub = s.add_subparsers(dest="silences_command", metavar="[add MATCHER... | expire ID]")
    add = ssub.add_parser("add", help="silence alerts whose labels match every MATCHER")
    add.add_argument(
        "matchers", nargs="+", metavar="MATCHER", help="label=value, !=, =~regex, !~regex"
    )
    add.add_argument("--for", dest="duration", default="1h", help="how long (default 1h)")
    add.add_argument("--comment", required=True, help="why (shown to every operator)")
    json_output(add)
    add.set_defaults(run=run_silence_add)
    exp = ssub.add_parser("expire", help="end a silence now")
    exp.add_argument("id", help="the silence id")
    json_output(exp)
    exp.set_defaults(run=run_silence_expire)

    r = sub.add_parser("rules", help="check, test, backtest and tune the alert rules")
    rsub = r.add_subparsers(
        dest="rules_command",
        metavar="check | test FILE... | backtest NAME|FILE | enable|disable NAME | set NAME K=V",
        required=True,
    )
    check = rsub.add_parser("check", help="validate the rules and receivers in the config")
    check.set_defaults(run=run_check)
    test = rsub.add_parser("test", help="run rule test files (promtool style)")
    test.add_argument("files", nargs="+", metavar="FILE")
    test.set_defaults(run=run_test)
    rules.register(rsub)


def format_alert(a: AlertRow, now: int, tz: tzinfo) -> str:
    since = a.fired_at or a.active_at
    flags = []
    if a.acked_at is not None:
        flags.append(f"acked by {inert_line(a.acked_by or '?')}")
    if a.silenced_by:
        flags.append("silenced")
    if a.resolved_by:
        flags.append(f"resolved by {inert_line(a.resolved_by)}")
    tail = f"  [{', '.join(flags)}]" if flags else ""
    when = from_ms(since).astimezone(tz).strftime("%m-%d %H:%M")
    summary = inert_line(a.annotations.get("summary") or a.summary)
    return (
        f"#{a.id:<5} {a.state:<8} {a.severity:<8} {when} {age(since, now):>4}  "
        f"{fit(inert_line(a.rule), 20)} {summary}{tail}"
    )


async def _open(ctx: Context, readonly: bool) -> tuple[Store, AlertRepository]:
    store = await ctx.open_store(readonly=readonly)
    return store, store.alerts


async def run_list(ctx: Context) -> int:
    a = ctx.args
    if a.limit < 1:
        raise CockpitError(f"--limit {a.limit}: expected a positive number")
    tz = option_zone(ctx.config.cockpit.timezone, "cockpit.timezone")
    now = to_ms(utcnow())
    store, alerts = await _open(ctx, readonly=True)
    try:
        rows = await alerts.alerts(a.state, a.community, a.limit, now=now)
        failed, retrying, last_error = await alerts.outbox_problems()
    finally:
        await store.close()
    if a.json:
        ctx.print_json([r.to_json() for r in rows])
    else:
        for r in rows:
            print(format_alert(r, now, tz), file=ctx.out)
        if not rows:
            print("no alerts", file=ctx.err)
    if failed or retrying:
        ctx.warn(
            f"notifications: {failed} failed, {retrying} waiting to retry; last error: "
            f"{inert_line(last_error or '?')}"
        )
    return 0


async def _operator(ctx: Context, action: str) -> int:
    alert_id = record_id(ctx.args.id, "alert")
    now = to_ms(utcnow())
    store, alerts = await _open(ctx, readonly=False)
    try:
        if action == "ack":
            row = await operations.acknowledge(alerts, alert_id, now)
        else:
            row = await operations.resolve(alerts, alert_id, now)
    finally:
        await store.close()
    if ctx.args.json:
        ctx.print_json([row.to_json()])
    else:
        tz = option_zone(ctx.config.cockpit.timezone, "cockpit.timezone")
        print(format_alert(row, now, tz), file=ctx.out)
    return 0


async def run_ack(ctx: Context) -> int:
    return await _operator(ctx, "ack")


async def run_resolve(ctx: Context) -> int:
    return await _operator(ctx, "resolve")


def format_silence(s: SilenceRow, now: int, tz: tzinfo) -> str:
    ends = from_ms(s.ends).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    matchers = " ".join(inert_line(str(m)) for m in s.matchers)
    return f"#{s.id:<4} {s.state(now):<8} until {ends}  {matchers}  — {inert_line(s.comment)} ({inert_line(s.created_by)})"


async def run_silences(ctx: Context) -> int:
    now = to_ms(utcnow())
    store, alerts = await _open(ctx, readonly=True)
    try:
        rows = await alerts.silences()
    finally:
        await store.close()
    if ctx.args.json:
        ctx.print_json([s.to_json(now) for s in rows])
    else:
        tz = option_zone(ctx.config.cockpit.timezone, "cockpit.timezone")
        for s in rows:
            print(format_silence(s, now, tz), file=ctx.out)
        if not rows:
            print("no silences", file=ctx.err)
    return 0


async def run_silence_add(ctx: Context) -> int:
    a = ctx.args
    try:
        matchers = [Matcher.parse(m) for m in a.matchers]
    except ValueError as exc:
        raise CockpitError(str(exc)) from None
    try:
        duration = parse_duration(a.duration)
    except ValueError as exc:
        raise CockpitError(f"--for: {exc}") from None
    if duration.total_seconds() <= 0:
        raise CockpitError(f"--for {a.duration}: expected a positive duration")
    operations.check_silence(matchers, duration, a.comment)  # before the store opens
    now = to_ms(utcnow())
    store, alerts = await _open(ctx, readonly=False)
    try:
        row = await operations.silence(alerts, matchers, duration, a.comment, now)
    finally:
        await store.close()
    if a.json:
        ctx.print_json([row.to_json(now)])
    else:
        print(
            format_silence(row, now, option_zone(ctx.config.cockpit.timezone, "cockpit.timezone")),
            file=ctx.out,
        )
    return 0


async def run_silence_expire(ctx: Context) -> int:
    silence_id = record_id(ctx.args.id, "silence")
    now = to_ms(utcnow())
    store, alerts = await _open(ctx, readonly=False)
    try:
        await operations.expire(alerts, silence_id, now)
        rows = [s for s in await alerts.silences() if s.id == silence_id]
    finally:
        await store.close()
    if ctx.args.json:
        ctx.print_json([s.to_json(now) for s in rows])
    else:
        print(f"silence #{silence_id} expired", file=ctx.out)
    return 0


def configured(ctx: Context) -> tuple[list[AnyRule], list[Receiver], AlertingSettings]:
    config = ctx.config
    return (
        list(config.rules),
        list(config.receivers),
        config.alerting,
    )


def run_check(ctx: Context) -> int:
    rules, receivers, _ = configured(ctx)
    tags = {t for r in receivers for t in r.tags}
    where = str(ctx.config.path or "defaults")
    for rule in rules:
        state = "" if rule.enabled else " (disabled)"
        routed = [t for t in rule.notify if t in tags]
        note = (
            "" if routed or not receivers else f"  ! no receiver has tag {', '.join(rule.notify)}"
        )
        line = f"{rule.name:<24} {rule.kind:<15} {rule.severity:<8}{state}{note}"
        print(ctx.config.redact(line), file=ctx.out)
    print(f"{where}: {len(rules)} rules, {len(receivers)} receivers ok", file=ctx.out)
    return 0


def run_test(ctx: Context) -> int:
    results = [run_file(Path(f)) for f in ctx.args.files]
    lines, ok = describe_files(results)
    for line in lines:
        print(line, file=ctx.out)
    for r in results:
        if r.error is not None:  # a file that could not be run: say so where errors go
            print(f"cockpit: {r.path}: {r.error}", file=ctx.err)
    return 0 if ok else 1
