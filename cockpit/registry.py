"""Finds plugins through the `cockpit.plugins` entry points; a broken one is a warning."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from cockpit.errors import CockpitError
from cockpit.plugin_api import Importer, Plugin, SourceType

GROUP = "cockpit.plugins"
_HEAD_BYTES = 64 * 1024


@dataclass
class Registry:
    plugins: dict[str, Plugin] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def importers(self) -> list[Importer]:
        return [imp for plugin in self.plugins.values() for imp in plugin.importers]

    @property
    def source_types(self) -> dict[str, SourceType]:
        return {name: st for p in self.plugins.values() for name, st in p.sources.items()}

    def importer_named(self, name: str) -> Importer:
        for imp in self.importers:
            if name in (imp.name, imp.platform):
                return imp
        known = ", ".join(sorted({i.platform for i in self.importers}))
        raise CockpitError(f"--platform {name!r}: no importer for it (known: {known})")

    def detect(self, path: Path) -> Importer:
        """The importer that recognises `path`, or an error naming what was tried."""
        head = b""
        if path.is_file():
            with path.open("rb") as fh:
                head = fh.read(_HEAD_BYTES)
        elif not path.is_dir():
            raise CockpitError(f"{path}: no such file or directory")
        for imp in self.importers:
            if imp.sniff(path, head):
                return imp
        tried = ", ".join(imp.description for imp in self.importers)
        raise CockpitError(f"{path}: not a format cockpit can import (tried: {tried})")


def _resolve(ep: EntryPoint) -> Plugin:
    obj = ep.load()
    if not isinstance(obj, Plugin) and callable(obj):
        obj = obj()
    if inspect.isawaitable(obj):
        raise TypeError("plugin loaders must be synchronous")
    if not isinstance(obj, Plugin):
        raise TypeError(f"entry point gave {type(obj).__name__}, not a cockpit Plugin")
    return obj


def load_registry(
    eps: Iterable[EntryPoint] | None = None, warn: Callable[[str], None] | None = None
) -> Registry:
    reg = Registry()
    for ep in eps if eps is not None else entry_points(group=GROUP):
        try:
            plugin = _resolve(ep)
        except Exception as exc:  # a plugin must never take the cockpit down
            message = f"plugin {ep.name!r} ({ep.value}) failed to load: {type(exc).__name__}: {exc}"
            reg.warnings.append(message)
            if warn:
                warn(message)
            continue
        if plugin.name in reg.plugins:
            reg.warnings.append(f"plugin {plugin.name!r} registered twice; keeping the first")
            continue
        reg.plugins[plugin.name] = plugin
    return reg


_cached: Registry | None = None


def registry() -> Registry:
    """The process-wide registry, loaded once."""
    global _cached
    if _cached is None:
        _cached = load_registry()
    return _cached
