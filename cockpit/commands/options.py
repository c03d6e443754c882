"""Options many commands share, defined once so they read and behave the same everywhere."""

from __future__ import annotations

import argparse
from typing import TypeAlias

# argparse names the type of `add_subparsers()` privately; this is the one place that does
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

JSON_HELP = "print one JSON array (and nothing else on stdout)"


def json_output(p: argparse.ArgumentParser, help: str = JSON_HELP) -> None:
    """`--json`: every read command prints one JSON array and nothing else on stdout."""
    p.add_argument("--json", action="store_true", help=help)


def community_filter(p: argparse.ArgumentParser) -> None:
    """`--community` narrowing a listing (all communities without it)."""
    p.add_argument("--community", help="only this community")


def community_choice(p: argparse.ArgumentParser, help: str | None = None) -> None:
    """`--community` choosing the one community a figure is about."""
    p.add_argument("--community", help=help or "the community (default: cockpit.community)")
