"""The one storage interface; SQLite implements it today, PostgreSQL can tomorrow."""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cockpit.errors import CockpitError
from cockpit.model import Kind, Record
from cockpit.timeutil import Clock, iso_z

if TYPE_CHECKING:
    from cockpit.alerts.repository import AlertRepository
    from cockpit.calendar.repository import CalendarRepository
    from cockpit.collect.repository import HealthRepository
    from cockpit.moderation.repository import ModerationRepository
    from cockpit.scoring.config import ScoringSettings
    from cockpit.scoring.repository import IdentityRepository, ScoringRepository

from cockpit.store.lease import Lease as Lease  # re-exported: callers outside the store use it


@dataclass(frozen=True, slots=True)
class WriteResult:
    new: int = 0
    duplicate: int = 0
    updated: int = 0
    quarantined: int = 0
    new_ids: tuple[int, int] | None = None  # first and last row id inserted

    def __add__(self, other: WriteResult) -> WriteResult:
        ids = self.new_ids
        if other.new_ids:
            ids = (ids[0] if ids else other.new_ids[0], other.new_ids[1])
        return WriteResult(
            self.new + other.new,
            self.duplicate + other.duplicate,
            self.updated + other.updated,
            self.quarantined + other.quarantined,
            ids,
        )


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """An activity as read back from the store, with its author and channel resolved."""

    id: int
    community: str
    platform: str
    source_id: str
    kind: Kind
    ts: datetime
    channel: str
    channel_id: str
    member_id: int
    author: str
    author_handle: str | None
    author_id: str
    is_bot: bool
    text: str
    reply_to: str | None
    thread: str | None
    mentions: tuple[str, ...]
    attachments: int
    reactions: int
    edited_ts: datetime | None
    deleted: bool
    extras: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape of an Activity."""
        return {
            "platform": self.platform,
            "id": self.source_id,
            "kind": self.kind.value,
            "ts": iso_z(self.ts),
            "community": self.community,
            "channel": self.channel,
            "channel_id": self.channel_id,
            "author": self.author,
            "author_id": self.author_id,
            "author_handle": self.author_handle,
            "text": self.text,
            "reply_to": self.reply_to,
            "thread": self.thread,
            "mentions": list(self.mentions),
            "attachments": self.attachments,
            "reactions": self.reactions,
            "edited_ts": iso_z(self.edited_ts) if self.edited_ts else None,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
        }


@dataclass(frozen=True, slots=True)
class MemberRow:
    id: int
    community: str
    platform: str
    platform_user_id: str
    handle: str | None
    display_name: str
    is_bot: bool
    first_seen: datetime | None
    last_seen: datetime | None
    activity_count: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "community": self.community,
            "platform": self.platform,
            "platform_user_id": self.platform_user_id,
            "handle": self.handle,
            "display_name": self.display_name,
            "is_bot": self.is_bot,
            "first_seen": iso_z(self.first_seen) if self.first_seen else None,
            "last_seen": iso_z(self.last_seen) if self.last_seen else None,
            "activities": self.activity_count,
        }


@dataclass(frozen=True, slots=True)
class ChannelRow:
    id: int
    community: str
    platform: str
    channel_id: str
    name: str


@dataclass(frozen=True, slots=True)
class FeedQuery:
    """Filters for the activity feed; every field narrows, None means any."""

    since: datetime | None = None
    until: datetime | None = None
    platforms: Sequence[str] = ()
    channels: Sequence[str] = ()
    member_ids: Sequence[int] = ()
    kinds: Sequence[Kind] = ()
    search: str | None = None
    community: str | None = None
    limit: int = 50
    before: tuple[datetime, int] | None = None  # keyset paging backwards: (ts, id)
    after_id: int | None = None  # live tail: rows inserted after this id


@dataclass(frozen=True, slots=True)
class ImportRecord:
    id: int
    fingerprint: str
    path: str
    format: str
    state: str  # running | done | refused
    position: int  # records already committed
    counts: WriteResult = field(default_factory=WriteResult)


@dataclass(frozen=True, slots=True)
class StoreStats:
    activities: int
    members: int
    channels: int
    communities: int
    quarantined: int
    last_ts: datetime | None


class StoreFull(CockpitError):
    """An import's write failed because the store's disk (or its size limit) is full.

    `free` is how many bytes are left where the store lives (None when unknown).
    """

    def __init__(self, message: str, free: int | None = None) -> None:
        self.free = free
        super().__init__(message)


class Store(abc.ABC):
    """Everything the cockpit asks of storage: the activities here, each feature's data
    behind its own repository (`store.alerts`, `store.calendar`, ...). One writer; readers
    never block it. Open one with `cockpit.store.open_store`."""

    path: str  # where it is, as the operator named it (a file path or a URL, secrets hidden)
    clock: Clock

    @abc.abstractmethod
    async def close(self) -> None: ...

    @property
    @abc.abstractmethod
    def writable(self) -> bool:
        """False when opened read-only (an attached cockpit): writes go through requests."""

    # each feature's data
    @property
    @abc.abstractmethod
    def alerts(self) -> AlertRepository: ...

    @property
    @abc.abstractmethod
    def calendar(self) -> CalendarRepository: ...

    @property
    @abc.abstractmethod
    def identity(self) -> IdentityRepository: ...

    @property
    @abc.abstractmethod
    def moderation(self) -> ModerationRepository: ...

    @property
    @abc.abstractmethod
    def health(self) -> HealthRepository: ...

    @abc.abstractmethod
    def scoring(self, settings: ScoringSettings | None = None) -> ScoringRepository:
        """The scoring rollups as `settings` weigh them (one repository per settings)."""

    # writes
    @staticmethod
    def prepare(records: Sequence[Record]) -> Any:
        """Validate and serialise records for `write_prepared`. Pure and picklable, so an
        import can run it in the process that parses, away from the writer."""
        return records

    @abc.abstractmethod
    async def write_prepared(
        self,
        prepared: Any,
        cursors: Sequence[tuple[str, str]] = (),
        import_id: int | None = None,
        import_position: int | None = None,
    ) -> WriteResult:
        """`write` for records already run through `prepare`."""

    @abc.abstractmethod
    async def write(
        self,
        records: Sequence[Record],
        cursors: Sequence[tuple[str, str]] = (),
        import_id: int | None = None,
        import_position: int | None = None,
    ) -> WriteResult:
        """Store records and cursors in one transaction; idempotent by (platform, source_id)."""

    @abc.abstractmethod
    async def get_cursor(self, key: str) -> str | None: ...

    @abc.abstractmethod
    async def begin_import(self, fingerprint: str, path: str, fmt: str) -> ImportRecord: ...

    @abc.abstractmethod
    async def finish_import(self, import_id: int, counts: WriteResult) -> None: ...

    @abc.abstractmethod
    async def refuse_import(self, import_id: int, reason: str) -> int:
        """Take back every row this import added; returns how many were removed."""

    # reads
    @abc.abstractmethod
    async def feed(self, query: FeedQuery) -> list[ActivityRow]: ...

    @abc.abstractmethod
    async def activity(self, platform: str, source_id: str) -> ActivityRow | None: ...

    @abc.abstractmethod
    async def members(
        self, community: str | None = None, platform: str | None = None, limit: int | None = None
    ) -> list[MemberRow]: ...

    @abc.abstractmethod
    async def find_members(self, term: str, community: str | None = None) -> list[MemberRow]:
        """Members whose id, handle or display name is `term` (exact, case-insensitive)."""

    @abc.abstractmethod
    async def channels(self, community: str | None = None) -> list[ChannelRow]: ...

    @abc.abstractmethod
    async def stats(self) -> StoreStats: ...

    @abc.abstractmethod
    async def quarantine(self, limit: int = 100) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    async def max_activity_id(self) -> int: ...

    @abc.abstractmethod
    async def member(self, member_id: int) -> MemberRow | None: ...

    @abc.abstractmethod
    async def activity_counts(
        self,
        since: datetime,
        bucket: timedelta,
        community: str | None = None,
        member_id: int | None = None,
        platform: str | None = None,
        until: datetime | None = None,
    ) -> list[tuple[datetime, int]]:
        """Activities per time bucket from `since` on, oldest first, empty buckets as 0."""

    @abc.abstractmethod
    async def active_members(self, since: datetime, community: str | None = None) -> int:
        """Distinct members who posted, replied or reacted since `since`."""

    @abc.abstractmethod
    async def integrity_check(self) -> str: ...

    # singletons across processes, and change notices for attached cockpits
    @abc.abstractmethod
    async def lease(self, name: str, holder: str, ttl: timedelta) -> Lease | None:
        """Take or renew the lease `name` for `holder` for `ttl`; None while another holds it.
        Every change of holder raises the lease's fencing token."""

    @abc.abstractmethod
    async def release(self, lease: Lease) -> None: ...

    @abc.abstractmethod
    async def lease_current(self, lease: Lease) -> bool:
        """Whether `lease` is still the current one (same token, not expired)."""

    @abc.abstractmethod
    async def leases(self) -> list[Lease]:
        """Every lease with its holder and expiry (who evaluates alerts, who reminds)."""

    @abc.abstractmethod
    def changes(self, interval: float = 0.5) -> AsyncGenerator[str, None]:
        """Notices of committed changes ("activity:<last id>", "alert"), for attached
        cockpits: pushed by PostgreSQL (LISTEN/NOTIFY), polled every `interval` seconds on
        SQLite."""

    @abc.abstractmethod
    async def wait_for_change(self, timeout: float) -> str | None:
        """The next change notice, or None after `timeout` seconds without one."""
