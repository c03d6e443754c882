"""What a platform plugin offers the core: importers for export files, live sources.

Plugins register under the entry-point group `cockpit.plugins`; the value is a `Plugin`
(or a zero-argument callable returning one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from cockpit.model import Record
from cockpit.store.base import Store

__all__ = [
    "ImportContext",
    "Importer",
    "Plugin",
    "PluginLoader",
    "PreparesStore",
    "Sink",
    "Source",
    "SourceContext",
    "SourceFactory",
    "SourceType",
    "Store",
]


@dataclass(frozen=True, slots=True)
class ImportContext:
    """What an importer needs to know beyond the file itself."""

    community: str
    tz: tzinfo | None = None
    tz_name: str | None = None
    platform: str | None = None
    warn: Callable[[str], None] = field(default=lambda message: None)
    # what the importer assumed that the user should know (e.g. the zone it read times in)
    note: Callable[[str], None] = field(default=lambda message: None)


class Importer(Protocol):
    """Reads one kind of export file into records.

    `read` streams: it yields records as it goes and raises `ImportRefused` (with a
    position) when the file as a whole is truncated or corrupt. A single malformed record
    inside a sound file is yielded as `Quarantined` instead.
    """

    name: str
    platform: str
    description: str

    def sniff(self, path: Path, head: bytes) -> bool:
        """True if `path` (a file whose first bytes are `head`, or a directory) is ours."""
        ...

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]: ...


class Sink(Protocol):
    """Where a live source delivers records; `write` returns once they are durable."""

    async def write(
        self, records: Sequence[Record], cursor: tuple[str, str] | None = None
    ) -> None: ...

    async def get_cursor(self, key: str) -> str | None: ...


class Source(Protocol):
    """A live connector: runs until cancelled, resuming from its stored cursor."""

    name: str

    async def run(self, sink: Sink) -> None: ...


@runtime_checkable
class PreparesStore(Protocol):
    """A source that puts something in the store before it runs (the demo's calendar)."""

    async def prepare(self, store: Store) -> None: ...


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What a source gets besides its own settings."""

    name: str
    community: str
    config_dir: Path


SourceFactory = Callable[[Any, SourceContext], Source]


@dataclass(frozen=True, slots=True)
class SourceType:
    """A kind of live source a plugin offers, with its typed settings model."""

    name: str
    settings: type[BaseModel]
    create: SourceFactory


ACTIONS = frozenset(
    {
        "delete",
        "purge",
        "warn",
        "timeout",
        "kick",
        "ban",
        "unban",
        "lock",
        "unlock",
        "slowmode",
        "say",
    }
)
"""The actions of `cockpit mod ACTION`; a plugin declares the ones its platform can carry out."""


@dataclass(frozen=True, slots=True)
class Plugin:
    """One plugin: its importers, its kinds of live source, and the actions it can take.

    `actions` is a declaration only (a subset of `ACTIONS`): what `cockpit mod` may ask of
    this platform once the plugin implements it. An unknown name is refused at load time.
    """

    name: str
    description: str
    platform: str | None = None
    importers: Sequence[Importer] = ()
    sources: Mapping[str, SourceType] = field(default_factory=dict)
    actions: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.actions) - ACTIONS)
        if unknown:
            known = ", ".join(sorted(ACTIONS))
            raise ValueError(f"plugin {self.name!r}: unknown actions {unknown} (known: {known})")

    @property
    def offers(self) -> list[str]:
        out = []
        if self.sources:
            out.append("live connector")
        if self.importers:
            out.append("importer")
        return out


PluginLoader = Callable[[], Plugin | Awaitable[Plugin]]
