"""Discourse moderation through the admin API against the loopback stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from standins import Reply
from standins.discourse import KEY, USERNAME, DiscourseStandIn, rate_limited

from cockpit.plugin_api import ActionCall, ActionOutcome, ActionTarget, SourceContext
from cockpit.plugins.discourse import DiscourseSettings, plugin
from cockpit.plugins.discourse.actions import DiscourseActor

USER = "42"
TOPIC = "77"


@pytest.fixture
async def fake() -> AsyncIterator[DiscourseStandIn]:
    async with DiscourseStandIn() as server:
        server.add_user(USER)
        server.add_topic(TOPIC)
        server.add_post("1001", TOPIC)
        server.add_post("1002", TOPIC)
        yield server


def actor_for(fake: DiscourseStandIn, key: str = KEY) -> DiscourseActor:
    settings = DiscourseSettings(base_url=fake.base_url, api_key=key, api_username=USERNAME)
    return DiscourseActor(settings, SourceContext("forum", "main", Path(".")))


def call(action: str, **kw: Any) -> ActionCall:
    target = ActionTarget(
        "discourse",
        "main",
        user_id=kw.pop("user_id", USER),
        channel_id=kw.pop("channel_id", TOPIC),
        message_ids=tuple(kw.pop("message_ids", ())),
        label="@mallory",
    )
    return ActionCall(action, target, "spam wave", "case-9:discourse", **kw)


async def run(fake: DiscourseStandIn, c: ActionCall, key: str = KEY) -> ActionOutcome:
    actor = actor_for(fake, key)
    try:
        out = await actor.perform(c)
    finally:
        await actor.aclose()
    assert out.detail and "\n" not in out.detail and KEY not in out.detail and key not in out.detail
    return out


def test_plugin_declares_the_actor() -> None:
    assert plugin.sources["discourse"].actor is not None
    assert "ban" in plugin.actions and "kick" not in plugin.actions


async def test_delete_and_already_gone(fake: DiscourseStandIn) -> None:
    out = await run(fake, call("purge", message_ids=["1001", "1002", "1003"]))
    assert out.status == "done" and out.detail == "deleted 2 of 3 posts (1 already gone)"
    assert fake.calls() == [("DELETE", f"/posts/{p}.json") for p in ("1001", "1002", "1003")]
    assert fake.requests[0].headers["api-key"] == KEY
    assert fake.requests[0].headers["api-username"] == USERNAME


async def test_silence_and_suspend(fake: DiscourseStandIn) -> None:
    until = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)
    out = await run(fake, call("timeout", until=until))
    assert out.status == "done" and out.lifts_itself
    assert fake.requests[-1].path == f"/admin/users/{USER}/silence.json"
    assert fake.requests[-1].json == {
        "silenced_till": "2031-05-01T12:00:00Z",
        "reason": "spam wave",
    }
    out = await run(fake, call("ban"))
    assert out.status == "done" and "indefinitely" in out.detail
    assert fake.requests[-1].method == "PUT"
    assert fake.requests[-1].json == {
        "suspend_until": "3000-01-01T00:00:00Z",
        "reason": "spam wave",
    }
    actor = actor_for(fake)
    checked = await actor.verify(call("ban"))
    assert checked is not None and checked.status == "done"
    out = await actor.perform(call("unban"))
    assert out.status == "done" and fake.requests[-1].path.endswith("/unsuspend.json")
    out = await actor.perform(call("timeout", until=None))
    assert out.status == "done" and fake.requests[-1].path.endswith("/unsilence.json")
    checked = await actor.verify(call("unban"))
    await actor.aclose()
    assert checked is not None and checked.status == "done"


async def test_reply_to_a_post(fake: DiscourseStandIn) -> None:
    out = await run(
        fake, call("warn", text="Please keep it civil, thank you.", message_ids=["1002"])
    )
    assert out.status == "done" and out.ref
    assert fake.requests[-1].json == {
        "raw": "Please keep it civil, thank you.",
        "topic_id": 77,
        "reply_to_post_number": 2,
    }
    out = await run(fake, call("say", text="short"))
    assert out.status == "failed" and "too short" in out.detail


async def test_lock_unlock_restores(fake: DiscourseStandIn) -> None:
    lock = await run(fake, call("lock"))
    assert lock.status == "done" and lock.restore == {"closed": False}
    assert fake.topics[TOPIC]["closed"] is True
    out = await run(fake, call("unlock", restore=lock.restore))
    assert out.status == "done" and fake.topics[TOPIC]["closed"] is False
    fake.topics[TOPIC]["closed"] = True
    lock = await run(fake, call("lock"))
    out = await run(fake, call("unlock", restore=lock.restore))
    assert fake.topics[TOPIC]["closed"] is True  # it was closed before the lock


async def test_refusals(fake: DiscourseStandIn) -> None:
    fake.staff = False
    out = await run(fake, call("ban"))
    assert out.status == "failed" and "invalid_access" in out.detail and "admin" in out.detail
    out = await run(fake, call("ban"), key="wrong-SECRET-key")
    assert out.status == "failed"
    fake.staff = True
    out = await run(fake, call("ban", user_id="9"))
    assert out.status == "failed" and "404" in out.detail
    out = await run(fake, call("kick"))
    assert out.status == "failed" and "suspend" in out.detail


async def test_429_wait_seconds(fake: DiscourseStandIn) -> None:
    fake.script("PUT", "/admin/users/{u}/suspend.json", rate_limited(0))
    out = await run(fake, call("ban"))
    assert out.status == "done" and len(fake.seen("PUT")) == 2
    fake.script("PUT", "/admin/users/{u}/suspend.json", rate_limited(900))
    out = await run(fake, call("ban"))
    assert out.status == "failed" and out.retry_after == 900


async def test_lost_answer_is_unknown_and_sent_once(fake: DiscourseStandIn) -> None:
    fake.drop("PUT", "/admin/users/{u}/silence.json")
    out = await run(fake, call("timeout", until=datetime.now(UTC) + timedelta(hours=1)))
    assert out.status == "unknown" and len(fake.seen("PUT")) == 1
    fake.script("POST", "/posts.json", Reply(500, {"errors": ["boom"]}))
    out = await run(fake, call("say", text="A long enough message for Discourse"))
    assert out.status == "unknown" and len(fake.seen("POST")) == 1
    actor = actor_for(fake)
    checked = await actor.verify(call("timeout", until=datetime.now(UTC) + timedelta(hours=1)))
    await actor.aclose()
    assert checked is not None and checked.status == "failed"


async def test_group_membership_is_the_role_given_taken_and_checked(fake: DiscourseStandIn) -> None:
    out = await run(fake, call("role_add", role="41"))
    assert out.status == "done" and out.detail == "added @mallory to the group 41"
    (req,) = fake.requests
    assert (req.method, req.path, req.json) == (
        "PUT",
        "/groups/41/members.json",
        {"user_ids": USER},
    )
    assert fake.groups["41"] == {USER}
    # given again (a retry after a lost answer was checked): Discourse's 422 means it is there
    out = await run(fake, call("role_add", role="41"))
    assert out.status == "done" and "already" in out.detail
    actor = actor_for(fake)
    checked = await actor.verify(call("role_add", role="41"))
    assert checked is not None and checked.status == "done"
    out = await actor.perform(call("role_remove", role="41"))
    assert out.status == "done" and fake.groups["41"] == set()
    checked = await actor.verify(call("role_add", role="41"))
    assert (
        checked is not None and checked.status == "failed" and "not in the group" in checked.detail
    )
    await actor.aclose()


async def test_group_refusals_are_one_line(fake: DiscourseStandIn) -> None:
    out = await run(fake, call("role_add", role="999"))
    assert out.status == "failed" and "does not know this group" in out.detail
    out = await run(fake, call("role_add"))
    assert out.status == "failed" and out.detail == "role_add on Discourse needs a group id"
    fake.staff = False
    out = await run(fake, call("role_add", role="41"))
    assert out.status == "failed" and "admin key" in out.detail
    fake.drop("PUT", "/groups/{g}/members.json")
    fake.staff = True
    sent = len(fake.seen("PUT"))
    out = await run(fake, call("role_add", role="41"))
    assert out.status == "unknown" and len(fake.seen("PUT")) == sent + 1  # never resent
