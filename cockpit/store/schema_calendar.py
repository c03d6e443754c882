"""The calendar's tables, as numbered migrations (oldest first; never edit a shipped entry).

Times are integer ms UTC. A start is kept twice: as the wall-clock time in its zone (what
recurrences repeat) and as the UTC instant of the first occurrence (what queries index).
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: events, edited occurrences, shifts, the reminder log, the hour-of-week rollup
    """
    CREATE TABLE cal_event (
        id INTEGER PRIMARY KEY,
        community TEXT NOT NULL,
        uid TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL DEFAULT 'event',
        title TEXT NOT NULL,
        time_kind TEXT NOT NULL,
        start_local TEXT NOT NULL,
        tz TEXT,
        duration_s INTEGER NOT NULL,
        rrule TEXT,
        first_utc INTEGER NOT NULL,
        last_utc INTEGER,
        platform TEXT,
        channel TEXT,
        host TEXT,
        regions TEXT NOT NULL DEFAULT '[]',
        description TEXT NOT NULL DEFAULT '',
        reminders TEXT,
        sequence INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE INDEX cal_event_span ON cal_event (community, first_utc, last_utc);
    CREATE TABLE cal_exdate (
        event_id INTEGER NOT NULL REFERENCES cal_event(id) ON DELETE CASCADE,
        recurrence_local TEXT NOT NULL,
        PRIMARY KEY (event_id, recurrence_local)
    ) WITHOUT ROWID;
    CREATE TABLE cal_override (
        event_id INTEGER NOT NULL REFERENCES cal_event(id) ON DELETE CASCADE,
        recurrence_local TEXT NOT NULL,
        start_local TEXT NOT NULL,
        duration_s INTEGER NOT NULL,
        title TEXT,
        host TEXT,
        description TEXT,
        PRIMARY KEY (event_id, recurrence_local)
    ) WITHOUT ROWID;
    CREATE TABLE cal_reminder_sent (
        uid TEXT NOT NULL,
        occurrence_utc INTEGER NOT NULL,
        offset_s INTEGER NOT NULL,
        receiver TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL,
        error TEXT,
        PRIMARY KEY (uid, occurrence_utc, offset_s, receiver)
    ) WITHOUT ROWID;
    CREATE TABLE cal_member_hour (
        member_id INTEGER NOT NULL,
        hour_of_week INTEGER NOT NULL,
        period INTEGER NOT NULL,
        community_id INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (member_id, hour_of_week, period)
    ) WITHOUT ROWID;
    CREATE TABLE cal_hour_members (
        community_id INTEGER NOT NULL,
        hour_of_week INTEGER NOT NULL,
        period INTEGER NOT NULL,
        bits BLOB NOT NULL,
        PRIMARY KEY (community_id, period, hour_of_week)
    ) WITHOUT ROWID;
    CREATE TABLE cal_rollup_state (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    """,
]
