"""The ranking totals ingest keeps current rank exactly as a sum over the daily rollup does:
after each batch, as the day rolls on, under other weights, with persons, bots and staff."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest

from cockpit.model import Activity, Kind
from cockpit.scoring.config import ScoringSettings
from cockpit.scoring.leaderboard import explain, leaderboard
from cockpit.scoring.rank import WINDOWS, total
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_scoring import ScoringStore, end_day
from factories import T0, act

NOW = T0 + timedelta(hours=1)


def community(seed: int, n: int = 900, days: int = 200) -> list[Activity]:
    """People of very different activity over `days`, replying to and reacting to each other."""
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
        out.append(act(0, source_id=f"m{i}", text=text, ts=ts, author=f"p{who}",
                       author_id=f"p{who}", reply_to=parent, is_bot=who == 3))  # fmt: skip
    return out


async def ingest(store: SQLiteStore, sc: ScoringStore, records: list[Activity]) -> None:
    """As the ingest listener does: fold each committed batch in."""
    on_commit = sc.listener()
    for i in range(0, len(records), 150):
        await on_commit(await store.write(records[i : i + 150]))


def spans(now: datetime) -> list[tuple[int | None, int]]:
    """Every window the leaderboard reads: each window, and the one before it (the trend)."""
    end = end_day(now)
    out: list[tuple[int | None, int]] = [(None, end)]
    for n in filter(None, WINDOWS.values()):
        out += [(end - n, end), (end - 2 * n, end - n)]
    return out


async def assert_as_the_scan(sc: ScoringStore, now: datetime, community: str = "c1") -> int:
    """The totals' ranking and figures are the rollup scan's (the reference); how many rows."""
    f = await sc.filter(community)
    rows = 0
    for start, end in spans(now):
        assert await sc._materialised(start, end) is not None  # the totals answer it
        fast = await sc.window_scores(f, start, end)
        slow = await sc._scan(f, start, end)
        assert [r[:3] for r in fast] == [r[:3] for r in slow]
        for a, b in zip(fast, slow, strict=True):
            assert a[3] == pytest.approx(b[3], rel=1e-12)
        keys = [r[0] for r in slow[::3]]
        wanted = {k: place for k, place, _, _ in slow if k in keys}
        assert await sc.window_ranks(f, start, end, keys) == wanted
        assert [r[:2] for r in await sc.window_scores(f, start, end, keys=keys, limit=2)] == [
            r[:2] for r in slow if r[0] in keys
        ][:2]
        rows += len(fast)
    return rows


async def test_totals_rank_as_the_rollup_scan_does_batch_by_batch(store: SQLiteStore) -> None:
    sc = ScoringStore(store, clock=lambda: NOW)
    records = community(seed=1)
    await ingest(store, sc, records[:450])
    assert await assert_as_the_scan(sc, NOW) > 50
    await ingest(store, sc, records[450:])
    await sc.catch_up()  # nothing new: nothing changes
    assert await assert_as_the_scan(sc, NOW) > 100
    board = await leaderboard(sc, "c1", "30d", NOW, limit=5)
    assert [s.rank for s in board] == [1, 2, 3, 4, 5]
    assert all(s.score == total(s.terms) for s in board)
    assert "p3" not in {s.who.name for s in await leaderboard(sc, "c1", "all", NOW, limit=None)}


async def test_persons_and_staff_rank_from_the_totals(store: SQLiteStore) -> None:
    sc = ScoringStore(store, clock=lambda: NOW)
    await ingest(store, sc, community(seed=2))
    ids = {m.handle or m.display_name: m.id for m in await store.members("c1")}
    # a person of two quiet members, and one of a busy and a quiet one
    await sc.store.identity.link(ids["p9"], ids["p12"])
    busy = await sc.store.identity.link(ids["p1"], ids["p17"])
    assert await assert_as_the_scan(sc, NOW)
    top = (await leaderboard(sc, "c1", "90d", NOW, limit=3))[0]
    assert top.who.key == -busy and set(top.who.member_ids) == {ids["p1"], ids["p17"]}
    why = await explain(sc, "c1", ids["p17"], "90d", NOW)
    assert (why.rank, why.score) == (1, top.score)
    staff = ScoringStore(store, ScoringSettings(staff=["p1"]), clock=lambda: NOW)
    assert await assert_as_the_scan(staff, NOW)
    assert -busy not in {s.who.key for s in await leaderboard(staff, "c1", "90d", NOW, limit=None)}
    await sc.store.identity.unlink(ids["p1"])
    assert await assert_as_the_scan(sc, NOW)


async def test_the_totals_roll_on_with_the_day(store: SQLiteStore) -> None:
    clock = [NOW]
    sc = ScoringStore(store, clock=lambda: clock[0])
    records = community(seed=3)
    # a message stamped tomorrow (a skewed clock) counts from tomorrow on
    records.append(act(0, source_id="late", text="a message from tomorrow", author="p30",
                       author_id="p30", ts=NOW + timedelta(days=1)))  # fmt: skip
    await ingest(store, sc, records)
    assert "p30" not in {s.who.name for s in await leaderboard(sc, "c1", "7d", NOW, limit=None)}
    for days in (1, 2, 5, 31, 95, 400):
        clock[0] = NOW + timedelta(days=days)
        await sc.catch_up()
        assert await assert_as_the_scan(sc, clock[0])
        if days == 1:
            board = await leaderboard(sc, "c1", "7d", clock[0], limit=None)
            assert {s.who.name: s.score for s in board}["p30"] == 0.5
    # a history of rolls leaves the totals a refill makes (up to the common factor)
    rolled = await decayed_totals(store)
    await store.transaction(lambda c: c.execute("DELETE FROM score_state WHERE key = 'total_end'"))
    await sc.catch_up()
    assert await decayed_totals(store) == pytest.approx(rolled, rel=1e-12)
    # years on, the anchor moves: the common factor stays small
    clock[0] = NOW + timedelta(days=365 * 25)
    await sc.catch_up()
    state = dict(await store.fetchall("SELECT key, value FROM score_state"))
    assert state["total_anchor"] == end_day(clock[0]) - 1
    assert await assert_as_the_scan(sc, clock[0])


async def decayed_totals(store: SQLiteStore) -> dict[tuple[int, int], float]:
    """The totals decayed from their end day, so totals of different anchors compare."""
    state = dict(await store.fetchall("SELECT key, value FROM score_state"))
    factor = 0.9 ** ((state["total_end"] - 1 - state["total_anchor"]) / 30)
    rows = await store.fetchall("SELECT win, member_id, score FROM score_total")
    return {(w, m): s * factor for w, m, s in rows}


async def test_other_weights_rebuild_the_totals(store: SQLiteStore) -> None:
    sc = ScoringStore(store, clock=lambda: NOW)
    await ingest(store, sc, community(seed=4))
    answers_only = ScoringSettings.model_validate(
        {"weights": {t: 0 for t in ("messages", "replies", "replies_received",
                                     "reactions_received", "threads_answered")}}
    )  # fmt: skip
    other = ScoringStore(store, answers_only, clock=lambda: NOW)
    f = await other.filter("c1")
    start = end_day(NOW) - 30
    # until its first catch-up the other weights read from the scan, correctly
    assert await other._materialised(start, end_day(NOW)) is None
    before = await other.window_scores(f, start, end_day(NOW))
    await other.catch_up()
    assert await other.window_scores(f, start, end_day(NOW)) == before
    assert await assert_as_the_scan(other, NOW)
    assert all(set(d) and sum(d.values()) > 0 for _, _, _, d in before)
    assert all(r[2]["answers"] > 0 for r in before)
    # and back: the first settings' totals come back on their catch-up
    await sc.catch_up()
    assert await assert_as_the_scan(sc, NOW)


async def test_known_answers_through_the_totals(store: SQLiteStore) -> None:
    sc = ScoringStore(store, clock=lambda: NOW)
    await ingest(store, sc, [
        act(0, source_id="q", author="ann", author_id="ann", text="where is the AMA recording?"),
        act(0, source_id="a", author="bo", author_id="bo", text="pinned in announcements",
            reply_to="q", ts=T0 + timedelta(minutes=3)),
        *[act(0, source_id=f"f{i}", author="fred", author_id="fred", text="gm gm gm gm gm gm",
              ts=T0 + timedelta(seconds=10 * i)) for i in range(60)],
        *[act(0, source_id=f"o{i}", author="old", author_id="old", text="long enough message",
              ts=T0 - timedelta(days=60, minutes=5 * i)) for i in range(4)],
    ])  # fmt: skip
    board = await leaderboard(sc, "c1", "all", NOW, limit=None)
    # bo: a message, a reply, an answer; ann: a message, a reply received, a thread answered
    # fred: 600 s of flooding counts ten times; old: four messages two months back
    assert [(s.who.name, s.rank, s.score) for s in board[:3]] == [
        ("bo", 1, 0.5 + 1.0 + 5.0),
        ("fred", 2, 5.0),
        ("ann", 3, 0.5 + 1.0 + 1.0),
    ]
    assert board[3].who.name == "old" and board[3].score == pytest.approx(4 * 0.5 * 0.81)
    assert [s.who.name for s in await leaderboard(sc, "c1", "30d", NOW, limit=None)] == [
        "bo",
        "fred",
        "ann",
    ]


async def test_influence_is_computed_once_per_rollup_state(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = ScoringStore(store, clock=lambda: NOW)
    records = community(seed=5)
    await ingest(store, sc, records[:600])
    calls: list[Any] = []
    real = sc.influence

    async def counted(*args: Any) -> Any:
        calls.append(args)
        return await real(*args)

    monkeypatch.setattr(sc, "influence", counted)
    first = await leaderboard(sc, "c1", "30d", NOW, limit=10)
    again = await leaderboard(sc, "c1", "30d", NOW, limit=10)
    assert len(calls) == 1 and [s.centrality for s in again] == [s.centrality for s in first]
    assert any(s.influence for s in first)
    await leaderboard(sc, "c1", "7d", NOW, limit=10)
    assert len(calls) == 2  # another window
    await ingest(store, sc, records[600:])
    await leaderboard(sc, "c1", "30d", NOW, limit=10)
    assert len(calls) == 3  # new activity
    ids = [m.id for m in await store.members("c1")]
    await sc.store.identity.link(ids[0], ids[1])
    await leaderboard(sc, "c1", "30d", NOW, limit=10)
    assert len(calls) == 4  # new links
