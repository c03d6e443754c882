"""One contract for every store: each test runs on SQLite and on a real PostgreSQL server
(tests/pgserver.py), and the `..._on_both` tests hold both stores to the same answers."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.alerts.config import AlertingSettings, Receiver
from cockpit.alerts.engine import Alert
from cockpit.alerts.records import Matcher
from cockpit.calendar.model import Event, Override
from cockpit.collect.health import ConnectorHealth
from cockpit.errors import CockpitError
from cockpit.model import Activity, Kind, Quarantined
from cockpit.scoring.rank import WINDOWS
from cockpit.scoring.repository import end_day
from cockpit.store.base import FeedQuery, Store, WriteResult
from cockpit.store.postgres import PostgresStore
from cockpit.store.sqlite import SQLiteStore
from cockpit.timeutil import to_ms
from factories import T0, act

BACKENDS = ["sqlite", "postgresql"]
NOW = T0 + timedelta(hours=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def open_backend(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: Any = None, **kw: Any
) -> Store:
    if backend == "sqlite":
        return await SQLiteStore.open(tmp_path / "store.db", clock=clock or (lambda: NOW), **kw)
    url = request.getfixturevalue("pg_url")
    return await PostgresStore.open(url, clock=clock or (lambda: NOW), **kw)


@pytest.fixture(params=BACKENDS)
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_backend(request.param, request, tmp_path)
    yield s
    await s.close()


@pytest.fixture
async def both(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Store]]:
    stores = [await open_backend(b, request, tmp_path) for b in BACKENDS]
    yield stores
    for s in stores:
        await s.close()


def calendar_of(s: Store, clock: Any) -> Any:
    s.clock = clock
    return s.calendar


def scoring_of(s: Store, clock: Any) -> Any:
    s.clock = clock
    return s.scoring()


def counts(r: WriteResult) -> tuple[int, int, int, int]:
    return (r.new, r.duplicate, r.updated, r.quarantined)


# ------------------------------------------------------------------- the core


async def test_migrates_an_empty_database_and_reopens(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    for backend in BACKENDS:
        if backend == "postgresql":
            # two processes starting at once on an empty database: one migrates, both open
            url = request.getfixturevalue("pg_url")
            pair = await asyncio.gather(PostgresStore.open(url), PostgresStore.open(url))
            for s in pair:
                await s.close()
        s = await open_backend(backend, request, tmp_path)
        await s.write([act(1)])
        await s.close()
        again = await open_backend(backend, request, tmp_path)  # idempotent re-open
        assert (await again.stats()).activities == 1
        assert await again.integrity_check() == "ok"
        await again.close()
        ro = await open_backend(backend, request, tmp_path, readonly=True)
        assert (await ro.stats()).activities == 1
        with pytest.raises(CockpitError, match="read-only"):
            await ro.write([act(2)])
        await ro.close()


async def test_writes_are_idempotent(any_store: Store) -> None:
    s = any_store
    assert counts(await s.write([act(i) for i in range(10)])) == (10, 0, 0, 0)
    assert counts(await s.write([act(i) for i in range(10)])) == (0, 10, 0, 0)
    # a batch big enough for the bulk path behaves the same
    big = [act(i, source_id=f"b{i}") for i in range(2500)]
    assert counts(await s.write(big)) == (2500, 0, 0, 0)
    assert counts(await s.write(big)) == (0, 2500, 0, 0)
    stats = await s.stats()
    assert (stats.activities, stats.members, stats.channels, stats.communities) == (2510, 7, 1, 1)
    found = {m.display_name: m.activity_count for m in await s.members()}
    assert sum(found.values()) == 2510
    assert [a.source_id for a in await s.feed(FeedQuery(limit=3))] == ["b2499", "b2498", "b2497"]


async def test_edits_deletes_and_tombstones(any_store: Store) -> None:
    s = any_store
    await s.write([act(1, text="first text"), act(2)])
    edit = act(1, kind=Kind.EDIT, text="edited text", edited_ts=T0 + timedelta(minutes=5))
    assert counts(await s.write([edit])) == (0, 0, 1, 0)
    older = act(1, kind=Kind.EDIT, text="stale", edited_ts=T0 + timedelta(minutes=1))
    assert counts(await s.write([older])) == (0, 1, 0, 0)
    assert counts(await s.write([act(2, reactions=3)])) == (0, 0, 1, 0)
    assert counts(await s.write([act(2, kind=Kind.DELETE, text="")])) == (0, 0, 1, 0)
    assert counts(await s.write([act(2, kind=Kind.DELETE, text="")])) == (0, 1, 0, 0)
    # an edit or a delete of a message never seen stands in for it
    await s.write([act(7, kind=Kind.EDIT, text="only the edit"), act(8, kind=Kind.DELETE)])
    one, two = await s.activity("discord", "1"), await s.activity("discord", "2")
    assert one is not None and (one.text, one.edited_ts) == (
        "edited text",
        T0 + timedelta(minutes=5),
    )
    assert two is not None and (two.deleted, two.reactions, two.text) == (
        True,
        3,
        "hello world number 2",
    )
    seven, eight = await s.activity("discord", "7"), await s.activity("discord", "8")
    assert seven is not None and (seven.kind, seven.text) == (Kind.MESSAGE, "only the edit")
    assert eight is not None and eight.deleted
    # the index follows the edit
    assert [a.source_id for a in await s.feed(FeedQuery(search="edited"))] == ["1"]
    assert await s.feed(FeedQuery(search="first")) == []


async def test_cursors_share_the_transaction_of_their_records(any_store: Store) -> None:
    s = any_store
    await s.write([act(1)], cursors=[("discord:general", "1")])
    assert await s.get_cursor("discord:general") == "1"
    with pytest.raises(Exception):  # noqa: B017 - StoreError on PostgreSQL; SQLite lets its IntegrityError out
        await s.write([act(2)], cursors=[("discord:general", None)])  # type: ignore[list-item]
    assert await s.get_cursor("discord:general") == "1"
    assert await s.activity("discord", "2") is None
    assert counts(await s.write([act(2)], cursors=[("discord:general", "2")])) == (1, 0, 0, 0)
    assert await s.get_cursor("discord:general") == "2"
    assert await s.get_cursor("nothing") is None


async def test_quarantine(any_store: Store) -> None:
    s = any_store
    bad = Quarantined("telegram", "export.json", "record 7", "no date", '{"id": 7}')
    naive = act(3, ts=datetime(2024, 5, 1, 12, 0))
    r = await s.write([act(1), bad, naive])
    assert counts(r) == (1, 0, 0, 2)
    await s.write([bad])  # the same problem again is kept once
    rows = await s.quarantine()
    assert len(rows) == 2 and {q["reason"] for q in rows} >= {"no date"}
    assert (await s.stats()).quarantined == 2


async def test_import_refused_takes_back_what_it_added(any_store: Store) -> None:
    s = any_store
    await s.write([act(i) for i in range(3)])  # live rows, before the import
    rec = await s.begin_import("fp1", "/x/export.json", "discord")
    assert (rec.state, rec.position) == ("running", 0)
    r = await s.write([act(i) for i in range(2, 8)], import_id=rec.id, import_position=6)
    assert counts(r) == (5, 1, 0, 0)
    again = await s.begin_import("fp1", "/x/export.json", "discord")
    assert (again.id, again.position, again.counts.new) == (rec.id, 6, 5)
    assert await s.refuse_import(rec.id, "bad file at record 9") == 5
    assert (await s.stats()).activities == 3
    assert sum(m.activity_count for m in await s.members()) == 3
    retry = await s.begin_import("fp1", "/x/export.json", "discord")
    assert (retry.state, retry.position) == ("running", 0)
    await s.write([act(i) for i in range(3, 5)], import_id=retry.id, import_position=2)
    await s.finish_import(retry.id, WriteResult(2))
    done = await s.begin_import("fp1", "/x/export.json", "discord")
    assert (done.state, done.counts.new) == ("done", 2)


# ----------------------------------------------------------------- search

MIXED = [
    "Café déjà-vu: the naïve ÉCOLE is at https://example.com/a_b?x=1",
    "Straße und Brücke, schön grüß",
    "Привет мир, ёлка",
    "Καλημέρα κόσμε",
    "中文测试 日本語のテキスト",
    "नमस्ते दुनिया",
    "مرحبا بالعالم",
    "Tiếng Việt rất đẹp",
    "don't stop, e-mail me at foo@bar.io about 3.14",
    "Staking rewards: stake, staked, stakers 😀",
    "ØRESUND łódź Ærø",
]
QUERIES = {
    "cafe": [0],
    "CAFÉ ecole": [0],
    "example": [0],
    "a_b": [0],
    "strasse": [],
    "straße": [1],
    "brucke": [1],
    "ёлка": [2],
    "καλημέρα": [3],
    "中文测试": [4],
    "नमस्ते": [5],
    "بالعالم": [6],
    "tieng viet": [7],
    "don't": [8],
    "don*": [8],
    "e-mail": [8],
    "mail e": [8],
    "3.14": [8],
    "stak*": [9],
    "stake": [9],
    "stakers rewards": [9],
    "oresund lodz": [],  # ø and ł are letters of their own, not accented o and l
    "øresund łodz": [10],
    "aerø": [],
    "ærø": [10],
    "!!!": [],
    "stake !!!": [9],
    "nothing-here": [],
}


async def test_search_syntax_on_mixed_language_text(any_store: Store) -> None:
    s = any_store
    await s.write([act(i, text=t) for i, t in enumerate(MIXED)])
    for query, expected in QUERIES.items():
        found = sorted(int(a.source_id) for a in await s.feed(FeedQuery(search=query)))
        assert found == expected, query
    with pytest.raises(CockpitError, match="nothing to search for"):
        await s.feed(FeedQuery(search="  *  "))


async def test_search_gives_the_same_on_both(both: list[Store]) -> None:
    rng = random.Random(5)
    words = [*" ".join(MIXED).split(), "x", "hello", "wörld", "world", "numéro"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 9))) for _ in range(300)]
    for s in both:
        await s.write([act(i, text=t) for i, t in enumerate(texts)])
    for _ in range(150):
        query = " ".join(rng.choice(words)[: rng.randint(1, 6)] + rng.choice(["", "*"])
                         for _ in range(rng.randint(1, 2)))  # fmt: skip
        try:
            results = [
                [a.source_id for a in await s.feed(FeedQuery(search=query, limit=500))]
                for s in both
            ]
        except CockpitError:
            continue
        assert results[0] == results[1], query


# ---------------------------------------------------------------- rollups


def community(seed: int, n: int = 700, days: int = 120) -> list[Activity]:
    rng = random.Random(seed)
    out: list[Activity] = []
    for i in range(n):
        who = min(int(rng.paretovariate(1.1)), 40)
        ts = NOW - timedelta(days=rng.uniform(0, days))
        parent = f"m{rng.randrange(i)}" if i and rng.random() < 0.4 else None
        if parent and rng.random() < 0.3:
            out.append(act(0, source_id=f"r{i}", kind=Kind.REACTION, text="👍", ts=ts,
                           author=f"p{who}", author_id=f"p{who}", reply_to=parent))  # fmt: skip
            continue
        text = rng.choice(["how do I stake my tokens?", "you open settings, then staking", "ok"])
        kind = Kind.JOIN if rng.random() < 0.03 else Kind.MESSAGE
        out.append(act(0, source_id=f"m{i}", text=text, ts=ts, author=f"p{who}", kind=kind,
                       author_id=f"p{who}", reply_to=parent, is_bot=who == 3))  # fmt: skip
    return out


async def test_rollups_equal_on_both(both: list[Store]) -> None:
    records = community(11)
    figures = []
    for s in both:
        sc = scoring_of(s, lambda: NOW)
        on_commit = sc.listener()
        for i in range(0, len(records), 150):
            await on_commit(await s.write(records[i : i + 150]))
        ident = s.identity
        [a] = await s.find_members("p1")
        [b] = await s.find_members("p2")
        [c] = await s.find_members("p5")
        await ident.link(a.id, b.id)
        person = await ident.key_of(a.id)
        f = await sc.filter("c1")
        end = end_day(NOW)
        spans: list[tuple[int | None, int]] = [(None, end)]
        for n in filter(None, WINDOWS.values()):
            spans += [(end - n, end), (end - 2 * n, end - n)]
        boards = [await sc.window_scores(f, lo, hi, limit=50) for lo, hi in spans]
        keys = {k for board in boards for k, *_ in board} | {person, c.id}
        names = {k: (w.name, w.platforms) for k, w in (await sc.who(list(keys))).items()}
        # row ids differ between stores (PostgreSQL sequences skip on conflicts): compare names
        ranks = [
            {names[k]: p for k, p in (await sc.window_ranks(f, lo, hi, [person, c.id])).items()}
            for lo, hi in spans
        ]
        start_ms = to_ms(NOW - timedelta(days=30))
        churn = await sc.churn(f, end - 1)
        churn_names = {k: w.name for k, w in (await sc.who([k for k, _, _ in churn])).items()}
        figures.append(
            {
                "boards": [
                    [
                        (names[k], p, c, {t: round(v, 6) for t, v in d.items()})
                        for k, p, c, d in board
                    ]
                    for board in boards
                ],
                "ranks": ranks,
                "active": await sc.active(f, end - 30, end),
                "daily": await sc.daily(f, end - 30, end),
                "members": await sc.members_count(f),
                "joins": await sc.joins_leaves(f, end - 120, end),
                "questions": sorted(await sc.questions(f, start_ms, to_ms(NOW))),
                "unanswered": len(await sc.unanswered(f, start_ms, 1000)),
                "churn": [(churn_names[k], d, n) for k, d, n in churn],
                "lifetime": {
                    names[k]: {**v, "weeks": sorted(v["weeks"])}
                    for k, v in (await sc.lifetime([person, c.id])).items()
                },
                "centrality": sorted(
                    (names.get(k, k), n)
                    for k, n in (await sc.centrality(f, end - 90, end))[0].items()
                    if k in names
                ),
            }
        )
        assert figures[-1]["boards"][1], "the 7-day board is not empty"
    for key in figures[0]:
        if key == "boards":
            for i, (x, y) in enumerate(zip(figures[0][key], figures[1][key], strict=True)):
                for j, (u, v) in enumerate(zip(x, y, strict=False)):
                    assert u == v, (i, j, u, v)
                assert len(x) == len(y), i
        assert figures[0][key] == figures[1][key], key


# ----------------------------------------------------------------- alerts


def alert(fp: str, state: str, at: int, **kw: Any) -> Alert:
    return Alert(
        fingerprint=fp,
        rule="scam",
        severity="critical",
        labels={"alertname": "scam", "community": "c1", "channel": "general"},
        annotations={"summary": "scam link"},
        notify=["oncall"],
        state=state,  # type: ignore[arg-type]
        active_at=at,
        last_active=at,
        fired_at=at if state == "firing" else None,
        ids=[1, 2],
        **kw,
    )


async def test_alerts_lifecycle(any_store: Store) -> None:
    al = any_store.alerts
    t = to_ms(NOW)
    assert await al.save([alert("f1", "pending", t)], t) == []
    assert [a.state for a in await al.alerts()] == ["pending"]
    await al.save([alert("f1", "firing", t), alert("f2", "firing", t, count=3)], t + 1)
    assert await al.counts() == {"firing": 2, "critical": 2}
    [one, two] = sorted(await al.alerts(), key=lambda a: a.fingerprint)
    acked = await al.ack(one.id, "ana", t + 2)
    assert (acked.acked_by, acked.acked_at) == ("ana", t + 2)
    resolved = await al.resolve(one.id, "ana", t + 3)
    assert (resolved.state, resolved.resolved_by) == ("resolved", "ana")
    with pytest.raises(CockpitError, match="already resolved"):
        await al.ack(one.id, "bob", t + 4)
    with pytest.raises(CockpitError, match="no such alert"):
        await al.resolve(999, "bob", t + 4)
    # the engine still thinks f1 fires: it is told to forget it instead of reopening it
    assert await al.save([alert("f1", "firing", t)], t + 5) == ["f1"]
    assert await al.manually_resolved(t) == ["f1"]
    s = await al.add_silence([Matcher("channel", "=", "general")], t, t + 60_000, "maint", "ana", t)
    assert [x.id for x in await al.silences(active_at=t + 1)] == [s.id]
    got = await al.alert(two.id, now=t + 1)
    assert got is not None and got.silenced_by == (s.id,)
    await al.expire_silence(s.id, t + 10)
    assert await al.silences(active_at=t + 20) == []
    with pytest.raises(CockpitError, match="already expired"):
        await al.expire_silence(s.id, t + 30)
    # notifications: planned once, claimed once, sent or retried
    receiver = Receiver(name="oncall", urls=["json://127.0.0.1:9/"])
    settings = AlertingSettings(group_wait=timedelta(0))
    planned = await al.plan_notifications(t + 40_000, [receiver], settings)
    assert len(planned) == 1
    assert await al.plan_notifications(t + 41_000, [receiver], settings) == []
    [claimed] = await al.claim_due(t + 41_000)
    assert (claimed.state, claimed.attempts) == ("sending", 1)
    assert await al.claim_due(t + 41_000) == []
    await al.mark_failed(claimed.id, "boom", t + 50_000)
    assert await al.outbox_problems() == (0, 1, "boom")
    [again] = await al.claim_due(t + 50_000)
    assert again.attempts == 2
    assert await al.requeue_interrupted() == 1
    [third] = await al.claim_due(t + 50_000)
    await al.mark_sent(third.id, t + 51_000)
    assert [o.state for o in await al.outbox()] == ["sent"]


# --------------------------------------------------------------- calendar

CAL_T = datetime(2030, 6, 13, 15, 0, tzinfo=UTC)


def ama(**kw: Any) -> Event:
    base: dict[str, Any] = dict(
        uid="ama@test",
        title="Community AMA",
        start=datetime(2030, 6, 13, 17, 0),
        duration=timedelta(hours=1),
        tz="Europe/Berlin",
        community="c1",
        regions=("America/Los_Angeles", "Asia/Jakarta"),
        platform="discord",
        channel="ama",
        host="alice",
    )
    base.update(kw)
    return Event(**base)


async def test_calendar(any_store: Store) -> None:
    clock = Clock(CAL_T)
    cal = calendar_of(any_store, clock)
    e = ama(
        rrule="FREQ=WEEKLY;COUNT=4",
        exdates=frozenset({datetime(2030, 6, 20, 17, 0)}),
        overrides=(
            Override(
                datetime(2030, 6, 27, 17, 0),
                datetime(2030, 6, 27, 19, 0),
                timedelta(hours=2),
                title="Big AMA",
            ),
        ),
        reminders=(timedelta(hours=1),),
    )
    assert await cal.save(e) == "new"
    assert await cal.get("ama@test") == e
    assert await cal.save(e) == "unchanged"
    occ = await cal.occurrences(CAL_T, CAL_T + timedelta(days=30))
    assert [(o.start.day, o.title) for o in occ] == [
        (13, "Community AMA"),
        (27, "Big AMA"),
        (4, "Community AMA"),
    ]
    assert await cal.save(ama(uid="other@test", title="Voice chat")) == "new"
    assert await cal.save(ama(uid="amb@test", title="Voice chat")) == "new"
    assert (await cal.find("ama@")).uid == "ama@test"
    with pytest.raises(CockpitError, match="ambiguous"):
        await cal.find("am")
    with pytest.raises(CockpitError, match="no calendar entry"):
        await cal.find("zzz")
    assert await cal.delete("amb@test") is True
    assert await cal.save(ama(title="Renamed")) == "updated"
    loaded = await cal.get("ama@test")
    assert loaded is not None and (loaded.title, loaded.sequence, loaded.overrides) == (
        "Renamed",
        1,
        (),
    )
    assert [x.uid for x in await cal.events(community="c1")] == ["ama@test", "other@test"]
    assert await cal.delete("ama@test") is True
    assert await cal.delete("ama@test") is False
    # reminders: claimed once, retried after a failure, then recorded
    at = CAL_T + timedelta(hours=2)
    assert await cal.claim_reminder("other@test", at, 3600, "oncall") is True
    assert await cal.claim_reminder("other@test", at, 3600, "oncall") is False
    await cal.finish_reminder("other@test", at, 3600, "oncall", "failed", "503")
    assert await cal.claim_reminder("other@test", at, 3600, "oncall") is True
    await cal.finish_reminder("other@test", at, 3600, "oncall", "sent")
    assert await cal.claim_reminder("other@test", at, 3600, "oncall") is False
    [log] = await cal.reminder_log("other@test")
    assert (log["state"], log["attempts"], log["occurrence"]) == ("sent", 2, at)
    # the hour-of-week rollup, kept current at ingest
    on_commit = cal.listener()
    await on_commit(
        await any_store.write([act(i, ts=CAL_T + timedelta(hours=i)) for i in range(30)])
    )
    hours = await cal.hour_presence("c1", CAL_T - timedelta(days=1))
    assert sum(bin(bits).count("1") for bits in hours.values()) == 30
    assert sum((await cal.member_hours(1)).values()) == 5
    assert await cal.rebuild_rollup() == 30
    assert await cal.hour_presence("c1", CAL_T - timedelta(days=1)) == hours


# --------------------------------------------------------------- identity


async def test_identity_link_unlink_reject(any_store: Store) -> None:
    s = any_store
    await s.write([act(i) for i in range(7)] + [act(9, community="c2", author_id="x")])
    ident = s.identity
    ids = [m.id for m in await s.members(community="c1")]
    a, b, c = sorted(ids)[:3]
    other = (await s.members(community="c2"))[0].id
    person = await ident.link(a, b)
    assert await ident.link(b, a) == person
    assert await ident.key_of(a) == -person and await ident.key_of(c) == c
    assert await ident.link(c, a) == person
    assert await ident.persons_of([a, b, c]) == {a: person, b: person, c: person}
    with pytest.raises(CockpitError, match="different communities"):
        await ident.link(a, other)
    with pytest.raises(CockpitError, match="same member"):
        await ident.link(a, a)
    with pytest.raises(CockpitError, match="no member"):
        await ident.unlink(99999)
    assert await ident.unlink(c) is True
    assert await ident.unlink(c) is False
    assert await ident.unlink(a) is True  # one identity left: the person dissolves
    assert await ident.persons_of([a, b]) == {a: None, b: None}
    await ident.reject(b, a)
    await ident.reject(a, b)
    assert await ident.rejected() == {(min(a, b), max(a, b))}
    rows = await ident.identities(await ident.community_id("c1"))
    assert sorted(r[0] for r in rows) == sorted(ids)


async def test_connector_health(any_store: Store) -> None:
    h = ConnectorHealth(name="discord-main", type="discord", community="c1")
    h.state, h.events, h.rate_limit_wait_s = "ok", 12, 1.5
    await any_store.health.save([h], NOW)
    h.events = 20
    await any_store.health.save([h], NOW + timedelta(seconds=5))
    [row] = await any_store.health.load("c1")
    assert (row.name, row.state, row.events, row.rate_limit_wait_s) == (
        "discord-main",
        "ok",
        20,
        1.5,
    )
    assert row.updated == NOW + timedelta(seconds=5)
    assert await any_store.health.load("other") == []


# ------------------------------------------------------------------ leases


@pytest.mark.parametrize("backend", BACKENDS)
async def test_lease_takeover_with_fencing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    one = await open_backend(backend, request, tmp_path, clock)
    two = await open_backend(backend, request, tmp_path, clock)  # another process, same store
    try:
        ttl = timedelta(seconds=10)
        first = await one.lease("alerts:c1", "collector-a", ttl)
        assert first is not None and first.token == 1
        assert await two.lease("alerts:c1", "collector-b", ttl) is None
        clock.now += timedelta(seconds=5)
        renewed = await one.lease("alerts:c1", "collector-a", ttl)
        assert renewed is not None and renewed.token == 1  # renewal keeps the token
        clock.now += timedelta(seconds=11)  # collector-a stopped renewing
        assert not await one.lease_current(renewed)
        taken = await two.lease("alerts:c1", "collector-b", ttl)
        assert taken is not None and taken.token == 2
        assert await two.lease_current(taken)
        assert await one.lease("alerts:c1", "collector-a", ttl) is None
        assert await one.lease("reminders", "collector-a", ttl) is not None  # one per name
        await two.release(taken)
        back = await one.lease("alerts:c1", "collector-a", ttl)
        assert back is not None and back.token == 3
        listed = {lease.name: (lease.holder, lease.token) for lease in await two.leases()}
        assert listed == {"alerts:c1": ("collector-a", 3), "reminders": ("collector-a", 1)}
    finally:
        await one.close()
        await two.close()


# ------------------------------------------------------------ LISTEN/NOTIFY


@pytest.mark.parametrize("backend", BACKENDS)
async def test_attached_readers_hear_of_new_rows(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    writer = await open_backend(backend, request, tmp_path)
    reader = await open_backend(backend, request, tmp_path, readonly=True)
    try:
        changes = reader.changes()
        listening = asyncio.ensure_future(anext(changes))
        await asyncio.sleep(0.3)  # listening (or polled once) before the commit
        await writer.write([act(1), act(2)])
        assert await asyncio.wait_for(listening, 10) == "activity:2"
        await changes.aclose()
        assert await reader.wait_for_change(0.05) is None
    finally:
        await writer.close()
        await reader.close()


# ------------------------------------------------------------- store copy


async def test_store_copy_sqlite_to_postgresql_resumes_and_verifies(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cockpit.cli import main
    from cockpit.store import copy

    src = await SQLiteStore.open(tmp_path / "src.db", clock=lambda: NOW)
    records = community(3, n=300)
    sc = src.scoring()
    on_commit = sc.listener()
    for i in range(0, len(records), 100):
        await on_commit(await src.write(records[i : i + 100], cursors=[("k", str(i))]))
    await src.write([Quarantined("x", "f.json", "1", "bad", "{}")])
    await src.calendar.save(ama())
    t = to_ms(NOW)
    await src.alerts.save([alert("f1", "firing", t)], t)
    await src.close()

    monkeypatch.setattr(copy, "PAGE", 40)
    seen: list[str] = []

    def stop_midway(line: str) -> None:
        seen.append(line)
        if line.startswith("activity: 120"):
            raise KeyboardInterrupt  # as if the operator pressed ^C mid-copy

    with pytest.raises(KeyboardInterrupt):
        await copy.copy_store(tmp_path / "src.db", pg_url, stop_midway)
    await (await SQLiteStore.open(tmp_path / "other.db")).close()
    with pytest.raises(CockpitError, match="unfinished copy"):
        await copy.copy_store(tmp_path / "other.db", pg_url)
    reports = await copy.copy_store(tmp_path / "src.db", pg_url)
    by_table = {r.table: r for r in reports}
    assert by_table["activity"].source == by_table["activity"].target == 300
    assert by_table["activity"].copied == 180  # the rest only: nothing twice
    assert all(r.source == r.target for r in reports)
    dst = await PostgresStore.open(pg_url, clock=lambda: NOW)
    try:
        a = await SQLiteStore.open(tmp_path / "src.db", readonly=True)
        assert await dst.feed(FeedQuery(limit=500)) == await a.feed(FeedQuery(limit=500))
        assert await dst.feed(FeedQuery(search="stak*", limit=500)) == await a.feed(
            FeedQuery(search="stak*", limit=500)
        )
        await a.close()
        assert await dst.get_cursor("k") == "200"
        assert [e.uid for e in await dst.calendar.events()] == ["ama@test"]
        assert [x.fingerprint for x in await dst.alerts.alerts()] == ["f1"]
        # new rows get fresh ids after the copied ones
        r = await dst.write([act(1, source_id="after-copy")])
        assert r.new_ids is not None and r.new_ids[0] > 300
    finally:
        await dst.close()
    # and back again, through the command line, into a new SQLite file
    argv = ["store", "copy", "--quiet", pg_url, str(tmp_path / "back.db")]
    assert await asyncio.to_thread(main, argv) == 0
    back = await SQLiteStore.open(tmp_path / "back.db")
    assert (await back.stats()).activities == 301
    assert len(await back.feed(FeedQuery(search="staking", limit=500))) > 0
    await back.close()
    assert await asyncio.to_thread(main, argv) == 1  # the target is not empty


# ------------------------------------------------------------ the tokenizer


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
def test_postgresql_tokens_are_fts5s(text: str) -> None:
    """The PostgreSQL store's lexemes are the tokens SQLite's FTS5 indexes, for any text."""
    from cockpit.store.postgres import fts

    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    db.execute("INSERT INTO t (x) VALUES (?)", (text,))
    expected = [r[0] for r in db.execute("SELECT term FROM v ORDER BY offset")]
    assert fts.tokens(text) == expected


async def test_postgresql_migrates_an_older_schema(pg_url: str) -> None:
    """A database written by an older cockpit (here: before the collector's tables) is
    refused read-only with a hint, and migrated by the next writer."""
    s = await PostgresStore.open(pg_url)
    await s.write([act(1)])

    async def older(conn: Any) -> None:
        await conn.execute("DROP TABLE source_health")
        await conn.execute("DELETE FROM cockpit_schema WHERE feature = 'collect'")

    await s.transaction(older)
    await s.close()
    with pytest.raises(CockpitError, match="open it once with a writing command"):
        await PostgresStore.open(pg_url, readonly=True)
    s = await PostgresStore.open(pg_url)
    h = ConnectorHealth(name="x", type="jsonl", community="c1")
    await s.health.save([h], NOW)
    assert [r.name for r in await s.health.load()] == ["x"]
    assert (await s.stats()).activities == 1
    await s.close()


async def test_rule_history_and_backtest_reads(any_store: Store) -> None:
    s = any_store
    await s.write([act(i) for i in range(5)])
    al = s.alerts
    t0, t4 = to_ms(T0), to_ms(T0 + timedelta(seconds=4))
    first = await al.events_in(t0, t4 + 1, limit=3)
    assert [e.source_id for e in first] == ["0", "1", "2"]
    after = (first[-1].ts, first[-1].id)
    assert [e.source_id for e in await al.events_in(t0, t4 + 1, after=after)] == ["3", "4"]
    t = to_ms(NOW)
    await al.save([alert("f1", "firing", t), alert("f2", "pending", t)], t)
    stats = await al.rule_stats(t + 1000)
    assert (stats["scam"].open_state, stats["scam"].fires_24h, stats["scam"].last_fired) == (
        "firing",
        1,
        t,
    )
    one = await al.record_rule_change("scam", "disabled", "ana", t)
    await al.record_rule_change("raid", "joins: 10 -> 15", "bob", t + 1)
    assert [c.change for c in await al.rule_changes()] == ["joins: 10 -> 15", "disabled"]
    assert await al.rule_changes("scam") == [one]


async def test_who_talks_on_both(both: list[Store]) -> None:
    """How concentrated the talking is, and newcomers who spoke in their first week, the
    same on SQLite and PostgreSQL."""
    from cockpit.scoring.health import top_share

    day = timedelta(days=1)
    start = NOW - 10 * day
    rows = []
    for who, n in (("loud", 40), ("mid", 8), ("quiet", 2)):
        rows += [act(0, source_id=f"{who}{i}", author=who, author_id=who,
                     ts=start + timedelta(minutes=3 * i)) for i in range(n)]  # fmt: skip
    # a newcomer who joins and speaks two days later; one who only joins; one who speaks late
    rows.append(act(0, source_id="j1", kind=Kind.JOIN, author="new1", author_id="new1", ts=start))
    rows.append(act(0, source_id="p1", author="new1", author_id="new1", ts=start + 2 * day))
    rows.append(act(0, source_id="j2", kind=Kind.JOIN, author="new2", author_id="new2", ts=start))
    rows.append(act(0, source_id="j3", kind=Kind.JOIN, author="new3", author_id="new3", ts=start))
    rows.append(act(0, source_id="p3", author="new3", author_id="new3", ts=start + 8 * day))
    found = []
    for s in both:
        await s.write(rows)
        sc = s.scoring()
        await sc.catch_up()
        f = await sc.filter("c1")
        first, last = end_day(start) - 1, end_day(NOW)
        posts = await sc.posts_per_person(f, first, last)
        spoke = await sc.newcomers_spoke(f, to_ms(start - day), to_ms(start + day))
        found.append((posts, spoke))
    assert found[0] == found[1]
    posts, (arrived, spoke) = found[0]
    assert posts == [40, 8, 2, 1, 1]
    # six arrived in that window: the three talkers and new1 spoke in their first week; new2
    # never spoke, new3 only on day 8
    assert (arrived, spoke) == (6, 4)
    assert top_share(posts, 0.01) == 40 / 52 and top_share([], 0.1) is None
