from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from cockpit.errors import CockpitError
from cockpit.model import Kind, Quarantined
from cockpit.store.base import FeedQuery
from cockpit.store.sqlite import SQLiteStore, fts_query
from cockpit.store.sqlite_schema import SCHEMA_VERSION
from factories import T0, act


async def test_store_file_is_private_and_wal(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        s = await SQLiteStore.open(tmp_path / "sub" / "x.db")
    finally:
        os.umask(old)
    await s.write([act(1)])
    mode = stat.S_IMODE((tmp_path / "sub" / "x.db").stat().st_mode)
    assert mode == 0o640  # the group as the umask allows, never others (test_store_mode.py)
    conn = sqlite3.connect(tmp_path / "sub" / "x.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    await s.close()


async def test_writes_are_idempotent(store: SQLiteStore) -> None:
    first = await store.write([act(i) for i in range(10)])
    assert (first.new, first.duplicate, first.updated) == (10, 0, 0)
    again = await store.write([act(i) for i in range(10)])
    assert (again.new, again.duplicate, again.updated) == (0, 10, 0)
    stats = await store.stats()
    assert stats.activities == 10
    assert stats.members == 7
    counts = {m.display_name: m.activity_count for m in await store.members()}
    assert counts["user0"] == 2 and counts["user3"] == 1


async def test_same_record_twice_in_one_batch_is_stored_once(store: SQLiteStore) -> None:
    r = await store.write([act(1), act(1)])
    assert r.new == 1 and r.duplicate == 1
    assert (await store.stats()).activities == 1


async def test_edit_updates_text_and_search(store: SQLiteStore) -> None:
    await store.write([act(1, text="original wording")])
    edit = act(1, kind=Kind.EDIT, text="corrected wording", ts=T0 + timedelta(minutes=5))
    r = await store.write([edit])
    assert r.updated == 1
    row = await store.activity("discord", "1")
    assert row is not None
    assert row.text == "corrected wording"
    assert row.kind is Kind.MESSAGE
    assert row.edited_ts == T0 + timedelta(minutes=5)
    assert [a.source_id for a in await store.feed(FeedQuery(search="corrected"))] == ["1"]
    assert await store.feed(FeedQuery(search="original")) == []
    # an older edit arriving late does not overwrite the newer text
    stale = act(1, kind=Kind.EDIT, text="stale", ts=T0 + timedelta(minutes=1))
    assert (await store.write([stale])).updated == 0
    row = await store.activity("discord", "1")
    assert row is not None and row.text == "corrected wording"


async def test_edit_of_unknown_message_keeps_it(store: SQLiteStore) -> None:
    await store.write([act(5, kind=Kind.EDIT, text="seen only edited")])
    row = await store.activity("discord", "5")
    assert row is not None and row.text == "seen only edited" and row.edited_ts is not None


async def test_delete_marks_and_keeps_text(store: SQLiteStore) -> None:
    await store.write([act(1, text="rude words")])
    r = await store.write([act(1, kind=Kind.DELETE, text="")])
    assert r.updated == 1
    row = await store.activity("discord", "1")
    assert row is not None and row.deleted and row.text == "rude words"
    assert (await store.write([act(1, kind=Kind.DELETE, text="")])).duplicate == 1
    await store.write([act(9, kind=Kind.DELETE, text="")])
    tomb = await store.activity("discord", "9")
    assert tomb is not None and tomb.deleted


async def test_reimport_takes_newer_edit_and_more_reactions(store: SQLiteStore) -> None:
    await store.write([act(1, reactions=2)])
    r = await store.write([act(1, reactions=5, text="new", edited_ts=T0 + timedelta(hours=1))])
    assert r.updated == 1
    row = await store.activity("discord", "1")
    assert row is not None and row.reactions == 5 and row.text == "new"


async def test_cursor_is_stored_with_the_batch(store: SQLiteStore) -> None:
    await store.write([act(1)], cursors=[("telegram:bot", "41")])
    assert await store.get_cursor("telegram:bot") == "41"
    await store.write([], cursors=[("telegram:bot", "42")])
    assert await store.get_cursor("telegram:bot") == "42"
    assert await store.get_cursor("nope") is None


async def test_failed_batch_stores_neither_records_nor_cursor(store: SQLiteStore) -> None:
    await store.write([act(1)], cursors=[("k", "1")])
    bad = act(2)
    bad.extras = {"x": object()}  # serialisable via str(); force a failure another way below

    class Boom(Exception):
        pass

    original = store._store_activities

    def explode(*args: object, **kwargs: object) -> object:
        original(*args, **kwargs)  # type: ignore[arg-type]
        raise Boom("disk on fire")

    store._store_activities = explode  # type: ignore[assignment,method-assign]
    with pytest.raises(Boom):
        await store.write([act(2), act(3)], cursors=[("k", "3")])
    store._store_activities = original  # type: ignore[method-assign]
    assert await store.get_cursor("k") == "1"
    assert (await store.stats()).activities == 1
    # and the writer is usable afterwards
    assert (await store.write([act(2)], cursors=[("k", "2")])).new == 1


async def test_invalid_records_are_quarantined_not_stored(store: SQLiteStore) -> None:
    naive = act(1)
    naive.ts = naive.ts.replace(tzinfo=None)
    r = await store.write(
        [naive, act(2, author_id=""), Quarantined("slack", "x.json", "line 3", "bad", "{")]
    )
    assert r.new == 0 and r.quarantined == 3
    rows = await store.quarantine()
    assert {q["reason"] for q in rows} == {"timestamp has no time zone", "no author id", "bad"}
    # the same quarantined record again is not kept twice
    await store.write([Quarantined("slack", "x.json", "line 3", "bad", "{")])
    assert (await store.stats()).quarantined == 3


async def test_feed_filters_and_paging(store: SQLiteStore) -> None:
    await store.write([act(i) for i in range(30)])
    await store.write([act(100, platform="telegram", channel="tg-group", text="telegram hello")])
    newest = await store.feed(FeedQuery(limit=5))
    assert [a.source_id for a in newest] == ["100", "29", "28", "27", "26"]
    page2 = await store.feed(FeedQuery(limit=5, before=(newest[-1].ts, newest[-1].id)))
    assert [a.source_id for a in page2] == ["25", "24", "23", "22", "21"]
    assert [a.source_id for a in await store.feed(FeedQuery(platforms=["telegram"]))] == ["100"]
    assert len(await store.feed(FeedQuery(channels=["#General"], limit=100))) == 30
    m = (await store.find_members("user3"))[0]
    mine = await store.feed(FeedQuery(member_ids=[m.id], limit=100))
    assert {a.author for a in mine} == {"user3"} and len(mine) == 4
    since = await store.feed(FeedQuery(since=T0 + timedelta(seconds=27), platforms=["discord"]))
    assert [a.source_id for a in since] == ["29", "28", "27"]
    hits = await store.feed(FeedQuery(search="number 1*", limit=100))
    assert {a.source_id for a in hits} == {"1"} | {str(i) for i in range(10, 20)}
    tail = await store.feed(FeedQuery(after_id=newest[1].id))
    assert [a.source_id for a in tail] == ["100"]


async def test_search_is_safe_for_any_input(store: SQLiteStore) -> None:
    await store.write([act(1, text='say "hi" AND NOT OR (x) col:umn')])
    for term in ['"hi"', "AND", "NOT OR", "(x)", "col:umn", "*", "NEAR(a b)", "'"]:
        with contextlib.suppress(CockpitError):  # a clear error is fine; a crash is not
            await store.feed(FeedQuery(search=term))
    assert [a.source_id for a in await store.feed(FeedQuery(search='"hi"'))] == ["1"]
    with pytest.raises(CockpitError):
        fts_query("   ")


async def test_search_folds_diacritics(store: SQLiteStore) -> None:
    await store.write([act(1, text="Olá, São Paulo! café")])
    assert len(await store.feed(FeedQuery(search="sao cafe"))) == 1


async def test_member_lookup_and_names(store: SQLiteStore) -> None:
    await store.write([act(1, author="Alice", author_id="42", author_handle="alice_w")])
    await store.write(
        [
            act(
                2,
                author="Alice W.",
                author_id="42",
                author_handle="alice_w",
                ts=T0 + timedelta(days=1),
            )
        ]
    )
    ms = await store.find_members("@ALICE_W")
    assert len(ms) == 1 and ms[0].display_name == "Alice W." and ms[0].activity_count == 2
    assert ms[0].first_seen == T0 + timedelta(seconds=1)
    assert (await store.find_members("42"))[0].id == ms[0].id
    # an older record does not rename the member back
    await store.write([act(3, author="Old Name", author_id="42")])
    assert (await store.member(ms[0].id)).display_name == "Alice W."  # type: ignore[union-attr]


async def test_placeholder_names_never_hide_real_ones(tmp_path: Path) -> None:
    """A live event that knows only ids (Slack without a bot token) keeps imported names."""
    path = tmp_path / "names.db"
    store = await SQLiteStore.open(path)
    try:
        await store.write(
            [act(1, author="Ada", author_id="U1", channel="general", channel_id="C1")]
        )
        later = T0 + timedelta(days=1)
        await store.write(
            [act(2, author="U1", author_id="U1", channel="C1", channel_id="C1", ts=later)]
        )
        # a member first seen live gets its real name as soon as one arrives
        await store.write([act(3, author="U2", author_id="U2", channel_id="C1", channel="C1")])
        await store.write([act(4, author="Grace", author_id="U2", channel_id="C1", channel="C1")])
    finally:
        await store.close()
    store = await SQLiteStore.open(path)  # fresh caches: what is stored, not what is remembered
    try:
        names = {m.platform_user_id: m.display_name for m in await store.members()}
        assert names == {"U1": "Ada", "U2": "Grace"}
        rows = await store.feed(FeedQuery())
        assert {r.channel for r in rows} == {"general"}
    finally:
        await store.close()


async def test_communities_are_kept_apart(store: SQLiteStore) -> None:
    await store.write([act(1, community="a"), act(2, community="b", author_id="1001")])
    assert [a.source_id for a in await store.feed(FeedQuery(community="b"))] == ["2"]
    assert {m.community for m in await store.members()} == {"a", "b"}


async def test_activity_counts_and_active_members(store: SQLiteStore) -> None:
    await store.write([act(i, ts=T0 + timedelta(minutes=i)) for i in range(5)])
    counts = await store.activity_counts(T0, timedelta(minutes=2), until=T0 + timedelta(minutes=5))
    assert [n for _, n in counts] == [2, 2, 1]
    assert counts[0][0] == T0
    assert await store.active_members(T0) == 5


async def test_readonly_store_refuses_missing_and_writes(tmp_path: Path) -> None:
    with pytest.raises(CockpitError, match="no store here yet"):
        await SQLiteStore.open(tmp_path / "missing.db", readonly=True)
    s = await SQLiteStore.open(tmp_path / "x.db")
    await s.close()
    ro = await SQLiteStore.open(tmp_path / "x.db", readonly=True)
    with pytest.raises(CockpitError, match="read-only"):
        await ro.write([act(1)])
    await ro.close()


async def test_not_a_store_and_newer_schema(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CockpitError, match="not a cockpit store"):
        await SQLiteStore.open(junk)
    newer = tmp_path / "newer.db"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(CockpitError, match="newer cockpit"):
        await SQLiteStore.open(newer)


async def test_reader_is_not_blocked_by_open_write_transaction(tmp_path: Path) -> None:
    s = await SQLiteStore.open(tmp_path / "x.db")
    await s.write([act(1)])
    other = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO cursor (key, value, updated) VALUES ('x', 'y', 0)")
    # the writer lock is held by another connection; reads still answer at once
    assert len(await s.feed(FeedQuery())) == 1
    other.execute("ROLLBACK")
    other.close()
    await s.close()


async def test_feature_migrations_apply_once_and_refuse_newer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cockpit.store import sqlite_schema

    monkeypatch.setitem(
        sqlite_schema.FEATURE_MIGRATIONS,
        "widgets",
        ["CREATE TABLE widget (id INTEGER PRIMARY KEY, n TEXT);"],
    )
    s = await SQLiteStore.open(tmp_path / "f.db")
    await s.transaction(lambda c: c.execute("INSERT INTO widget (n) VALUES ('a')"))
    assert await s.fetchall("SELECT n FROM widget") == [("a",)]
    await s.close()
    monkeypatch.setitem(
        sqlite_schema.FEATURE_MIGRATIONS,
        "widgets",
        [
            "CREATE TABLE widget (id INTEGER PRIMARY KEY, n TEXT);",
            "ALTER TABLE widget ADD COLUMN m INTEGER;",
        ],
    )
    s = await SQLiteStore.open(tmp_path / "f.db")  # v1 -> v2, the row survives
    assert await s.fetchall("SELECT n, m FROM widget") == [("a", None)]
    await s.close()
    monkeypatch.setitem(
        sqlite_schema.FEATURE_MIGRATIONS, "widgets", ["CREATE TABLE widget (id INTEGER);"]
    )
    with pytest.raises(CockpitError, match="widgets tables are v2, written by a newer cockpit"):
        await SQLiteStore.open(tmp_path / "f.db")


async def test_message_and_its_edits_in_one_batch_keep_the_index_sound(store: SQLiteStore) -> None:
    batch = [
        act(1, text="first draft"),
        act(1, kind=Kind.EDIT, text="second draft", ts=T0 + timedelta(minutes=1)),
        act(1, kind=Kind.EDIT, text="final words", ts=T0 + timedelta(minutes=2)),
        act(2, text="old export copy"),
        act(2, text="newer export copy", edited_ts=T0 + timedelta(hours=1), reactions=4),
        act(3, kind=Kind.EDIT, text="edit of an unknown one", ts=T0 + timedelta(minutes=1)),
        act(3, kind=Kind.EDIT, text="edited again", ts=T0 + timedelta(minutes=3)),
        act(4, text="doomed"),
        act(4, kind=Kind.DELETE, text=""),
    ]
    r = await store.write(batch)
    assert r.new == 4
    assert await store.integrity_check() == "ok"
    conn = sqlite3.connect(store.path)
    assert (
        conn.execute("INSERT INTO activity_fts (activity_fts) VALUES ('integrity-check')").rowcount
        == 1
    )
    conn.close()

    async def ids(term: str) -> list[str]:
        return sorted(a.source_id for a in await store.feed(FeedQuery(search=term)))

    assert await ids("final") == ["1"]
    assert await ids("draft") == []
    assert await ids("newer") == ["2"] and await ids("old") == []
    assert await ids("again") == ["3"] and await ids("unknown") == []
    row = await store.activity("discord", "2")
    assert row is not None and row.reactions == 4
    doomed = await store.activity("discord", "4")
    assert doomed is not None and doomed.deleted


async def test_a_record_of_the_wrong_shape_is_quarantined_not_dropped(store: SQLiteStore) -> None:
    bad = act(1)
    bad.text = None  # type: ignore[assignment]
    r = await store.write([bad, act(2)])
    assert (r.new, r.quarantined) == (1, 1)
    [q] = await store.quarantine()
    assert q["reason"] == "text is NoneType, not a string" and q["position"] == "discord:1"


def test_fresh_rows_skip_only_the_identity_conflict(tmp_path: Path) -> None:
    from cockpit.store.sqlite import INSERT_NEW

    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute(
        "CREATE TABLE activity (platform TEXT, source_id TEXT, text TEXT NOT NULL, UNIQUE (platform, source_id))"
    )
    sql = (
        "INSERT INTO activity (platform, source_id, text) VALUES (?, ?, ?) "
        + INSERT_NEW[INSERT_NEW.index("ON CONFLICT") :]
    )
    conn.execute(sql, ("d", "1", "a"))
    conn.execute(sql, ("d", "1", "b"))  # the same activity again: skipped
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(sql, ("d", "2", None))  # anything else wrong: loud


async def test_two_processes_creating_one_store_at_once(tmp_path: Path) -> None:
    import asyncio

    path = tmp_path / "race.db"
    stores = await asyncio.gather(*(SQLiteStore.open(path) for _ in range(4)))
    for s in stores:
        await s.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
