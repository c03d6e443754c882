"""`cockpit rules backtest | enable | disable | set`: see what a rule would have done on the
stored history, and tune it in cockpit.toml (comments kept, validated, recorded)."""

from __future__ import annotations

import tomllib
from datetime import tzinfo
from pathlib import Path

from cockpit.alerts.backtest import Backtest, RuleReport, backtest
from cockpit.alerts.config import AnyRule, parse_rules
from cockpit.alerts.rule_edit import Edit, change_rule, edited_rule, parse_assignment
from cockpit.commands.context import Context
from cockpit.commands.options import Subparsers, json_output
from cockpit.errors import CockpitError
from cockpit.textsafe import inert_line
from cockpit.timeutil import from_ms, parse_since, to_ms, utcnow, zone


def register(rsub: Subparsers) -> None:
    bt = rsub.add_parser(
        "backtest",
        help="what a rule would have fired on the stored history (nothing is sent)",
        description="Replay the stored history through a rule as it is, and as edited "
        "(--set, or the rules of a FILE), side by side. Nothing is written or sent.",
    )
    bt.add_argument(
        "target", metavar="NAME|FILE", help="a configured rule, or a TOML file of [[rules]]"
    )
    bt.add_argument("--since", default="30d", help="how far back (default 30d)")
    bt.add_argument(
        "--set",
        dest="values",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="try the rule with this setting changed (repeatable)",
    )
    json_output(bt)
    bt.set_defaults(run=run_backtest)
    for name, helptext in (("enable", "turn a rule on"), ("disable", "turn a rule off")):
        p = rsub.add_parser(name, help=f"{helptext} in cockpit.toml (a collector picks it up)")
        p.add_argument("name", help="the rule's name")
        p.set_defaults(run=run_enable if name == "enable" else run_disable)
    st = rsub.add_parser("set", help="change a rule's settings in cockpit.toml (validated first)")
    st.add_argument("name", help="the rule's name")
    st.add_argument("values", nargs="+", metavar="KEY=VALUE", help="e.g. joins=15 window=2m")
    st.set_defaults(run=run_set)
    ch = rsub.add_parser("changes", help="who changed which rule, and when")
    ch.add_argument("name", nargs="?", help="only this rule")
    json_output(ch)
    ch.set_defaults(run=run_changes)


# ------------------------------------------------------------------ editing


def _config_path(ctx: Context) -> Path:
    path = ctx.config.path
    if path is None:
        raise CockpitError("no config file: rules live in cockpit.toml (--config PATH)")
    return path


async def _edit(ctx: Context, edit: Edit) -> int:
    path = _config_path(ctx)
    store = await ctx.open_store(readonly=False)
    try:
        changes = await change_rule(path, edit, ctx.registry, store.alerts, to_ms(utcnow()))
    finally:
        await store.close()
    if not changes:
        print(f"{edit.rule}: unchanged", file=ctx.out)
        return 0
    for change in changes:
        print(f"{edit.rule}: {change} (saved to {path})", file=ctx.out)
    return 0


async def run_enable(ctx: Context) -> int:
    return await _edit(ctx, Edit(ctx.args.name, enabled=True))


async def run_disable(ctx: Context) -> int:
    return await _edit(ctx, Edit(ctx.args.name, enabled=False))


async def run_set(ctx: Context) -> int:
    values = tuple(parse_assignment(v) for v in ctx.args.values)
    return await _edit(ctx, Edit(ctx.args.name, values=values))


async def run_changes(ctx: Context) -> int:
    store = await ctx.open_store(readonly=True)
    try:
        rows = await store.alerts.rule_changes(ctx.args.name)
    finally:
        await store.close()
    if ctx.args.json:
        ctx.print_json([r.to_json() for r in rows])
        return 0
    tz = zone(ctx.config.cockpit.timezone)
    for r in rows:
        when = from_ms(r.at).astimezone(tz).strftime("%Y-%m-%d %H:%M")
        print(
            f"{when}  {inert_line(r.rule):<24} {inert_line(r.change)}  ({inert_line(r.by)})",
            file=ctx.out,
        )
    if not rows:
        print("no rule changes recorded", file=ctx.err)
    return 0


