"""The collector's SQL for PostgreSQL: connector health written by `cockpit collect`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cockpit.collect.health import ConnectorHealth
from cockpit.collect.repository import HealthRow
from cockpit.store.postgres.store import Conn, PostgresStore
from cockpit.timeutil import from_ms, to_ms, utcnow

_UPSERT = """
INSERT INTO source_health (name, type, community, state, detail, last_event, last_ok,
                           rate_limit_waits, rate_limit_wait_ms, errors, events, updated)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (name) DO UPDATE SET
    type = excluded.type, community = excluded.community, state = excluded.state,
    detail = excluded.detail, last_event = excluded.last_event, last_ok = excluded.last_ok,
    rate_limit_waits = excluded.rate_limit_waits, rate_limit_wait_ms = excluded.rate_limit_wait_ms,
    errors = excluded.errors, events = excluded.events, updated = excluded.updated
"""


def _ms(value: datetime | None) -> int | None:
    return to_ms(value) if value is not None else None


class PgHealthStore:
    """Connector health in a PostgresStore (`save_health`/`load_health` of the SQLite one)."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    async def save(self, entries: Iterable[ConnectorHealth], now: datetime | None = None) -> None:
        stamp = to_ms(now or utcnow())
        rows = [
            (
                h.name,
                h.type,
                h.community,
                h.state,
                h.detail,
                _ms(h.last_event),
                _ms(h.last_ok),
                h.rate_limit_waits,
                round(h.rate_limit_wait_s * 1000),
                h.errors,
                h.events,
                stamp,
            )
            for h in entries
        ]
        if not rows:
            return

        async def run(conn: Conn) -> None:
            async with conn.cursor() as cur:
                await cur.executemany(_UPSERT, rows)

        await self.store.transaction(run)

    async def load(self, community: str | None = None) -> list[HealthRow]:
        """Every source's last reported health, by name."""
        query = (
            "SELECT name, type, community, state, detail, last_event, last_ok, rate_limit_waits,"
            " rate_limit_wait_ms, errors, events, updated FROM source_health"
        )
        params: list[Any] = []
        if community is not None:
            query += " WHERE community = %s"
            params.append(community)
        rows = await self.store.fetchall(query + ' ORDER BY name COLLATE "C"', params)
        return [
            HealthRow(
                name=r[0],
                type=r[1],
                community=r[2],
                state=r[3],
                detail=r[4],
                last_event=from_ms(r[5]) if r[5] is not None else None,
                last_ok=from_ms(r[6]) if r[6] is not None else None,
                rate_limit_waits=r[7],
                rate_limit_wait_s=r[8] / 1000,
                errors=r[9],
                events=r[10],
                updated=from_ms(r[11]),
            )
            for r in rows
        ]
