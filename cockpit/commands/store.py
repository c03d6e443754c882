"""`cockpit store copy FROM TO`: move a whole store (SQLite path or postgresql:// URL)."""

from __future__ import annotations

import argparse
import sys

from cockpit.commands.context import Context
from cockpit.store import copy_store, redact_url


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "store",
        help="store maintenance (copy a store to another)",
        description="Store maintenance.",
    )
    actions = p.add_subparsers(dest="store_action", metavar="ACTION", required=True)
    c = actions.add_parser(
        "copy",
        help="copy a whole store to another (SQLite path or postgresql:// URL)",
        description="Copy every record of FROM into TO, ids unchanged, verified by counts. "
        "Resumable: run it again after an interruption. Stop the collector first; TO must be "
        "new (or an unfinished copy of FROM).",
    )
    c.add_argument("source", metavar="FROM", help="SQLite path or postgresql:// URL")
    c.add_argument("target", metavar="TO", help="SQLite path or postgresql:// URL")
    c.add_argument("--quiet", action="store_true", help="no progress on stderr")
    c.set_defaults(run=run_copy)


async def run_copy(ctx: Context) -> int:
    a = ctx.args
    interactive = not a.quiet and sys.stderr.isatty()

    def progress(line: str) -> None:
        if interactive:
            print(f"\r{line}   ", end="", file=ctx.err, flush=True)

    reports = await copy_store(a.source, a.target, progress)
    if interactive:
        print(file=ctx.err)
    total = sum(r.target for r in reports)
    for r in reports:
        if r.source:
            print(f"{r.table}: {r.target} rows ({r.copied} copied now)", file=ctx.out)
    print(
        f"copied {redact_url(str(a.source))} -> {redact_url(str(a.target))}: "
        f"{total} rows in {len(reports)} tables, counts verified",
        file=ctx.out,
    )
    return 0
