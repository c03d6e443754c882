"""The calendar feature's data: events, the reminder log and the hour-of-week activity
rollup that slot suggestions read. Each backend implements it inside `cockpit/store/`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, Protocol

from cockpit.calendar.model import Event, EventKind, Occurrence

if TYPE_CHECKING:
    from cockpit.store.base import WriteResult


class CalendarRepository(Protocol):
    async def save(self, event: Event) -> str:
        """Insert or replace an event by UID: 'new', 'updated' or 'unchanged'."""
        ...

    async def delete(self, uid: str) -> bool: ...

    async def get(self, uid: str) -> Event | None: ...

    async def find(self, term: str, community: str | None = None) -> Event:
        """An event by UID or a unique UID prefix (as `cockpit calendar` prints it)."""
        ...

    async def events(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        community: str | None = None,
        kind: EventKind | None = None,
    ) -> list[Event]:
        """Events with an occurrence that may fall in [start, end) (all without bounds)."""
        ...

    async def occurrences(
        self,
        start: datetime,
        end: datetime,
        viewer: tzinfo = UTC,
        community: str | None = None,
        kind: EventKind | None = None,
    ) -> list[Occurrence]:
        """Every instance in [start, end), oldest first; floating times read in `viewer`."""
        ...

    async def claim_reminder(
        self, uid: str, occurrence: datetime, offset: int, receiver: str
    ) -> bool:
        """Take a reminder for sending; False when it was sent (or is being sent) already."""
        ...

    async def finish_reminder(
        self,
        uid: str,
        occurrence: datetime,
        offset: int,
        receiver: str,
        state: str,
        error: str | None = None,
    ) -> None:
        """Record how a claimed reminder went: 'sent', 'failed' (retried) or 'skipped'."""
        ...

    async def reminder_log(self, uid: str | None = None) -> list[dict[str, Any]]: ...

    async def catch_up_rollup(self, max_rows: int | None = None) -> int:
        """Fold activities stored since the last call into the hour-of-week rollup."""
        ...

    async def rebuild_rollup(self) -> int:
        """Forget the rollup and build it again from every stored activity."""
        ...

    def listener(self) -> Callable[[WriteResult], Awaitable[None]]:
        """A writer commit listener that keeps the rollup current at ingest."""
        ...

    async def hour_presence(self, community: str, since: datetime) -> dict[int, int]:
        """Hour of week -> bitset of members (bit = member row id) active then, since `since`."""
        ...

    async def member_hours(self, member_id: int) -> dict[int, int]:
        """Hour of week -> activities of one member (a member's rhythm in the pane)."""
        ...
