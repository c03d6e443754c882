"""The case log on both stores (a real SQLite file and a real PostgreSQL server), and the
executor against a recording actor: each step claimed once across processes, outcomes and
effects stored together, a crash mid-call verified rather than repeated, expiries lifted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cockpit.moderation.executor import ActionExecutor
from cockpit.moderation.repository import CaseQuery, NewCase, state_of
from cockpit.plugin_api import ActionCall, ActionOutcome, ActionTarget
from cockpit.store.base import FeedQuery, Store
from cockpit.store.postgres import PostgresStore
from cockpit.store.sqlite import SQLiteStore
from factories import act

BACKENDS = ["sqlite", "postgresql"]
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


async def open_backend(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if backend == "sqlite":
        return await SQLiteStore.open(tmp_path / "store.db")
    return await PostgresStore.open(request.getfixturevalue("pg_url"))


async def reopen(backend: str, first: Store, tmp_path: Path) -> Store:
    """Another process's handle on the same store."""
    if backend == "sqlite":
        return await SQLiteStore.open(tmp_path / "store.db")
    assert isinstance(first, PostgresStore)
    return await PostgresStore.open(first.url)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_backend(request.param, request, tmp_path)
    s.backend = request.param  # type: ignore[attr-defined]
    yield s
    await s.close()


class Recorder:
    """An actor that records every call and answers as told."""

    def __init__(self, platforms: tuple[str, ...] = ("discord", "telegram")) -> None:
        self.actions: Mapping[str, frozenset[str]] = {
            p: frozenset({"ban", "unban", "timeout", "delete", "lock", "unlock"}) for p in platforms
        }
        self.calls: list[ActionCall] = []
        self.answers: dict[str, ActionOutcome] = {}
        self.verified: list[ActionCall] = []
        self.effective = True
        self.absent = False  # the check finds the effect missing (the call never landed)

    async def perform(self, call: ActionCall) -> ActionOutcome:
        self.calls.append(call)
        return self.answers.get(
            call.target.platform,
            ActionOutcome("done", f"{call.action} ok", restore={"was": "open"}),
        )

    async def verify(self, call: ActionCall) -> ActionOutcome | None:
        self.verified.append(call)
        if self.absent:
            return ActionOutcome("failed", "checked: the ban is not there")
        return ActionOutcome("done", "the ban is there") if self.effective else None

    async def aclose(self) -> None:
        pass


def ban(platforms: tuple[str, ...] = ("discord", "telegram"), **kw: Any) -> NewCase:
    base: dict[str, Any] = dict(
        community="c1",
        action="ban",
        reason="spam wave",
        operator="mira",
        label="mallory (everywhere)",
        targets=[
            ActionTarget(p, "c1", user_id=f"u-{p}", label=f"@mallory on {p}") for p in platforms
        ],
        step_members=[1] * len(platforms),
        member_id=1,
    )
    base.update(kw)
    return NewCase(**base)


def test_case_state_follows_its_steps() -> None:
    assert state_of(["done", "done"], None) == "done"
    assert state_of(["done", "failed"], None) == "partial"
    assert state_of(["done", "claimed"], None) == "pending"
    assert state_of(["failed", "unknown"], None) == "unknown"
    assert state_of(["withdrawn"], None) == "withdrawn"
    assert state_of(["done"], "reverted") == "reverted"


