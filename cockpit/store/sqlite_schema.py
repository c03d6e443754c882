"""The SQLite schema as numbered migrations.

The core tables are versioned by `PRAGMA user_version`. Each feature (alerts, calendar,
scoring, ...) keeps its own numbered list in its own `sqlite_<feature>.py` module, listed in
`FEATURE_MIGRATIONS` below, and versioned in the `feature_schema` table, so features can
grow their tables independently.
"""

from __future__ import annotations

from cockpit.store.schema_alerts import MIGRATIONS as ALERTS_MIGRATIONS
from cockpit.store.schema_calendar import MIGRATIONS as CALENDAR_MIGRATIONS
from cockpit.store.schema_collect import MIGRATIONS as COLLECT_MIGRATIONS
from cockpit.store.schema_moderation import MODERATION_MIGRATIONS
from cockpit.store.schema_scoring import MIGRATIONS as SCORING_MIGRATIONS

MIGRATIONS: list[str] = [
    # 1: the foundation
    """
    CREATE TABLE community (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE channel (
        id INTEGER PRIMARY KEY,
        community_id INTEGER NOT NULL REFERENCES community(id),
        platform TEXT NOT NULL,
        source_id TEXT NOT NULL,
        name TEXT NOT NULL,
        UNIQUE (community_id, platform, source_id)
    );
    CREATE TABLE member (
        id INTEGER PRIMARY KEY,
        community_id INTEGER NOT NULL REFERENCES community(id),
        platform TEXT NOT NULL,
        platform_user_id TEXT NOT NULL,
        handle TEXT,
        display_name TEXT NOT NULL,
        is_bot INTEGER NOT NULL DEFAULT 0,
        first_seen INTEGER,
        last_seen INTEGER,
        activity_count INTEGER NOT NULL DEFAULT 0,
        person_id INTEGER,
        UNIQUE (community_id, platform, platform_user_id)
    );
    CREATE INDEX member_handle ON member (handle COLLATE NOCASE);
    CREATE INDEX member_display ON member (display_name COLLATE NOCASE);
    CREATE TABLE import_file (
        id INTEGER PRIMARY KEY,
        fingerprint TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        format TEXT NOT NULL,
        state TEXT NOT NULL,
        position INTEGER NOT NULL DEFAULT 0,
        started INTEGER NOT NULL,
        finished INTEGER,
        new INTEGER NOT NULL DEFAULT 0,
        duplicate INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0,
        quarantined INTEGER NOT NULL DEFAULT 0,
        reason TEXT
    );
    CREATE TABLE activity (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        community_id INTEGER NOT NULL REFERENCES community(id),
        platform TEXT NOT NULL,
        source_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        ts INTEGER NOT NULL,
        channel_id INTEGER NOT NULL REFERENCES channel(id),
        member_id INTEGER NOT NULL REFERENCES member(id),
        text TEXT NOT NULL DEFAULT '',
        reply_to TEXT,
        thread TEXT,
        mentions TEXT,
        attachments INTEGER NOT NULL DEFAULT 0,
        reactions INTEGER NOT NULL DEFAULT 0,
        edited_ts INTEGER,
        deleted INTEGER NOT NULL DEFAULT 0,
        extras TEXT,
        import_id INTEGER,
        UNIQUE (platform, source_id)
    );
    CREATE INDEX activity_ts ON activity (ts);
    CREATE INDEX activity_member_ts ON activity (member_id, ts);
    CREATE INDEX activity_channel_ts ON activity (channel_id, ts);
    -- the id ranges each import inserted: refusing a file deletes these rows without an index
    -- on activity.import_id (which every imported row would pay for)
    CREATE TABLE import_range (
        import_id INTEGER NOT NULL REFERENCES import_file(id),
        first_id INTEGER NOT NULL,
        last_id INTEGER NOT NULL
    );
    CREATE VIRTUAL TABLE activity_fts USING fts5 (
        text, content='activity', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    );
    -- New rows are indexed in bulk by the writer, in the same transaction (3x faster than a
    -- per-row trigger); edits and deletes keep the index in step through these triggers.
    CREATE TRIGGER activity_fts_delete AFTER DELETE ON activity WHEN old.text != '' BEGIN
        INSERT INTO activity_fts (activity_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TRIGGER activity_fts_update AFTER UPDATE OF text ON activity BEGIN
        INSERT INTO activity_fts (activity_fts, rowid, text)
            SELECT 'delete', old.id, old.text WHERE old.text != '';
        INSERT INTO activity_fts (rowid, text) SELECT new.id, new.text WHERE new.text != '';
    END;
    CREATE TABLE feature_schema (
        feature TEXT PRIMARY KEY,
        version INTEGER NOT NULL
    );
    CREATE TABLE cursor (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        received INTEGER NOT NULL,
        platform TEXT NOT NULL,
        origin TEXT NOT NULL,
        position TEXT NOT NULL,
        reason TEXT NOT NULL,
        raw TEXT NOT NULL,
        import_id INTEGER,
        UNIQUE (origin, position, reason)
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)

# feature name -> its migrations, oldest first; append to a list, never edit a shipped entry
FEATURE_MIGRATIONS: dict[str, list[str]] = {}
FEATURE_MIGRATIONS["calendar"] = CALENDAR_MIGRATIONS
FEATURE_MIGRATIONS["alerts"] = ALERTS_MIGRATIONS
FEATURE_MIGRATIONS["scoring"] = SCORING_MIGRATIONS
FEATURE_MIGRATIONS["collect"] = COLLECT_MIGRATIONS
FEATURE_MIGRATIONS["moderation"] = MODERATION_MIGRATIONS
FEATURE_MIGRATIONS["lease"] = [
    # 1: singletons (alert evaluation, reminders, jobs): one holder at a time, fenced by token
    """
    CREATE TABLE lease (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        token INTEGER NOT NULL,
        expires INTEGER NOT NULL
    );
    """,
]
