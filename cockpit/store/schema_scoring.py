"""The scoring tables, as numbered migrations (oldest first; never edit a shipped entry).

`score_day` is the rollup ingest keeps current: one row per member per UTC day (days since
the epoch), narrow and ordered by (community, day, member) so a window is one range scan.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the daily rollup, the reply/reaction graph, questions, persons, the high-water mark
    """
    CREATE TABLE score_day (
        community_id INTEGER NOT NULL,
        day INTEGER NOT NULL,
        member_id INTEGER NOT NULL,
        posts INTEGER NOT NULL DEFAULT 0,
        messages INTEGER NOT NULL DEFAULT 0,
        replies INTEGER NOT NULL DEFAULT 0,
        replies_received INTEGER NOT NULL DEFAULT 0,
        reactions_received INTEGER NOT NULL DEFAULT 0,
        threads_answered INTEGER NOT NULL DEFAULT 0,
        answers INTEGER NOT NULL DEFAULT 0,
        reactions_given INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (community_id, day, member_id)
    ) WITHOUT ROWID;
    CREATE INDEX score_day_member ON score_day (member_id, day);
    CREATE TABLE score_edge (
        community_id INTEGER NOT NULL,
        day INTEGER NOT NULL,
        src INTEGER NOT NULL,
        dst INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (community_id, day, src, dst)
    ) WITHOUT ROWID;
    CREATE TABLE score_community_day (
        community_id INTEGER NOT NULL,
        day INTEGER NOT NULL,
        joins INTEGER NOT NULL DEFAULT 0,
        leaves INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (community_id, day)
    ) WITHOUT ROWID;
    CREATE TABLE score_question (
        activity_id INTEGER PRIMARY KEY,
        community_id INTEGER NOT NULL,
        member_id INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        answered_ts INTEGER,
        answered_by INTEGER
    );
    CREATE INDEX score_question_ts ON score_question (community_id, ts);
    -- messages that got a reply from someone else: a thread is credited once
    CREATE TABLE score_answered (activity_id INTEGER PRIMARY KEY);
    -- last counted message per member: the cooldown carries across batches
    CREATE TABLE score_cooldown (member_id INTEGER PRIMARY KEY, ts INTEGER NOT NULL);
    CREATE TABLE score_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE person (
        id INTEGER PRIMARY KEY,
        community_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        created INTEGER NOT NULL
    );
    CREATE INDEX member_person ON member (person_id);
    CREATE TABLE person_rejected (
        a INTEGER NOT NULL,
        b INTEGER NOT NULL,
        PRIMARY KEY (a, b)
    ) WITHOUT ROWID;
    """,
    # 2: the ranking totals: per window and member, the weighted day points anchored to a
    # fixed day (`score_state`: total_end, total_anchor, total_basis), so a window's top N
    # is an index walk, not an aggregate. Only rows with points are kept.
    """
    CREATE TABLE score_total (
        win INTEGER NOT NULL,
        member_id INTEGER NOT NULL,
        community_id INTEGER NOT NULL,
        score REAL NOT NULL,
        PRIMARY KEY (win, member_id, community_id)
    ) WITHOUT ROWID;
    CREATE INDEX score_total_rank ON score_total (community_id, win, score DESC, member_id);
    """,
]