async def test_submit_claim_finish_and_effects(store: Store) -> None:
    await store.write([act(1), act(2)])
    repo = store.moderation
    case = await repo.submit(ban(), NOW)
    assert case.state == "pending" and [s.status for s in case.steps] == ["pending", "pending"]
    assert [e.kind for e in case.events] == ["requested"]
    assert await repo.claim([("slack", "c1")], "h1", NOW) == []  # not ours
    got = await repo.claim([("discord", "c1")], "h1", NOW)
    assert [(c.case.number, c.step.target.platform) for c in got] == [(case.number, "discord")]
    assert await repo.claim([("discord", "c1")], "h2", NOW) == []  # taken once
    after = await repo.finish(got[0].step, ActionOutcome("done", "banned"), NOW)
    assert after.state == "pending"  # telegram still to go
    tg = await repo.claim([("telegram", "c1")], "h1", NOW)
    final = await repo.finish(tg[0].step, ActionOutcome("failed", "403: can_restrict_members"), NOW)
    assert final.state == "partial"
    assert [s.detail for s in final.steps] == ["banned", "403: can_restrict_members"]
    restricted = await repo.restrictions([1], NOW)
    assert [(r.platform, r.kind) for r in restricted] == [("discord", "ban")]
    # a delete marks the message in the feed and in the removed set
    d = await repo.submit(
        ban(
            ("discord",),
            action="delete",
            targets=[ActionTarget("discord", "c1", channel_id="g", message_ids=("1",))],
            step_members=[None],
        ),
        NOW,
    )
    step = (await repo.claim([("discord", "c1")], "h1", NOW))[0].step
    await repo.finish(step, ActionOutcome("done", "deleted"), NOW)
    assert await repo.removed_messages("discord", ["1", "2"]) == {"1"}
    rows = {r.source_id: r.deleted for r in await store.feed(FeedQuery(limit=10))}
    assert rows == {"1": True, "2": False}
    listed = await repo.cases(CaseQuery(member_ids=[1]))
    assert [c.number for c in listed] == [d.number, case.number]
    assert [c.number for c in await repo.cases(CaseQuery(states=["partial"]))] == [case.number]


async def test_two_claimers_never_take_the_same_step(store: Store, tmp_path: Path) -> None:
    other = await reopen(store.backend, store, tmp_path)  # type: ignore[attr-defined]
    try:
        for _ in range(30):
            await store.moderation.submit(ban(("discord",)), NOW)
        pairs = [("discord", "c1")]

        async def drain(s: Store, holder: str) -> list[int]:
            taken: list[int] = []
            while got := await s.moderation.claim(pairs, holder, NOW, limit=3):
                taken += [c.step.id for c in got]
                await asyncio.sleep(0)
            return taken

        a, b = await asyncio.gather(drain(store, "a"), drain(other, "b"))
        assert len(a) + len(b) == 30 and not set(a) & set(b)
    finally:
        await other.close()


async def test_withdraw_only_what_nobody_claimed(store: Store) -> None:
    repo = store.moderation
    one = await repo.submit(ban(("discord",)), NOW)
    assert await repo.withdraw(one.number, "mira", "nobody took it", NOW)
    assert (await repo.case(one.number)).state == "withdrawn"  # type: ignore[union-attr]
    assert await repo.claim([("discord", "c1")], "h", NOW) == []  # never executed later
    two = await repo.submit(ban(("discord",)), NOW)
    await repo.claim([("discord", "c1")], "h", NOW)
    assert not await repo.withdraw(two.number, "mira", "too late", NOW)


async def test_executor_performs_once_recovers_and_lifts(store: Store, tmp_path: Path) -> None:
    clock = Clock()
    actor = Recorder()
    actors = {("discord", "c1"): actor, ("telegram", "c1"): actor}
    ex = ActionExecutor(store, actors, "vm:1:a", clock=clock)
    case = await store.moderation.submit(ban(until=NOW + timedelta(hours=1)), NOW)
    assert await ex.run_once() == 2
    assert await ex.run_once() == 0  # nothing twice
    assert [(c.action, c.target.platform) for c in actor.calls] == [
        ("ban", "discord"),
        ("ban", "telegram"),
    ]
    assert actor.calls[0].key != actor.calls[1].key
    assert (await store.moderation.case(case.number)).state == "done"  # type: ignore[union-attr]

    # a crash between the claim and the outcome: the next start verifies, does not repeat
    crashed = await store.moderation.submit(ban(("discord",)), NOW)
    await store.moderation.claim(
        [("discord", "c1")], "elsewhere:999999:x", NOW - timedelta(hours=1)
    )
    calls = len(actor.calls)
    await ActionExecutor(store, actors, "vm:2:b", clock=clock).recover()
    assert len(actor.calls) == calls and len(actor.verified) == 1
    rec = await store.moderation.case(crashed.number)
    assert rec is not None and rec.state == "done"
    assert [e.kind for e in rec.events][-1] == "verified"

    # the hour is up: the token holder unbans on both platforms and closes the case
    clock.now = NOW + timedelta(hours=1, seconds=1)
    await ex.run_once()
    lifted = [(c.action, c.target.platform) for c in actor.calls[calls:]]
    assert lifted == [("unban", "discord"), ("unban", "telegram")]
    closed = await store.moderation.case(case.number)
    assert closed is not None and closed.state == "expired"
    await ex.run_once()
    assert len(actor.calls) == calls + 2  # lifted once


