"""The scoring feature's data: the daily rollup behind the leaderboard, health and reports,
and the identity links that make members into persons. Each backend implements both
inside `cockpit/store/`; nothing outside the store knows which one is there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from cockpit.scoring.topics import Said
from cockpit.timeutil import to_ms

if TYPE_CHECKING:
    from cockpit.scoring.config import ScoringSettings
    from cockpit.store.base import WriteResult

DAY_MS = 86_400_000


def end_day(now: datetime) -> int:
    """The day after `now`'s day (days since the epoch, UTC): windows end there."""
    return to_ms(now) // DAY_MS + 1


@dataclass(frozen=True, slots=True)
class Who:
    """Who a leaderboard row is: a member, or a person linking several members."""

    key: int  # member id, or -person id
    name: str
    handle: str | None
    platforms: tuple[str, ...]
    member_ids: tuple[int, ...]


@dataclass(slots=True)
class Filter:
    """Whom a read counts: a community, and bots and staff left out (by default)."""

    community_id: int
    excluded: list[int] = field(default_factory=list)  # member ids
    exclude_bots: bool = True


class ScoringRepository(Protocol):
    """Rollup reads and maintenance; days are days since the epoch, times epoch ms."""

    settings: ScoringSettings

    async def catch_up(self, max_rows: int | None = None) -> int:
        """Fold activities stored since the last call into the rollup; how many ids."""
        ...

    async def rebuild(self) -> int:
        """Forget the rollup and build it again (after a settings change)."""
        ...

    def listener(self) -> Callable[[WriteResult], Awaitable[None]]:
        """A writer commit listener that keeps the rollup current at ingest."""
        ...

    async def community_id(self, name: str) -> int: ...

    async def communities(self) -> list[str]: ...

    async def filter(self, community: str) -> Filter:
        """Bots and (by config) staff, and every identity linked to a staff identity."""
        ...

    async def who(self, keys: Sequence[int]) -> dict[int, Who]: ...

    async def key_of(self, member_id: int) -> int: ...

    async def persons_of(self, member_ids: Sequence[int]) -> dict[int, int | None]: ...

    async def window_scores(
        self,
        f: Filter,
        start_day: int | None,
        end_day: int,
        keys: Sequence[int] | None = None,
        limit: int | None = None,
    ) -> list[tuple[int, int, dict[str, int], dict[str, float]]]: ...

    async def window_ranks(
        self, f: Filter, start_day: int | None, end_day: int, keys: Sequence[int]
    ) -> dict[int, int]: ...

    async def first_day(self, f: Filter) -> int | None:
        """The first day with any rollup row for the filter's community."""
        ...

    async def plain_scores(
        self, f: Filter, start_ms: int, end_ms: int, limit: int
    ) -> list[Any]: ...

    async def influence(
        self, f: Filter, start_day: int | None, end_day: int
    ) -> tuple[dict[int, int], list[tuple[int, int, float]]]: ...

    async def centrality(
        self, f: Filter, start_day: int | None, end_day: int
    ) -> tuple[dict[int, int], dict[int, float]]: ...

    async def lifetime(self, keys: Sequence[int]) -> dict[int, dict[str, Any]]: ...

    async def churn(self, f: Filter, today: int) -> list[tuple[int, int, int]]: ...

    async def day_posts(
        self, f: Filter, key: int, start_day: int, end_day: int
    ) -> dict[int, int]: ...

    async def active(self, f: Filter, start_day: int, end_day: int) -> tuple[int, int]: ...

    async def daily(
        self, f: Filter, start_day: int, end_day: int
    ) -> dict[int, tuple[int, int]]: ...

    async def members_count(self, f: Filter, before_ms: int | None = None) -> int: ...

    async def joins_leaves(self, f: Filter, start_day: int, end_day: int) -> tuple[int, int]: ...

    async def questions(
        self, f: Filter, start_ms: int, end_ms: int
    ) -> list[tuple[int, int | None]]: ...

    async def unanswered(self, f: Filter, start_ms: int, limit: int) -> list[dict[str, Any]]: ...

    async def posts_per_person(self, f: Filter, start_day: int, end_day: int) -> list[int]:
        """Messages of each person who posted in [start_day, end_day), most first."""
        ...

    async def newcomers_spoke(self, f: Filter, start_ms: int, end_ms: int) -> tuple[int, int]:
        """(people first seen in [start, end), of them those who posted in their first
        seven days)."""
        ...

    async def texts(self, f: Filter, start_ms: int, end_ms: int, limit: int) -> list[Said]:
        """Messages in [start, end), newest first, at most `limit`, with their channel
        (what topics read)."""
        ...

    async def newcomers(self, f: Filter, start_ms: int, end_ms: int, gone_ms: int) -> list[Any]: ...


class IdentityRepository(Protocol):
    """Which members are one person: the operator's links, unlinks and rejections."""

    async def link(self, a: int, b: int) -> int:
        """Link two members into one person (merging persons); the person id."""
        ...

    async def unlink(self, member_id: int) -> bool:
        """Take one member out of their person; a person left with one identity dissolves."""
        ...

    async def reject(self, a: int, b: int) -> None:
        """Remember that an operator said these two are not one person."""
        ...

    async def identities(self, community_id: int) -> list[Any]:
        """Members that may be linked: (id, platform, handle, display, person id, activities)."""
        ...

    async def rejected(self) -> set[tuple[int, int]]: ...

    async def members_of(self, person_id: int) -> list[int]:
        """The member ids linked into this person (an action "everywhere" runs on each)."""
        ...

    async def persons_of(self, member_ids: Sequence[int]) -> dict[int, int | None]: ...

    async def key_of(self, member_id: int) -> int: ...

    async def community_id(self, name: str) -> int: ...
