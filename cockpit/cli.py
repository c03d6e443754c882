"""The command line: `cockpit [--config PATH] [--db PATH] [COMMAND]`.

Exit codes: 0 success, 1 a failure the user can act on (one line on stderr), 2 bad usage.
Textual is imported only by the commands that start the TUI.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from collections.abc import Sequence
from typing import NoReturn

from cockpit import __version__
from cockpit.commands import (
    alerts,
    calendar,
    cases,
    collect,
    config_check,
    feed,
    health,
    imports,
    leaderboard,
    members,
    mod,
    store,
    tui,
)
from cockpit.commands.context import Context
from cockpit.errors import CockpitError


class Parser(argparse.ArgumentParser):
    """Bad usage is one line on stderr and exit 2, as for every other error (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(
        prog="cockpit",
        description="Community Cockpit: one terminal screen for the communities you run.",
    )
    parser.add_argument("--version", action="version", version=f"cockpit {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default ./cockpit.toml, then the user config dir)",
    )
    parser.add_argument(
        "--db", metavar="PATH", help="store file (overrides COCKPIT_DB and the config)"
    )
    parser.add_argument(
        "--attach", action="store_true", help="only watch a store that `cockpit collect` writes"
    )
    parser.set_defaults(run=tui.run_default)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    tui.register(sub)
    imports.register(sub)
    feed.register(sub)
    members.register(sub)
    calendar.register(sub)
    config_check.register(sub)
    alerts.register(sub)
    collect.register(sub)
    leaderboard.register(sub)
    health.register(sub)
    store.register(sub)
    mod.register(sub)
    cases.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        # an option's value out of range is a CockpitError raised while parsing
        args = build_parser().parse_args(argv)
        ctx = Context(args)
        result = args.run(ctx)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        return int(result)
    except CockpitError as exc:
        print(f"cockpit: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cockpit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