async def test_unknown_outcome_is_kept_for_a_human(store: Store) -> None:
    actor = Recorder(("discord",))
    actor.effective = False
    ex = ActionExecutor(store, {("discord", "c1"): actor}, "vm:1:a", clock=Clock())
    n = (await store.moderation.submit(ban(("discord",)), NOW)).number
    await store.moderation.claim([("discord", "c1")], "gone:1:x", NOW - timedelta(hours=1))
    await ex.recover()
    case = await store.moderation.case(n)
    assert case is not None and case.state == "unknown"
    assert "check it there" in case.steps[0].detail
    assert actor.calls == []


async def test_a_claimed_step_found_not_in_effect_is_carried_out_once(store: Store) -> None:
    """A crash after the claim but before the call: the check finds no ban, so the ban is
    made now, once; a post is never repeated that way (it may have gone out unseen)."""
    actor = Recorder(("discord",))
    actor.absent = True
    ex = ActionExecutor(store, {("discord", "c1"): actor}, "vm:1:a", clock=Clock())
    n = (await store.moderation.submit(ban(("discord",)), NOW)).number
    await store.moderation.claim([("discord", "c1")], "gone:1:x", NOW - timedelta(hours=1))
    await ex.recover()
    case = await store.moderation.case(n)
    assert case is not None and case.state == "done"
    assert [c.action for c in actor.calls] == ["ban"] and len(actor.verified) == 1
    assert any("carrying it out now" in e.text for e in case.events)
    await ex.recover()
    await ex.run_once()
    assert len(actor.calls) == 1  # and never again


def test_proposed_dry_run_and_rejected_states() -> None:
    assert state_of(["proposed", "proposed"], None) == "proposed"
    assert state_of(["dry-run"], None) == "dry-run"
    assert state_of(["rejected", "rejected"], None) == "rejected"
    assert state_of(["done", "rejected"], None) == "done"


