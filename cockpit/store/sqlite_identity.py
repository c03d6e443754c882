"""Identity links for the SQLite store: which members are one person, on the operator's
word. A change of links marks the scoring rollup for re-settling (`links_changed`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cockpit.errors import CockpitError
from cockpit.store.sqlite_scoring import ScoringStore, links_changed
from cockpit.timeutil import to_ms, utcnow

if TYPE_CHECKING:
    from cockpit.store.sqlite import SQLiteStore


class SQLiteIdentity:
    """The identity repository of a `SQLiteStore`."""

    def __init__(self, store: SQLiteStore, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock
        self.lookup = ScoringStore(store, clock=clock)

    async def persons_of(self, member_ids: Sequence[int]) -> dict[int, int | None]:
        return await self.lookup.persons_of(member_ids)

    async def members_of(self, person_id: int) -> list[int]:
        rows = await self.store.fetchall(
            "SELECT id FROM member WHERE person_id = ? ORDER BY id", (person_id,)
        )
        return [int(r[0]) for r in rows]

    async def key_of(self, member_id: int) -> int:
        return await self.lookup.key_of(member_id)

    async def community_id(self, name: str) -> int:
        return await self.lookup.community_id(name)

    async def link(self, a: int, b: int) -> int:
        """Link two members into one person (merging persons they belong to); the person id."""
        if a == b:
            raise CockpitError(f"#{a} and #{b} are the same member")
        now = to_ms(self.clock())

        def run(conn: sqlite3.Connection) -> int:
            rows = {
                r[0]: r
                for r in conn.execute(
                    "SELECT id, community_id, person_id, display_name FROM member WHERE id IN (?, ?)",
                    (a, b),
                )
            }
            for m in (a, b):
                if m not in rows:
                    raise CockpitError(f"no member #{m}")
            if rows[a][1] != rows[b][1]:
                raise CockpitError(f"#{a} and #{b} are in different communities")
            pa, pb = rows[a][2], rows[b][2]
            if pa is not None and pa == pb:
                return int(pa)
            if pa is None and pb is None:
                pa = conn.execute(
                    "INSERT INTO person (community_id, name, created) VALUES (?, ?, ?) RETURNING id",
                    (rows[a][1], rows[a][3], now),
                ).fetchone()[0]
                conn.execute("UPDATE member SET person_id = ? WHERE id = ?", (pa, a))
            elif pa is None:
                pa, pb = pb, None
                conn.execute("UPDATE member SET person_id = ? WHERE id = ?", (pa, a))
            if pb is not None:
                conn.execute("UPDATE member SET person_id = ? WHERE person_id = ?", (pa, pb))
                conn.execute("DELETE FROM person WHERE id = ?", (pb,))
            conn.execute("UPDATE member SET person_id = ? WHERE id = ?", (pa, b))
            conn.execute(
                "DELETE FROM person_rejected WHERE (a, b) IN (VALUES (?, ?), (?, ?))",
                (a, b, b, a),
            )
            links_changed(conn)
            return int(pa)

        return await self.store.transaction(run)

    async def unlink(self, member_id: int) -> bool:
        """Take one member out of their person; a person left with one identity dissolves."""

        def run(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT person_id FROM member WHERE id = ?", (member_id,)).fetchone()
            if row is None:
                raise CockpitError(f"no member #{member_id}")
            if row[0] is None:
                return False
            conn.execute("UPDATE member SET person_id = NULL WHERE id = ?", (member_id,))
            left = conn.execute("SELECT count(*) FROM member WHERE person_id = ?", (row[0],))
            if int(left.fetchone()[0]) <= 1:
                conn.execute("UPDATE member SET person_id = NULL WHERE person_id = ?", (row[0],))
                conn.execute("DELETE FROM person WHERE id = ?", (row[0],))
            links_changed(conn)
            return True

        return await self.store.transaction(run)

    async def reject(self, a: int, b: int) -> None:
        """Remember that an operator said these two are not one person."""
        lo, hi = min(a, b), max(a, b)
        await self.store.transaction(
            lambda conn: conn.execute(
                "INSERT OR IGNORE INTO person_rejected (a, b) VALUES (?, ?)", (lo, hi)
            )
        )

    async def identities(self, community_id: int) -> list[Any]:
        """Members that may be linked: (id, platform, handle, display, person id, activities)."""
        return await self.store.fetchall(
            "SELECT id, platform, handle, display_name, person_id, activity_count FROM member "
            "WHERE community_id = ? AND is_bot = 0",
            (community_id,),
        )

    async def rejected(self) -> set[tuple[int, int]]:
        return {
            (int(a), int(b))
            for a, b in await self.store.fetchall("SELECT a, b FROM person_rejected")
        }