# ------------------------------------------------------------------ backtest


def _rules_of_file(path: Path) -> list[AnyRule]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CockpitError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CockpitError(f"{path}: cannot read rules: {exc}") from None
    raw = data.get("rules")
    if not isinstance(raw, list) or not raw:
        raise CockpitError(f"{path}: no [[rules]] in this file")
    try:
        return parse_rules(raw)
    except Exception as exc:
        raise CockpitError(f"{path}: {str(exc).splitlines()[0]}") from None


def plan(ctx: Context) -> tuple[list[AnyRule], list[AnyRule]]:
    """(the rules as configured, the rules as they would be), of the same names."""
    configured = {r.name: r for r in ctx.config.rules}
    target = ctx.args.target
    values = tuple(parse_assignment(v) for v in ctx.args.values)
    if target in configured:
        current = configured[target]
        return [current], [edited_rule(current, values) if values else current]
    path = Path(target)
    if not path.exists():
        known = ", ".join(configured) or "none"
        raise CockpitError(f"{target!r}: neither a configured rule (rules: {known}) nor a file")
    proposed = [edited_rule(r, values) if values else r for r in _rules_of_file(path)]
    return [configured[r.name] for r in proposed if r.name in configured], proposed


async def run_backtest(ctx: Context) -> int:
    current, proposed = plan(ctx)
    now = utcnow()
    try:
        start = parse_since(ctx.args.since, now)
    except (ValueError, OverflowError) as exc:
        raise CockpitError(str(exc)) from None
    settings = ctx.config.alerting
    store = await ctx.open_store(readonly=True)
    try:
        before = await backtest(store.alerts, current, settings, to_ms(start), to_ms(now))
        after = (
            before
            if proposed == current
            else await backtest(store.alerts, proposed, settings, to_ms(start), to_ms(now))
        )
    finally:
        await store.close()
    names = list(dict.fromkeys([r.name for r in proposed]))
    if ctx.args.json:
        ctx.print_json(
            [
                {
                    "rule": n,
                    "current": before.reports[n].to_json() if n in before.reports else None,
                    "edited": after.reports[n].to_json() if after is not before else None,
                }
                for n in names
            ]
        )
        return 0
    tz = zone(ctx.config.cockpit.timezone)
    print(
        f"replayed {after.activities:,} activities since {start.astimezone(tz):%Y-%m-%d %H:%M} "
        "(nothing sent)",
        file=ctx.out,
    )
    for n in names:
        for line in describe(n, before, after, tz):
            print(line, file=ctx.out)
    return 0


def describe(name: str, before: Backtest, after: Backtest, tz: tzinfo) -> list[str]:
    """A rule's backtest in a few lines: current against edited, when, who, examples."""
    now_r, new_r = before.reports.get(name), after.reports.get(name)
    lines = [f"{inert_line(name)}:"]
    if new_r is not None and not new_r.replayable:
        return [
            *lines,
            "  not replayable: it reads the sources' health, which is not kept as history",
        ]
    if now_r is not None:
        lines.append("  current: " + _counts(now_r, tz))
    if after is not before and new_r is not None:
        lines.append("  edited:  " + _counts(new_r, tz))
    shown = new_r or now_r
    if shown is not None:
        lines.extend(f"    e.g. {inert_line(text)[:100]}" for text in shown.examples)
    return lines


def _counts(r: RuleReport, tz: tzinfo) -> str:
    if not r.fires:
        return "would not have fired"
    first = from_ms(r.times[0]).astimezone(tz).strftime("%m-%d %H:%M")
    last = from_ms(r.times[-1]).astimezone(tz).strftime("%m-%d %H:%M")
    when = f"at {first}" if r.fires == 1 else f"from {first} to {last}"
    people = f"{len(r.members)} member{'s' * (len(r.members) != 1)}"
    return f"{r.fires} fire{'s' * (r.fires != 1)} {when}, {people}"
