"""What a platform plugin offers the core: importers for export files, live sources.

Plugins register under the entry-point group `cockpit.plugins`; the value is a `Plugin`
(or a zero-argument callable returning one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from cockpit.model import Record
from cockpit.store.base import Store

__all__ = [
    "ACTIONS",
    "TEMPORARY",
    "ActionCall",
    "ActionOutcome",
    "ActionTarget",
    "Actor",
    "ActorFactory",
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
    # how the process holding this source's token acts on its platform (None: it cannot)
    actor: ActorFactory | None = None


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
        "role_add",
        "role_remove",
    }
)
"""The actions of `cockpit mod ACTION`; a plugin declares the ones its platform can carry out.
`role_add`/`role_remove` give and take a platform role (a Discord role, a Discourse group):
what role rewards and a welcome's delayed role ask for."""

TEMPORARY = frozenset({"timeout", "ban", "lock", "slowmode"})
"""Actions that may carry a duration (`--for`); the token holder lifts them when due unless
the platform does so itself (`ActionOutcome.lifts_itself`)."""


@dataclass(frozen=True, slots=True)
class ActionTarget:
    """What one platform call acts on, in that platform's own ids.

    The core resolves a MEMBER, a person, an activity or a channel to one target per
    platform; the plugin never looks anything up in the store.
    """

    platform: str
    community: str
    user_id: str | None = None  # the platform's user id (member actions)
    channel_id: str | None = None  # the platform's channel/chat/topic id
    message_ids: tuple[str, ...] = ()  # the platform's message ids (delete, purge, a reply)
    label: str = ""  # how a person reads the target in a line ("@mallory on discord")


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One action on one platform, as the operator confirmed it.

    `key` is unique per call and stable across retries and restarts (the case number and
    the platform): a plugin passes it where the platform deduplicates (Discord's `nonce`
    with `enforce_nonce`), and uses it to recognise its own earlier attempt in `verify`.
    """

    action: str  # one of ACTIONS
    target: ActionTarget
    reason: str
    key: str
    operator: str = ""
    until: datetime | None = None  # end of a temporary action (UTC); None: permanent, and
    # for `timeout` None lifts a timeout (the undo of one)
    text: str | None = None  # what `say` and `warn` post
    delete_history: timedelta | None = None  # ban: delete the member's recent messages
    slowmode_seconds: int | None = None  # slowmode: seconds between a member's messages
    restore: Mapping[str, Any] | None = None  # unlock/unslow: what the lock's outcome saved
    role: str | None = None  # role_add/role_remove: the platform's role (or group) id


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """The platform's answer to one call, in one line a moderator can act on.

    `done`: the platform confirmed it. `failed`: the platform refused or it could not be
    sent (nothing happened). `unknown`: sent, but the answer was lost (a transport error
    after the request left): never retried blindly; the executor asks `verify` later.
    """

    status: Literal["done", "failed", "unknown"]
    detail: str
    ref: str | None = None  # what the platform created (the id of a posted message)
    restore: Mapping[str, Any] | None = None  # lock/slowmode: what unlock puts back
    lifts_itself: bool = False  # the platform ends it at `until` (Discord timeout)
    retry_after: float | None = None  # failed on a rate limit that outlasted our patience


@runtime_checkable
class Actor(Protocol):
    """Carries out actions on a platform with the token of the source it was built from.

    `actions` maps each platform this actor serves (the demo serves several) to the actions
    it can carry out there. `perform` never raises for a platform's refusal: every answer is
    an `ActionOutcome`. `verify` checks, after a crash or a lost answer, whether the call
    took effect (is the ban there? is the message gone?): `done`, `failed`, or None when
    the platform cannot tell (then the case stays unknown for a human to check).
    """

    actions: Mapping[str, frozenset[str]]

    async def perform(self, call: ActionCall) -> ActionOutcome: ...

    async def verify(self, call: ActionCall) -> ActionOutcome | None: ...

    async def aclose(self) -> None: ...


ActorFactory = Callable[[Any, SourceContext], Actor]
"""Builds the actor of a source from its typed settings (token, base URL, guild)."""


@dataclass(frozen=True, slots=True)
class Plugin:
    """One plugin: its importers, its kinds of live source, and the actions it can take.

    `actions` is a declaration only (a subset of `ACTIONS`): what `cockpit mod` may ask of
    this platform once the plugin implements it. An unknown name is refused at load time.
    `per_chat` names the member actions the platform takes in one chat at a time (a
    Telegram ban is a ban from one group): acting on a member then means acting in each
    chat the member was seen in.
    """

    name: str
    description: str
    platform: str | None = None
    importers: Sequence[Importer] = ()
    sources: Mapping[str, SourceType] = field(default_factory=dict)
    actions: frozenset[str] = frozenset()
    per_chat: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = sorted((set(self.actions) | set(self.per_chat)) - ACTIONS)
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
