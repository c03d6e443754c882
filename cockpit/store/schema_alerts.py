"""Tables of the alerts feature: alerts, silences, notification groups and log, the outbox.

Times are integer ms UTC. Append new migrations; never edit a shipped one.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: alerts, silences, notification log, outbox
    """
    CREATE TABLE alert (
        id INTEGER PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        rule TEXT NOT NULL,
        community TEXT NOT NULL,
        severity TEXT NOT NULL,
        state TEXT NOT NULL,
        labels TEXT NOT NULL,
        annotations TEXT NOT NULL,
        notify TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        value REAL NOT NULL DEFAULT 0,
        count INTEGER NOT NULL DEFAULT 0,
        activity_ids TEXT NOT NULL DEFAULT '[]',
        active_at INTEGER NOT NULL,
        fired_at INTEGER,
        resolved_at INTEGER,
        updated INTEGER NOT NULL,
        acked_at INTEGER,
        acked_by TEXT,
        resolved_by TEXT
    );
    CREATE UNIQUE INDEX alert_open ON alert (fingerprint) WHERE state != 'resolved';
    CREATE INDEX alert_state ON alert (state, updated);
    CREATE TABLE silence (
        id INTEGER PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts INTEGER NOT NULL,
        ends INTEGER NOT NULL,
        comment TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created INTEGER NOT NULL
    );
    CREATE TABLE alert_group (
        receiver TEXT NOT NULL,
        group_key TEXT NOT NULL,
        next_flush INTEGER NOT NULL,
        PRIMARY KEY (receiver, group_key)
    );
    CREATE TABLE notification_log (
        receiver TEXT NOT NULL,
        group_key TEXT NOT NULL,
        firing TEXT NOT NULL,
        resolved TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        PRIMARY KEY (receiver, group_key)
    );
    CREATE TABLE escalation (
        alert_id INTEGER NOT NULL,
        receiver TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        PRIMARY KEY (alert_id, receiver)
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        receiver TEXT NOT NULL,
        group_key TEXT NOT NULL,
        notify_type TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        alert_ids TEXT NOT NULL,
        created INTEGER NOT NULL,
        next_attempt INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'queued',
        last_error TEXT,
        sent_at INTEGER
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt);
    """,
    # 2: who changed which rule, how, and when (the Rules view and `cockpit rules set`)
    """
    CREATE TABLE rule_change (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        change TEXT NOT NULL,
        by TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE INDEX rule_change_rule ON rule_change (rule, at);
    CREATE INDEX alert_rule_fired ON alert (rule, fired_at);
    """,
]