async def test_a_proposal_waits_until_confirmed_and_an_origin_asks_once(
    store: Store, tmp_path: Path
) -> None:
    repo = store.moderation
    timed = ban(
        ("discord", "telegram"),
        action="timeout",
        operator="rule:scam",
        until=NOW + timedelta(hours=1),
        status="proposed",
        origin="rule:scam:alert:7:0",
        alert_id=7,
    )
    case = await repo.submit(timed, NOW)
    assert case.state == "proposed" and [e.kind for e in case.events] == ["proposed"]
    assert await repo.claim([("discord", "c1"), ("telegram", "c1")], "h", NOW) == []
    # the same origin again (a restart, a second look): that case, nothing added
    again = await repo.submit(timed, NOW + timedelta(seconds=5))
    assert again.number == case.number
    assert [c.number for c in await repo.cases(CaseQuery(alert_id=7))] == [case.number]
    assert await repo.automatic_steps(NOW - timedelta(minutes=10)) == 0  # proposals don't count
    # confirmed 20 minutes later: the timeout still lasts an hour from then
    later = NOW + timedelta(minutes=20)
    other = await reopen(store.backend, store, tmp_path)  # type: ignore[attr-defined]
    try:
        first, second = await asyncio.gather(
            repo.decide(case.number, True, "mira", later),
            other.moderation.decide(case.number, True, "kenji", later),
        )
    finally:
        await other.close()
    assert sorted([first, second]) == [False, True]  # one operator wins, once
    confirmed = await repo.case(case.number)
    assert confirmed is not None and confirmed.state == "pending"
    assert confirmed.until == NOW + timedelta(hours=1, minutes=20)
    assert [e.kind for e in confirmed.events] == ["proposed", "confirmed"]
    got = await repo.claim([("discord", "c1"), ("telegram", "c1")], "h", later)
    assert len(got) == 2
    assert await repo.automatic_steps(NOW - timedelta(minutes=10)) == 2
    assert await repo.automatic_steps(NOW - timedelta(minutes=10), "rule:other") == 0
    assert await repo.automatic_steps(NOW + timedelta(minutes=1)) == 0  # outside the window
    # rejected: never runs; a dry run is recorded and never runs either
    nope = await repo.submit(ban(("discord",), status="proposed", origin="o2"), NOW)
    assert await repo.decide(nope.number, False, "mira", NOW)
    assert not await repo.decide(nope.number, True, "mira", NOW)
    dry = await repo.submit(ban(("discord",), status="dry-run", origin="o3"), NOW)
    assert [(await repo.case(n)).state for n in (nope.number, dry.number)] == [  # type: ignore[union-attr]
        "rejected",
        "dry-run",
    ]
    assert await repo.claim([("discord", "c1")], "h", NOW) == []


async def test_what_rules_post_can_be_left_out_of_the_log(store: Store) -> None:
    repo = store.moderation
    hello = ActionTarget("discord", "c1", channel_id="g", label="#general")
    post = ban(("discord",), action="say", operator="rule:welcome", targets=[hello],
               text="welcome!", origin="welcome:c1:discord:1")  # fmt: skip
    said = await repo.submit(post, NOW)
    by_hand = await repo.submit(ban(("discord",), action="say", targets=[hello], text="hi"), NOW)
    banned = await repo.submit(ban(("discord",)), NOW)
    every = [c.number for c in await repo.cases(CaseQuery())]
    assert every == [banned.number, by_hand.number, said.number]
    moderation = [c.number for c in await repo.cases(CaseQuery(posts=False))]
    assert moderation == [banned.number, by_hand.number]


async def test_role_steps_replay_what_an_operator_asked_on_both(store: Store) -> None:
    """Role rewards know which roles they gave from this, on either backend."""
    give = ban(("discord",), action="role_add", operator="rule:roles", role="42", origin="r:1")
    first = await store.moderation.submit(give, NOW)
    assert first.role == "42" and first.call(first.steps[0]).role == "42"
    again = await store.moderation.submit(give, NOW + timedelta(minutes=1))
    assert again.number == first.number  # the same origin asks once
    await store.moderation.submit(
        ban(("discord",), action="role_remove", operator="rule:roles", role="42"),
        NOW + timedelta(days=1),
    )
    await store.moderation.submit(ban(("discord",), action="role_add", role="42"), NOW)  # by hand
    await store.moderation.submit(
        ban(("discord",), action="role_add", operator="rule:roles", role="42", community="c2"), NOW
    )
    steps = await store.moderation.role_steps("c1", "rule:roles")
    assert [(s.action, s.role, s.platform, s.user_id, s.status, s.member_id) for s in steps] == [
        ("role_add", "42", "discord", "u-discord", "pending", 1),
        ("role_remove", "42", "discord", "u-discord", "pending", 1),
    ]
    assert steps[0].created == NOW and steps[0].case == first.number
    # not moderation: the caps count none of it
    assert await store.moderation.automatic_steps(NOW - timedelta(days=1)) == 0
