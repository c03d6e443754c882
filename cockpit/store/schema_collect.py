"""The collector's tables, as numbered migrations (oldest first; never edit a shipped entry).

`source_health` holds one row per live source: what the header and the sources view show,
and what a rule about failing sources reads. Times are integer ms UTC.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: connector health
    """
    CREATE TABLE source_health (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        community TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT,
        last_event INTEGER,
        last_ok INTEGER,
        rate_limit_waits INTEGER NOT NULL DEFAULT 0,
        rate_limit_wait_ms INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        events INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL
    );
    """,
]
