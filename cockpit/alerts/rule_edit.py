"""Changing a rule in cockpit.toml from the CLI or the Rules view: enable, disable, or set
thresholds, written back with the file's comments and layout kept (tomlkit), validated as a
whole config before it replaces the file, and atomically (a crash leaves the old file).

A running collector watches the file and picks the change up without a restart
(`cockpit.features`); the store remembers who changed what (`AlertRepository`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from pydantic import ValidationError
from tomlkit.items import AoT, Table

from cockpit.alerts.config import AnyRule, parse_rules
from cockpit.alerts.display import who
from cockpit.alerts.repository import AlertRepository
from cockpit.config import load_config
from cockpit.errors import CockpitError, ConfigError
from cockpit.registry import Registry

FIXED = ("name", "kind")  # what makes a rule that rule: change them by editing the file


@dataclass(frozen=True, slots=True)
class Edit:
    """What to change in one rule: `enabled`, and/or keys set to TOML values."""

    rule: str
    enabled: bool | None = None
    values: tuple[tuple[str, Any], ...] = ()


def parse_assignment(text: str) -> tuple[str, Any]:
    """`KEY=VALUE`, the value read as TOML (15, "10m", true, ["a", "b"]), else as a string."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise CockpitError(f"{text!r}: expected KEY=VALUE, e.g. joins=15 or window=2m")
    if not key.replace("_", "").isalnum():
        raise CockpitError(f"{key!r}: a rule setting is a plain name, e.g. joins")
    if key in FIXED:
        raise CockpitError(f"{key}: a rule's {key} cannot be set; edit the file instead")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word: 10m, critical, ...
    return key, value


def edited_rule(rule: AnyRule, values: tuple[tuple[str, Any], ...]) -> AnyRule:
    """The rule with settings changed, validated as the config validates it (a backtest of
    a change before it is saved)."""
    data = rule.model_dump(by_alias=True, exclude_unset=True)
    data["name"], data["kind"] = rule.name, rule.kind
    data.update(dict(values))
    try:
        (out,) = parse_rules([data])
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"][1:]) or "?"
        raise CockpitError(f"rule {rule.name}: {where}: {err['msg']}") from None
    return out


def split_assignments(text: str) -> list[str]:
    """`joins=15 keywords=["free nitro", "airdrop"]` into its KEY=VALUE parts: spaces
    inside quotes or brackets belong to the value."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(depth - 1, 0)
        elif ch.isspace() and depth == 0:
            if current:
                parts.append("".join(current))
                current = []
            continue
        current.append(ch)
    if current:
        parts.append("".join(current))
    return parts


def _rules(doc: tomlkit.TOMLDocument, path: Path) -> AoT:
    rules = doc.get("rules")
    if not isinstance(rules, AoT):
        raise CockpitError(f"{path}: no [[rules]] in this config")
    return rules


def _find(rules: AoT, name: str, path: Path) -> Table:
    for table in rules:
        if table.get("name") == name:
            found: Table = table
            return found
    known = ", ".join(str(t.get("name")) for t in rules)
    raise CockpitError(f"{path}: no rule named {name!r} (rules: {known or 'none'})")


def _describe(before: Any, after: Any, key: str) -> str:
    return f"{key}: {before!r} -> {after!r}" if before is not None else f"{key}: set to {after!r}"


def apply_edit(path: Path, edit: Edit, registry: Registry) -> list[str]:
    """Change one rule in the config file at `path`; the changes made, one line each (empty
    when the rule already was so). Nothing is written unless the whole config validates."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CockpitError(f"{path}: cannot read the config: {exc.strerror or exc}") from None
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise CockpitError(f"{path}: invalid TOML: {exc}") from None
    table = _find(_rules(doc, path), edit.rule, path)
    changes = []
    if edit.enabled is not None:
        was = bool(table.get("enabled", True))
        if was != edit.enabled:
            table["enabled"] = edit.enabled
            changes.append("enabled" if edit.enabled else "disabled")
    for key, value in edit.values:
        before: Any = table.get(key)
        plain = before.unwrap() if hasattr(before, "unwrap") else before
        if plain != value:
            table[key] = value
            changes.append(_describe(plain, value, key))
    if not changes:
        return []
    new_text = tomlkit.dumps(doc)
    _validate(path, new_text, registry)
    _replace(path, new_text)
    return changes


async def change_rule(
    path: Path, edit: Edit, registry: Registry, alerts: AlertRepository, now: int
) -> list[str]:
    """The one way a rule is changed (CLI and Rules view): the file first, then who did it."""
    changes = await asyncio.to_thread(apply_edit, path, edit, registry)
    by = who()
    for change in changes:
        await alerts.record_rule_change(edit.rule, change, by, now)
    return changes


def _validate(path: Path, text: str, registry: Registry) -> None:
    """The whole config as it would be, checked by the loader every command uses."""
    fd, tmp = tempfile.mkstemp(prefix=".cockpit-check-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        load_config(Path(tmp), registry)
    except ConfigError as exc:
        raise CockpitError(f"not saved: {str(exc).replace(tmp, str(path))}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def _replace(path: Path, text: str) -> None:
    """Write beside and rename over: readers see the old file or the new, never half."""
    fd, tmp = tempfile.mkstemp(prefix=".cockpit-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):  # keep the file's mode (group read for operators)
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CockpitError(f"{path}: cannot write the config: {exc.strerror or exc}") from None
