"""What every command gets: parsed global options, lazily loaded config, registry and store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any, TextIO

import orjson

from cockpit.config import Config, default_config_path, load_config
from cockpit.errors import CockpitError
from cockpit.member_lookup import resolve_member as resolve_member  # re-exported for commands
from cockpit.registry import Registry, registry
from cockpit.store import open_store
from cockpit.store.base import Store
from cockpit.timeutil import zone


@dataclass
class Context:
    args: argparse.Namespace
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    _config: Config | None = None
    _registry: Registry | None = None

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = registry()
            for warning in self._registry.warnings:
                self.warn(warning)
        return self._registry

    @property
    def config(self) -> Config:
        if self._config is None:
            path = Path(self.args.config) if self.args.config else default_config_path()
            self._config = load_config(path, self.registry)
        return self._config

    @property
    def store_path(self) -> Path | str:
        return self.config.store_path(self.args.db)

    async def open_store(self, readonly: bool = True) -> Store:
        """The one way a command opens the store (by path or URL)."""
        return await open_store(self.store_path, readonly=readonly)

    def warn(self, message: str) -> None:
        print(f"cockpit: warning: {message}", file=self.err)

    def print_json(self, items: Sequence[dict[str, Any]]) -> None:
        self.out.write(orjson.dumps(list(items)).decode() + "\n")


# The largest id or count the store can hold (SQLite integers are 64-bit signed).
MAX_ID = 2**63 - 1
MAX_LIMIT = 1_000_000


def count(option: str, maximum: int = MAX_LIMIT) -> Callable[[str], int]:
    """An argparse `type` for a positive whole number up to `maximum`.

    Not a number is bad usage (exit 2); a number out of range is a CockpitError (exit 1),
    raised while parsing: past the maximum the store's 64-bit integers would overflow.
    """

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected a whole number such as 10"
            ) from None
        if value < 1:
            raise CockpitError(f"{option} {text.strip()}: expected a positive number")
        if value > maximum:
            raise CockpitError(
                f"{option} {text.strip()}: expected a positive number, at most {maximum:,}"
            )
        return value

    parse.__name__ = "count"
    return parse


def record_id(value: str, what: str) -> int:
    """An id typed on the command line ('12' or '#12'); one that cannot exist is refused."""
    try:
        number = int(value.strip().lstrip("#"))
    except ValueError:
        raise CockpitError(f"{what} {value!r}: expected a number such as 12") from None
    if not 1 <= number <= MAX_ID:
        raise CockpitError(f"{what} {value!r}: no such {what} (ids are 1 to {MAX_ID})")
    return number


def option_zone(name: str, option: str = "--tz") -> tzinfo:
    """An IANA zone given on the command line, or an error naming the option."""
    try:
        return zone(name)
    except ValueError as exc:
        raise CockpitError(f"{option}: {exc}") from None
