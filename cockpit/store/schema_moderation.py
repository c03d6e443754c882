"""The case log's tables (SQLite dialect; the PostgreSQL ones are in postgres/schema.py)."""

from __future__ import annotations

MODERATION_MIGRATIONS = [
    # 1: cases, a step per platform, their events, member notes, deleted messages
    """
    CREATE TABLE mod_case (
        number INTEGER PRIMARY KEY AUTOINCREMENT,
        community TEXT NOT NULL,
        action TEXT NOT NULL,
        reason TEXT NOT NULL,
        operator TEXT NOT NULL,
        label TEXT NOT NULL,
        created INTEGER NOT NULL,
        member_id INTEGER,
        person_id INTEGER,
        alert_id INTEGER,
        activity_ids TEXT NOT NULL DEFAULT '[]',
        until INTEGER,
        text TEXT,
        delete_history_s INTEGER,
        slowmode_seconds INTEGER,
        reverts INTEGER,
        closed TEXT,
        updated INTEGER NOT NULL
    );
    CREATE INDEX mod_case_member ON mod_case (member_id);
    CREATE INDEX mod_case_until ON mod_case (until) WHERE until IS NOT NULL AND closed IS NULL;
    CREATE TABLE mod_step (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        case_no INTEGER NOT NULL REFERENCES mod_case(number),
        platform TEXT NOT NULL,
        community TEXT NOT NULL,
        member_id INTEGER,
        user_id TEXT,
        channel_id TEXT,
        message_ids TEXT NOT NULL DEFAULT '[]',
        label TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        ref TEXT,
        restore TEXT,
        lifts_itself INTEGER NOT NULL DEFAULT 0,
        claimed_by TEXT,
        claimed_at INTEGER,
        finished_at INTEGER
    );
    CREATE INDEX mod_step_case ON mod_step (case_no);
    CREATE INDEX mod_step_queue ON mod_step (status, platform, community);
    CREATE INDEX mod_step_member ON mod_step (member_id) WHERE member_id IS NOT NULL;
    CREATE TABLE mod_event (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        case_no INTEGER NOT NULL REFERENCES mod_case(number),
        kind TEXT NOT NULL,
        at INTEGER NOT NULL,
        who TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX mod_event_case ON mod_event (case_no);
    CREATE TABLE mod_note (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id INTEGER NOT NULL,
        text TEXT NOT NULL,
        who TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE INDEX mod_note_member ON mod_note (member_id);
    CREATE TABLE mod_removed (
        platform TEXT NOT NULL,
        message_id TEXT NOT NULL,
        case_no INTEGER NOT NULL,
        PRIMARY KEY (platform, message_id)
    );
    """,
    # 2: where a case came from, unique (a rule acts once per alert and action), by alert
    """
    ALTER TABLE mod_case ADD COLUMN origin TEXT;
    CREATE UNIQUE INDEX mod_case_origin ON mod_case (origin) WHERE origin IS NOT NULL;
    CREATE INDEX mod_case_alert ON mod_case (alert_id) WHERE alert_id IS NOT NULL;
    """,
    # 3: the platform role a role_add/role_remove gives or takes; role rewards by operator
    """
    ALTER TABLE mod_case ADD COLUMN role TEXT;
    CREATE INDEX mod_case_operator ON mod_case (operator, action);
    """,
]
