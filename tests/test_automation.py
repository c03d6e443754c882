"""Rules that act, in one process on a real SQLite file: the alert service evaluates, the
automation turns a firing alert's actions into cases, an executor with a recording actor
carries out what may run, and apprise really pages an HTTP server on 127.0.0.1.

Propose (the default) waits for a person and says so in a page; auto runs at once and pages
what was done and how to revert it; a cap turns the rest of a flood into proposals and a
[CAPPED] page; protected members are never actioned; dry-run records and does nothing; a
second service on the same store (a restart) never acts twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_alerts_notify import Clock, Inbox, settings

from cockpit.alerts.config import Receiver, parse_rules
from cockpit.alerts.service import AlertService
from cockpit.calendar.config import CalendarSettings
from cockpit.calendar.model import Event, new_uid
from cockpit.config import CockpitSettings, Config, SourceConfig
from cockpit.errors import CockpitError
from cockpit.model import Kind
from cockpit.moderation import service as moderation
from cockpit.moderation.announcements import Announcer
from cockpit.moderation.automation import Automation
from cockpit.moderation.config import ModerationSettings, WelcomeSettings
from cockpit.moderation.executor import ActionExecutor
from cockpit.moderation.repository import CaseQuery
from cockpit.moderation.targets import Refused, resolve
from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import ACTIONS, ActionCall, ActionOutcome
from cockpit.plugins.demo import DemoSettings
from cockpit.registry import registry as load_registry
from cockpit.store.sqlite import SQLiteStore
from cockpit.timeutil import from_ms
from factories import act

S = 1000


class Recorder:
    def __init__(self) -> None:
        self.actions = {"discord": ACTIONS}
        self.calls: list[ActionCall] = []

    async def perform(self, call: ActionCall) -> ActionOutcome:
        self.calls.append(call)
        return ActionOutcome("done", f"{call.action} {call.target.label}")

    async def verify(self, call: ActionCall) -> ActionOutcome | None:
        return None

    async def aclose(self) -> None:
        pass


def config(welcome: dict[str, Any] | None = None, **moderation: Any) -> Config:
    demo = SourceConfig("demo", "demo", "c1", True, DemoSettings())  # declares every action
    return Config(
        None,
        CockpitSettings(community="c1"),
        None,
        [demo],
        sections={
            "moderation": ModerationSettings(wait=10, **moderation),
            "alerting": settings(staff=["trusted"]),
            "welcome": WelcomeSettings.model_validate(welcome or {}),
        },
    )


def rules(**scam: Any) -> list[Any]:
    return parse_rules(
        [
            {
                "name": "scam",
                "kind": "keyword",
                "keywords": ["free nitro"],
                "severity": "critical",
                "actions": [{"do": "delete"}, {"do": "timeout", "for": "1h"}],
                **scam,
            }
        ]
    )


class Rig:
    """A store, the alert service with automation (its loop driven by the test) and an
    executor holding the 'token'."""

    def __init__(self, store: SQLiteStore, inbox: Inbox, cfg: Config, rule_set: list[Any]):
        self.store, self.cfg, self.rules = store, cfg, rule_set
        self.clock = Clock()
        self.clock.now = int(datetime.now(UTC).timestamp() * 1000)
        self.receiver = Receiver(name="oncall", urls=[inbox.url])
        self.actor = Recorder()

    async def __aenter__(self) -> Rig:
        self.automation = Automation(
            self.store,
            load_registry(),
            self.cfg,
            [self.receiver],
            clock=lambda: from_ms(self.clock.now),
        )
        self.service = AlertService(
            self.store,
            self.rules,
            [self.receiver],
            self.cfg.alerting,
            clock=self.clock,
            automation=self.automation,
        )
        await self.service.start(warmup=False)
        for t in self.service._tasks:
            t.cancel()
        self.writer = BatchingWriter(self.store)
        self.writer.listeners.append(self.service.on_commit)
        self.executor = ActionExecutor(
            self.store, {("discord", "c1"): self.actor}, "test:1:x", wake_every=0.05
        )
        await self.executor.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.executor.stop()
        await self.writer.close()
        await self.service.close()

    async def join(self, i: int, author: str) -> None:
        ts = datetime.fromtimestamp(self.clock.now / 1000, UTC)
        uid = str(5000 + sum(map(ord, author)))
        await self.writer.write_result(
            [act(i, kind=Kind.JOIN, ts=ts, author=author, author_id=uid, author_handle=author)]
        )

    async def post(self, i: int, author: str, text: str = "get FREE NITRO here") -> None:
        ts = datetime.fromtimestamp(self.clock.now / 1000, UTC)
        uid = str(5000 + sum(map(ord, author)))
        await self.writer.write_result(
            [act(i, text=text, ts=ts, author=author, author_id=uid, author_handle=author)]
        )

    async def settle(self) -> None:
        while not self.service._queue.empty():
            item = self.service._queue.get_nowait()
            assert isinstance(item, tuple)
            await self.service.process(*item)
        await self.service._evaluate()
        for task in list(self.automation.tasks):
            await task
        await self.service.send_due()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    yield box
    box.server.shutdown()


@pytest.fixture
async def store(tmp_path: Any) -> Any:
    s = await SQLiteStore.open(tmp_path / "store.db")
    yield s
    await s.close()


async def test_proposed_then_confirmed_once(store: SQLiteStore, inbox: Inbox) -> None:
    async with Rig(store, inbox, config(), rules()) as rig:
        await rig.post(1, "spammer")
        await rig.settle()
        [alert] = await store.alerts.alerts()
        cases = await store.moderation.cases(CaseQuery(alert_id=alert.id))
        assert [(c.action, c.state, c.operator) for c in cases] == [
            ("timeout", "proposed", "rule:scam"),
            ("delete", "proposed", "rule:scam"),
        ]
        assert rig.actor.calls == []  # nothing runs before a person says so
        titles = inbox.titles()
        assert "[PROPOSED] scam: delete+timeout (c1)" in titles
        page = next(r for r in inbox.received if r["title"].startswith("[PROPOSED]"))
        assert f"confirm: cockpit alerts act {alert.id}" in page["message"]
        assert "timeout @spammer on discord" in page["message"]
        # another evaluation, then the same service after a restart: no second proposal
        await rig.settle()
    async with Rig(store, inbox, config(), rules()) as again:
        await again.settle()
        assert len(await store.moderation.cases(CaseQuery(alert_id=alert.id))) == 2
        decided = await moderation.decide_alert(
            store, again.cfg, alert.id, True, "mira", from_ms(again.clock.now)
        )
        assert sorted(c.action for c in decided) == ["delete", "timeout"]
        for c in decided:
            done = await moderation.wait_for_outcome(store, c.number, 10, "mira")
            assert done.state == "done"
        assert sorted(c.action for c in again.actor.calls) == ["delete", "timeout"]
        delete = next(c for c in again.actor.calls if c.action == "delete")
        assert delete.target.message_ids == ("1",)
        with pytest.raises(Refused, match="no proposed action"):
            await moderation.decide_alert(
                store, again.cfg, alert.id, True, "kenji", from_ms(again.clock.now)
            )
        assert len(again.actor.calls) == 2


async def test_auto_acts_pages_and_caps_a_flood(store: SQLiteStore, inbox: Inbox) -> None:
    cap = {"count": 2, "within": "10m"}
    rule_set = rules(mode="auto", actions=[{"do": "ban"}], per="author", auto_cap=cap)
    async with Rig(store, inbox, config(), rule_set) as rig:
        for i, who in enumerate(["ann", "bob", "cyd", "dee"]):
            await rig.post(10 + i, who)
            rig.clock.now += S
            await rig.settle()
        cases = await store.moderation.cases(CaseQuery(limit=10))
        states = sorted((c.state, c.operator) for c in cases)
        assert states == [
            ("done", "rule:scam"),
            ("done", "rule:scam"),
            ("proposed", "rule:scam"),
            ("proposed", "rule:scam"),
        ]
        assert [c.action for c in rig.actor.calls] == ["ban", "ban"]
        titles = inbox.titles()
        assert sum(t.startswith("[AUTO] scam: ban done") for t in titles) == 2
        assert sum(t.startswith("[CAPPED] scam: ban") for t in titles) == 2
        auto = next(r for r in inbox.received if r["title"].startswith("[AUTO]"))
        assert "revert: cockpit cases revert" in auto["message"]
        capped = next(r for r in inbox.received if r["title"].startswith("[CAPPED]"))
        assert "cap reached: rule scam took 2 automatic actions" in capped["message"]
        # an automatic ban reverts like any other
        first = min(c.number for c in cases if c.state == "done")
        undo = await moderation.revert(
            store, rig.cfg, first, "false positive", "mira", from_ms(rig.clock.now)
        )
        assert (await moderation.wait_for_outcome(store, undo.number, 10, "mira")).state == "done"
        assert [c.action for c in rig.actor.calls] == ["ban", "ban", "unban"]


async def test_global_cap_across_rules(store: SQLiteStore, inbox: Inbox) -> None:
    cfg = config(auto_cap={"count": 1, "within": "1h"})
    rule_set = rules(mode="auto", actions=[{"do": "kick"}], per="author")
    async with Rig(store, inbox, cfg, rule_set) as rig:
        await rig.post(1, "ann")
        await rig.post(2, "bob")
        await rig.settle()
        states = sorted(c.state for c in await store.moderation.cases(CaseQuery()))
        assert states == ["done", "proposed"]
        capped = next(r for r in inbox.received if r["title"].startswith("[CAPPED]"))
        assert "all rules took 1 automatic actions in the last 1h" in capped["message"]


async def test_protected_members_are_never_actioned_and_dry_run_does_nothing(
    store: SQLiteStore, inbox: Inbox
) -> None:
    rule_set = rules(mode="auto", actions=[{"do": "ban"}, {"do": "delete"}], per="author")
    async with Rig(store, inbox, config(), rule_set) as rig:
        await rig.post(1, "trusted")  # staff in [alerting] staff
        await rig.settle()
        assert await store.moderation.cases(CaseQuery()) == []
        assert rig.actor.calls == []
    dry = rules(mode="dry-run", per="author")
    async with Rig(store, inbox, config(), dry) as rig:
        await rig.post(2, "mallory")
        await rig.settle()
        cases = await store.moderation.cases(CaseQuery())
        assert sorted((c.action, c.state) for c in cases) == [
            ("delete", "dry-run"),
            ("timeout", "dry-run"),
        ]
        assert rig.actor.calls == []
        assert not any(t.startswith(("[AUTO]", "[PROPOSED]")) for t in inbox.titles())


async def test_two_alerts_about_one_wave_never_ask_twice(store: SQLiteStore, inbox: Inbox) -> None:
    """A wave trips two rules (its text and its link, say): the second alert proposes only
    what the first did not already cover."""
    both = parse_rules(
        [
            {
                "name": name,
                "kind": "keyword",
                "keywords": ["free nitro"],
                "per": "author",
                "actions": [{"do": "delete"}, {"do": "timeout", "for": "1h"}],
            }
            for name in ("scam-text", "scam-link")
        ]
    )
    async with Rig(store, inbox, config(), both) as rig:
        await rig.post(1, "spammer")
        await rig.settle()
        cases = await store.moderation.cases(CaseQuery())
        assert sorted(c.action for c in cases) == ["delete", "timeout"]
        assert len({c.operator for c in cases}) == 1  # whichever alert came first
        await rig.post(2, "spammer")  # more of the wave: only the new message is proposed
        rig.clock.now += S
        await rig.settle()
        deletes = [c for c in await store.moderation.cases(CaseQuery()) if c.action == "delete"]
        assert sorted(m for c in deletes for s in c.steps for m in s.target.message_ids) == [
            "1",
            "2",
        ]


WELCOME = {
    "enabled": True,
    "delay": "2m",  # the raid below starts 70 s after "early" joined, before it is due
    "rules": "#rules",
    "messages": [{"text": "Good {time_of_day} {mention}, read {rules}", "timezone": "UTC"}],
}


async def test_joins_are_greeted_once_and_never_during_a_raid(
    store: SQLiteStore, inbox: Inbox
) -> None:
    raid = parse_rules([{"name": "raid", "kind": "raid", "joins": 4, "window": "60s"}])
    async with Rig(store, inbox, config(WELCOME), raid) as rig:
        await rig.join(1, "newbie")
        await rig.settle()
        assert rig.actor.calls == []  # not before `delay`
        rig.clock.now += 121 * S
        await rig.settle()
        for _ in range(50):
            if rig.actor.calls:
                break
            await asyncio.sleep(0.05)
        [hello] = rig.actor.calls
        assert hello.action == "say" and hello.target.channel_id == "general"
        assert hello.text is not None and "<@" in hello.text and "read #rules" in hello.text
        # the same member again (left and rejoined): once per member
        rig.clock.now += S
        await rig.join(2, "newbie")
        rig.clock.now += 121 * S
        await rig.settle()
        # a quiet join, then a raid a little later (beyond its 60 s window), before that
        # join's greeting was due: it waits for the raid to end; the raid's joins never
        await rig.join(3, "early")
        rig.clock.now += 20 * S
        await rig.settle()
        rig.clock.now += 50 * S
        for i in range(6):
            await rig.join(10 + i, f"raider{i}")
        await rig.settle()
        [alert] = [a for a in await store.alerts.alerts() if a.rule == "raid"]
        assert alert.state == "firing"
        rig.clock.now += 40 * S
        await rig.settle()
        await asyncio.sleep(0.3)
        assert len(rig.actor.calls) == 1  # held
        await store.alerts.resolve(alert.id, "mira", rig.clock.now)
        await rig.service._sync_operators()
        rig.clock.now += 15 * S
        await rig.settle()
        for _ in range(50):
            if len(rig.actor.calls) == 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert [c.action for c in rig.actor.calls] == ["say", "say"]
        assert rig.automation.welcomer.skipped_raid == 6
    cases = [c for c in await store.moderation.cases(CaseQuery()) if c.operator == "rule:welcome"]
    assert sorted(c.label for c in cases) == [
        "welcome early in #general on discord",
        "welcome newbie in #general on discord",
    ]


async def calls_settle(rig: Rig, n: int) -> None:
    for _ in range(60):
        if len(rig.actor.calls) >= n:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)


async def test_a_delayed_role_after_minutes_never_to_a_raid_or_a_banned_member(
    store: SQLiteStore, inbox: Inbox
) -> None:
    raid = parse_rules([{"name": "raid", "kind": "raid", "joins": 4, "window": "60s"}])
    welcome = {"role": {"discord": "77"}, "role_after": "5m"}
    async with Rig(store, inbox, config(welcome), raid) as rig:
        await rig.join(1, "newbie")
        await rig.join(2, "mallory")
        await rig.settle()
        # mallory is banned before the role is due: she gets none
        plan = await resolve(store, load_registry(), rig.cfg, "ban", "mallory", community="c1")
        case = await moderation.submit(
            store, rig.cfg, plan, reason="scam", operator="mira", now=from_ms(rig.clock.now)
        )
        await moderation.wait_for_outcome(store, case.number, 10, "mira")
        rig.clock.now += 299 * S
        await rig.settle()
        await calls_settle(rig, 2)
        assert [c.action for c in rig.actor.calls] == ["ban"]  # not before role_after
        rig.clock.now += 2 * S
        await rig.settle()
        await calls_settle(rig, 2)
        [_, given] = rig.actor.calls
        assert (given.action, given.role, given.target.user_id) == (
            "role_add",
            "77",
            str(5000 + sum(map(ord, "newbie"))),
        )
        # a raid: its joins never get the role, even once it is over
        for i in range(6):
            await rig.join(10 + i, f"raider{i}")
        await rig.settle()
        [alert] = [a for a in await store.alerts.alerts() if a.rule == "raid"]
        await store.alerts.resolve(alert.id, "mira", rig.clock.now)
        await rig.service._sync_operators()
        rig.clock.now += 600 * S
        await rig.settle()
        # rejoining does not give it twice
        await rig.join(30, "newbie")
        rig.clock.now += 600 * S
        await rig.settle()
        await calls_settle(rig, 3)
        assert [c.action for c in rig.actor.calls] == ["ban", "role_add"]
    roles = [c for c in await store.moderation.cases(CaseQuery()) if c.action == "role_add"]
    assert [(c.operator, c.role, c.state) for c in roles] == [("rule:welcome", "77", "done")]


async def test_a_delayed_role_at_the_first_message(store: SQLiteStore, inbox: Inbox) -> None:
    welcome = {"role": {"discord": "77"}, "role_after": "1m", "role_on": "first_message"}
    async with Rig(store, inbox, config(welcome), []) as rig:
        await rig.join(1, "lurker")
        await rig.join(2, "talker")
        rig.clock.now += 30 * S
        await rig.post(3, "talker", "hello everyone, glad to be here")
        await rig.settle()
        rig.clock.now += 31 * S  # a minute after the join, and talker has spoken
        await rig.settle()
        await calls_settle(rig, 1)
        rig.clock.now += 3600 * S
        await rig.settle()
        await calls_settle(rig, 2)
        assert [(c.action, c.target.user_id) for c in rig.actor.calls] == [
            ("role_add", str(5000 + sum(map(ord, "talker"))))
        ]
        assert rig.automation.welcomer.busy  # the lurker still waits for a first message


async def test_a_welcome_by_direct_message(store: SQLiteStore, inbox: Inbox) -> None:
    welcome = {"enabled": True, "delay": "1m", "messages": [{"text": "Hi {name}!", "dm": True}]}
    async with Rig(store, inbox, config(welcome), []) as rig:
        await rig.join(1, "newbie")
        rig.clock.now += 61 * S
        await rig.settle()
        await calls_settle(rig, 1)
        [hello] = rig.actor.calls
        assert (hello.action, hello.text) == ("say", "Hi newbie!")
        assert hello.target.channel_id is None
        assert hello.target.user_id == str(5000 + sum(map(ord, "newbie")))
    [case] = await store.moderation.cases(CaseQuery())
    assert case.label == "welcome newbie by a DM to @newbie on discord"


def test_a_welcome_role_needs_an_id() -> None:
    with pytest.raises(ValueError, match=r"\[welcome\] role.discord: expected the role's id"):
        WelcomeSettings.model_validate({"role": {"discord": ""}})
    with pytest.raises(ValueError, match="role_on"):
        WelcomeSettings.model_validate({"role_on": "never"})


async def warn(rig: Rig, source_id: str) -> None:
    plan = await resolve(rig.store, load_registry(), rig.cfg, "warn", f"discord:{source_id}")
    case = await moderation.submit(
        rig.store, rig.cfg, plan, reason="off-topic", operator="mira",
        now=from_ms(rig.clock.now), text="please keep to the topic",
    )  # fmt: skip
    assert (await moderation.wait_for_outcome(rig.store, case.number, 10, "mira")).state == "done"


async def test_the_warn_ladder_escalates_per_person_once(store: SQLiteStore, inbox: Inbox) -> None:
    """Three warnings within 7 days across two linked accounts: a 1-day timeout on both,
    once, also after a restart; a warning older than the window does not count."""
    ladder = [{"warns": 3, "within": "7d", "do": "timeout", "for": "1d"}]
    cfg = config(ladder=ladder)
    async with Rig(store, inbox, cfg, []) as rig:
        await rig.post(1, "alt1", "hello")
        await rig.post(2, "alt2", "hello again")
        await rig.post(3, "alt1", "and again")
        a = await store.find_members("alt1", "c1")
        b = await store.find_members("alt2", "c1")
        await store.identity.link(a[0].id, b[0].id)
        rig.clock.now -= 8 * 86_400 * S  # a warning long ago: expired by the time of the third
        await warn(rig, "1")
        rig.clock.now += 8 * 86_400 * S
        await warn(rig, "2")
        await warn(rig, "3")
        await rig.settle()
        assert [c.action for c in rig.actor.calls] == ["warn", "warn", "warn"]
        await warn(rig, "1")  # the third within 7 days: alt1 and alt2 timed out for a day
        await rig.settle()
        for _ in range(100):
            if len(rig.actor.calls) == 6:
                break
            await asyncio.sleep(0.05)
        timeouts = [c for c in rig.actor.calls if c.action == "timeout"]
        assert sorted(c.target.user_id or "" for c in timeouts) == sorted(
            [a[0].platform_user_id, b[0].platform_user_id]
        )
        assert all(c.until == from_ms(rig.clock.now) + timedelta(days=1) for c in timeouts)
        [case] = [
            c for c in await store.moderation.cases(CaseQuery()) if c.operator == "rule:ladder"
        ]
        assert "3 warnings within 7d" in case.reason
    async with Rig(store, inbox, cfg, []) as again:  # a restart reads the log again
        await again.settle()
        await again.settle()
        await asyncio.sleep(0.3)
        assert again.actor.calls == []


async def test_calendar_events_announce_themselves_once(store: SQLiteStore, inbox: Inbox) -> None:
    """At the reminder offset, in the event's channel and in `announce_in`, with the time in
    the regions; once, whatever the ticks; `--now` posts again, as asked."""
    cfg = Config(
        None,
        CockpitSettings(community="c1", regions=["Asia/Jakarta", "Africa/Lagos"]),
        None,
        config().sources,
        sections={
            **config().sections,
            "calendar": CalendarSettings(
                reminders=["1h"], announce=True, announce_in=["discord:#announcements"]
            ),
        },
    )
    async with Rig(store, inbox, cfg, []) as rig:
        await rig.post(1, "someone", "hello")
        await rig.writer.write_result([act(2, channel="announcements", channel_id="ann")])
        now = from_ms(rig.clock.now)
        start = (now + timedelta(minutes=59)).replace(second=0, microsecond=0)
        event = Event(
            new_uid(), "Community AMA", start.replace(tzinfo=None), timedelta(hours=1),
            tz="UTC", community="c1", platform="discord", channel="general",
        )  # fmt: skip
        await store.calendar.save(event)
        announcer = Announcer(store, load_registry(), cfg, clock=lambda: from_ms(rig.clock.now))
        assert await announcer.tick() == 2
        rig.clock.now += 30 * S
        assert await announcer.tick() == 0  # once per occurrence, offset and channel
        for _ in range(100):
            if len(rig.actor.calls) == 2:
                break
            await asyncio.sleep(0.05)
        assert sorted(c.target.channel_id or "" for c in rig.actor.calls) == ["ann", "general"]
        text = rig.actor.calls[0].text or ""
        assert "Community AMA in 58 min" in text or "Community AMA in 59 min" in text, text
        assert "Jakarta" in text and "Lagos" in text, text
        again = await announcer.now(event.uid[:6])
        assert len(again) == 2
        with pytest.raises(CockpitError, match="nope"):
            await announcer.now("nope")


def test_a_welcome_template_with_an_unknown_slot_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown slot \{nmae\}"):
        WelcomeSettings.model_validate({"messages": [{"text": "hi {nmae}"}]})


def test_actions_are_validated_with_the_key_that_is_wrong() -> None:
    bad = [
        ({"actions": [{"do": "timeout"}]}, "a timeout needs `for`"),
        ({"actions": [{"do": "delete", "for": "1h"}]}, "`for` does not apply to delete"),
        ({"actions": [{"do": "explode"}]}, "'delete', 'timeout', 'ban', 'kick' or 'warn'"),
        ({"mode": "yolo"}, "'propose', 'auto' or 'dry-run'"),
        ({"auto_cap": {"count": 0, "within": "1m"}}, "greater than or equal to 1"),
    ]
    for extra, message in bad:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            rules(**extra)
    with pytest.raises(ValueError, match="points at no one to act on"):
        parse_rules([{"name": "q", "kind": "volume", "actions": [{"do": "ban"}]}])
