"""Scoring scenarios with a known right answer, on a real SQLite store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cockpit.model import Kind
from cockpit.scoring.config import ScoringSettings
from cockpit.scoring.health import health, topic_heat
from cockpit.scoring.identity import Identity, suggest
from cockpit.scoring.leaderboard import explain, leaderboard
from cockpit.scoring.rank import pagerank, total
from cockpit.scoring.signals import is_question
from cockpit.scoring.topics import Said
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_scoring import ScoringStore
from factories import T0, act

NOW = T0 + timedelta(hours=1)


def msg(sid: str, who: str, text: str, at: timedelta, **kw: object) -> object:
    return act(0, source_id=sid, author=who, author_id=who, text=text, ts=T0 + at, **kw)


async def board(store: SQLiteStore, window: str = "7d", **kw: object) -> dict[str, float]:
    sc = ScoringStore(store, ScoringSettings(**kw))  # type: ignore[arg-type]
    await sc.catch_up()
    return {s.who.name: s.score for s in await leaderboard(sc, "c1", window, NOW, limit=None)}


async def test_the_flooder_ranks_below_the_helper(store: SQLiteStore) -> None:
    records = [msg("q1", "asker", "how do I export my wallet keys?", timedelta(0))]
    records += [
        msg("a1", "helper", "Settings, then Security, then Export keys", timedelta(minutes=1),
            reply_to="q1"),
        act(0, source_id="r1", kind=Kind.REACTION, author="asker", author_id="asker",
            text="🙏", reply_to="a1", ts=T0 + timedelta(minutes=2)),
    ]  # fmt: skip
    records += [
        msg(f"f{i}", "flooder", "gm gm gm gm everyone gm", timedelta(seconds=5 * i))
        for i in range(200)
    ]
    await store.write(records)  # type: ignore[arg-type]
    scores = await board(store)
    # 200 messages in 1000 s with a 60 s cooldown count 17 times, at 0.5 each
    assert scores["flooder"] == 8.5
    # a message, a reply, an answer to a question and a reaction received
    assert scores["helper"] == 0.5 + 1.0 + 5.0 + 1.0
    # the asker: a message, a reply received, a thread answered
    assert scores["asker"] == 0.5 + 1.0 + 1.0
    # short chatter does not count at all
    await store.write([msg("s1", "chatty", "gm", timedelta(minutes=9))])  # type: ignore[list-item]
    assert "chatty" not in await board(store)
    assert list(await board(store, cooldown_s=0)).index("flooder") == 0  # cooldown is what holds it


async def test_old_activity_decays_by_a_tenth_a_month(store: SQLiteStore) -> None:
    old = [msg(f"o{i}", "veteran", f"a long enough message {i}", -timedelta(days=60, minutes=2 * i))
           for i in range(10)]  # fmt: skip
    new = [msg(f"n{i}", "newbie", f"a long enough message {i}", timedelta(minutes=2 * i))
           for i in range(10)]  # fmt: skip
    await store.write(old + new)  # type: ignore[arg-type]
    scores = await board(store, window="all")
    assert scores["newbie"] == pytest.approx(10 * 0.5)
    # T0 - 60 days is 60 days before the window's last day: 0.9 ** 2
    assert scores["veteran"] == pytest.approx(10 * 0.5 * 0.81)
    assert "veteran" not in await board(store, window="30d")


async def test_a_linked_persons_score_is_the_sum_and_unlinking_restores(store: SQLiteStore) -> None:
    rows = [msg(f"d{i}", "lena", f"discord answer number {i}", timedelta(minutes=3 * i))
            for i in range(7)]  # fmt: skip
    rows += [act(0, platform="discourse", source_id=f"t{i}", author="Lena S", author_id="lena-dc",
                 text=f"forum post number {i} here", ts=T0 + timedelta(minutes=5 * i))
             for i in range(4)]  # fmt: skip
    rows += [msg("x1", "bob", "bob asks: does it work?", timedelta(minutes=1), reply_to=None),
             msg("x2", "lena", "yes it works, try again", timedelta(minutes=30), reply_to="x1")]  # fmt: skip
    await store.write(rows)  # type: ignore[arg-type]
    apart = await board(store)
    sc = ScoringStore(store)
    a = (await store.find_members("lena", "c1"))[0].id
    b = (await store.find_members("lena-dc", "c1"))[0].id
    person = await sc.store.identity.link(a, b)
    linked = await leaderboard(sc, "c1", "7d", NOW, limit=None)
    top = linked[0]
    assert top.who.key == -person and set(top.who.member_ids) == {a, b}
    assert top.who.platforms == ("discord", "discourse")
    assert top.score == pytest.approx(apart["lena"] + apart["Lena S"])
    why = await explain(sc, "c1", b, "7d", NOW)
    assert why.score == top.score == total(why.terms)
    assert await sc.store.identity.unlink(a)
    assert await board(store) == apart


async def test_the_churn_watch_finds_the_member_who_went_quiet(store: SQLiteStore) -> None:
    core = [msg(f"c{i}", "sofi", f"helpful thing number {i}", -timedelta(days=40 + i % 50, minutes=i))
            for i in range(60)]  # fmt: skip
    light = [msg(f"l{i}", "light", f"just a visit number {i}", -timedelta(days=40 + i))
             for i in range(10)]  # fmt: skip
    busy = [msg(f"b{i}", "busy", f"still around number {i}", -timedelta(days=i % 5, minutes=i))
            for i in range(60)]  # fmt: skip
    await store.write(core + light + busy)  # type: ignore[arg-type]
    sc = ScoringStore(store)
    await sc.catch_up()
    h = await health(sc, "c1", "30d", NOW)
    assert [(c["name"], c["days_quiet"], c["conversations_90d"]) for c in h["churn_watch"]] == [
        ("sofi", 40, 60)
    ]
    found = await leaderboard(sc, "c1", "90d", NOW, limit=None)
    assert {s.who.name: s.churn for s in found} == {"sofi": "quiet", "light": None, "busy": None}


async def test_health_counts_questions_and_first_responses(store: SQLiteStore) -> None:
    await store.write([  # type: ignore[list-item]
        msg("q1", "ann", "where is the AMA recording?", timedelta(0)),
        msg("a1", "bo", "pinned in #announcements", timedelta(minutes=4), reply_to="q1"),
        msg("a2", "cy", "also on youtube channel", timedelta(minutes=9), reply_to="q1"),
        msg("q2", "dee", "anyone else seeing the login bug?", timedelta(minutes=5)),
        act(0, source_id="j1", kind=Kind.JOIN, author="eve", author_id="eve", text="",
            ts=T0 + timedelta(minutes=6)),
    ])  # fmt: skip
    sc = ScoringStore(store)
    await sc.catch_up()
    await sc.catch_up()  # idempotent: nothing twice
    h = await health(sc, "c1", "7d", NOW)
    assert (h["questions"], h["answered"], h["unanswered"]) == (2, 1, 1)
    assert h["median_first_response_s"] == 240.0
    assert [q["id"] for q in h["unanswered_latest"]] == ["q2"]
    assert (h["joins"], h["dau"], h["speakers"], h["members"]) == (1, 4, 4, 5)


async def test_bots_and_staff_are_left_out(store: SQLiteStore) -> None:
    await store.write([  # type: ignore[list-item]
        msg("1", "carl", "welcome to the server friend", timedelta(0), is_bot=True),
        msg("2", "mira", "the staff announcement for today", timedelta(minutes=1)),
        msg("3", "ann", "a member talking about stuff", timedelta(minutes=2)),
    ])  # fmt: skip
    assert set(await board(store)) == {"ann", "mira"}
    assert set(await board(store, staff=["mira"])) == {"ann"}
    assert set(await board(store, exclude_bots=False, exclude_staff=False)) == {
        "ann",
        "mira",
        "carl",
    }


def test_signals_and_graph() -> None:
    assert is_question("how do I stake my tokens")
    assert is_question("¿dónde está el canal?")
    assert not is_question("gm?")
    assert not is_question("I did it my way, thanks")
    ranks = pagerank([(1, 3, 1.0), (2, 3, 1.0), (3, 1, 1.0)])
    assert max(ranks, key=ranks.__getitem__) == 3
    assert sum(ranks.values()) == pytest.approx(1.0)
    now = [Said("staking rewards are late again", "help", "discord")] * 30
    now += [Said(f"release {i} looks fine", "general", "discord") for i in range(300)]
    before = [Said(f"release {i} looks fine", "general", "discord") for i in range(300)]
    heat = topic_heat(now, before)
    assert [(t["term"], t["last_week"], t["this_week"], t["related"]) for t in heat] == [
        ("staking rewards", 0, 30, ["late"]),  # one topic: said in the same messages
    ]  # the phrase, not its words; "release" did not rise
    assert heat[0]["channels"] == ["#help on discord"] and heat[0]["g2"] >= 10.83
    found = suggest([
        Identity(1, "discord", "lenaschaefer", "Lena Schäfer", None, 5),
        Identity(2, "discourse", "lenaschaefer", "Lena Schäfer", None, 5),
        Identity(3, "whatsapp", None, "Lena Schafer", None, 5),
        Identity(4, "discord", "other", "Lena Schäfer", None, 5),
    ])  # fmt: skip
    assert {(s.a.id, s.b.id): (s.reason, round(s.confidence, 2)) for s in found} == {
        (1, 2): ("same handle and name", 0.9),
        (1, 3): ("same name, written differently", 0.63),
        (2, 3): ("same name, written differently", 0.63),
        (2, 4): ("same display name", 0.68),
        (3, 4): ("same name, written differently", 0.63),
    }
    assert (found[0].a.id, found[0].b.id) == (1, 2)
    assert all(s.a.platform != s.b.platform for s in found)
    assert (1, 2) not in {(s.a.id, s.b.id) for s in suggest([], rejected={(1, 2)})}
