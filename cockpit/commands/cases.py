"""`cockpit cases`: the shared case log. `show N`, `revert N`, `note N TEXT`, `export FILE`."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path

import orjson

from cockpit.commands.context import Context, count, option_zone, resolve_member
from cockpit.commands.mod import outcome_lines
from cockpit.commands.options import Subparsers, community_filter, json_output
from cockpit.errors import CockpitError
from cockpit.moderation import service
from cockpit.moderation.repository import STATES, Case, CaseQuery
from cockpit.textsafe import inert_line
from cockpit.timeutil import utcnow


def register(sub: Subparsers) -> None:
    p = sub.add_parser("cases", help="the case log", description="Moderation cases, newest first.")
    p.add_argument("--member", help="only cases about this MEMBER (and their linked identities)")
    p.add_argument("--state", action="append", choices=STATES, default=[], help="only this state")
    p.add_argument("--limit", type=count("--limit"), default=50, help="how many (default 50)")
    p.add_argument(
        "--no-posts",
        dest="posts",
        action="store_false",
        help="leave out what rules post or reward (welcomes, announcements, roles)",
    )
    community_filter(p)
    json_output(p)
    p.set_defaults(run=run_list)
    csub = p.add_subparsers(dest="cases_command", metavar="[show N | revert N | note N TEXT]")
    show = csub.add_parser("show", help="one case with its steps and history")
    show.add_argument("number", type=_number)
    json_output(show)
    show.set_defaults(run=run_show)
    rev = csub.add_parser("revert", help="undo what can be undone (unban, unlock, ...)")
    rev.add_argument("number", type=_number)
    rev.add_argument("--reason", default=None, help="why (default: 'reverted')")
    rev.add_argument("--wait", type=float, default=None, metavar="SECONDS")
    json_output(rev)
    rev.set_defaults(run=run_revert)
    note = csub.add_parser("note", help="add a note to a case (and to its member)")
    note.add_argument("number", type=_number)
    note.add_argument("text")
    note.set_defaults(run=run_note)
    for kind in ("appeal", "overturn"):
        k = csub.add_parser(kind, help=f"record an {kind} on a case")
        k.add_argument("number", type=_number)
        k.add_argument("text")
        k.set_defaults(run=run_appeal if kind == "appeal" else run_overturn)
    exp = csub.add_parser("export", help="every case as JSON Lines, for audit")
    exp.add_argument("file", type=Path, metavar="FILE.jsonl")
    exp.set_defaults(run=run_export)


def _number(text: str) -> int:
    value = text.lstrip("#")
    if not value.isdigit() or int(value) > 2**62:
        raise CockpitError(f"not a case number: {text!r}")
    return int(value)


def format_case(c: Case, tz: tzinfo) -> str:
    when = c.created.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    until = f" until {c.until.astimezone(tz):%Y-%m-%d %H:%M}" if c.until else ""
    platforms = ",".join(s.target.platform for s in c.steps)
    return (
        f"#{c.number:<5} {when}  {c.state:<9} {c.action:<8} {inert_line(c.label)} [{platforms}]"
        f"{until} — {inert_line(c.reason)} ({inert_line(c.operator)})"
    )


async def run_list(ctx: Context) -> int:
    a = ctx.args
    store = await ctx.open_store()
    try:
        members: list[int] = []
        if a.member:
            m = await resolve_member(store, a.member, a.community)
            members = [m.id]
            person = (await store.identity.persons_of([m.id])).get(m.id)
            if person is not None:
                members = await store.identity.members_of(person)
        rows = await store.moderation.cases(
            CaseQuery(
                member_ids=members,
                states=a.state,
                community=a.community,
                limit=a.limit,
                posts=getattr(a, "posts", True),
            )
        )
    finally:
        await store.close()
    if a.json:
        ctx.print_json([c.to_json() for c in rows])
        return 0
    tz = option_zone(ctx.config.cockpit.timezone, "cockpit.timezone")
    if not rows:
        print("no cases", file=ctx.out)
    for c in rows:
        print(format_case(c, tz), file=ctx.out)
    return 0


async def _case(ctx: Context, number: int) -> Case:
    store = await ctx.open_store()
    try:
        case = await store.moderation.case(number)
    finally:
        await store.close()
    if case is None:
        raise CockpitError(f"no case {number}")
    return case


async def run_show(ctx: Context) -> int:
    case = await _case(ctx, ctx.args.number)
    if ctx.args.json:
        ctx.print_json([case.to_json()])
        return 0
    tz = option_zone(ctx.config.cockpit.timezone, "cockpit.timezone")
    print(format_case(case, tz), file=ctx.out)
    for line in outcome_lines(case):
        print(line, file=ctx.out)
    for e in case.events:
        when = e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        text = f" {inert_line(e.text)}" if e.text else ""
        print(f"  {when} {e.kind:<10} {inert_line(e.who)}{text}", file=ctx.out)
    return 0


async def run_revert(ctx: Context) -> int:
    a = ctx.args
    config = ctx.config
    operator = service.operator_name(config)
    store = await ctx.open_store(readonly=False)
    try:
        new = await service.revert(
            store, config, a.number, a.reason or f"revert case {a.number}", operator, utcnow()
        )
        wait = a.wait if a.wait is not None else config.moderation.wait
        new = await service.wait_for_outcome(store, new.number, wait, operator)
    finally:
        await store.close()
    if a.json:
        ctx.print_json([new.to_json()])
    else:
        print(f"case {new.number}: {new.action} {new.label}: {new.state}", file=ctx.out)
        for line in outcome_lines(new):
            print(line, file=ctx.out)
    return 0 if new.state == "done" else 1


async def _event(ctx: Context, kind: str) -> int:
    a = ctx.args
    operator = service.operator_name(ctx.config)
    store = await ctx.open_store(readonly=False)
    try:
        await service.case_event(store, ctx.config, a.number, kind, a.text, operator, utcnow())
    finally:
        await store.close()
    print(f"case {a.number}: {kind} added", file=ctx.out)
    return 0


async def run_note(ctx: Context) -> int:
    return await _event(ctx, "note")


async def run_appeal(ctx: Context) -> int:
    return await _event(ctx, "appealed")


async def run_overturn(ctx: Context) -> int:
    return await _event(ctx, "overturned")


async def run_export(ctx: Context) -> int:
    path: Path = ctx.args.file
    store = await ctx.open_store()
    n = 0
    try:
        with path.open("wb") as out:
            after = 0
            while True:
                page = await store.moderation.cases(CaseQuery(after=after, limit=500))
                if not page:
                    break
                for c in page:
                    out.write(orjson.dumps(c.to_json()) + b"\n")
                    n += 1
                after = page[-1].number
    except OSError as exc:
        raise CockpitError(f"{path}: cannot write ({exc.strerror})") from None
    finally:
        await store.close()
    print(f"{n} cases written to {path}", file=ctx.err)
    return 0
