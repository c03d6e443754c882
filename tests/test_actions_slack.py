"""Slack moderation through the Web API against the loopback stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from standins import Reply
from standins.slack import BOT, CHANNEL, TOKEN, SlackStandIn

from cockpit.plugin_api import ActionCall, ActionOutcome, ActionTarget, SourceContext
from cockpit.plugins.slack import SlackEventsSettings, plugin
from cockpit.plugins.slack.actions import SlackActor

USER = "U0MALLORY1"


@pytest.fixture
async def fake() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as server:
        server.members[CHANNEL].add(USER)
        yield server


def actor_for(fake: SlackStandIn, token: str | None = TOKEN) -> SlackActor:
    settings = SlackEventsSettings(signing_secret="s", bot_token=token, base_url=fake.base_url)
    return SlackActor(settings, SourceContext("sl", "main", Path(".")))


def call(action: str, **kw: Any) -> ActionCall:
    target = ActionTarget(
        "slack",
        "main",
        user_id=kw.pop("user_id", USER),
        channel_id=kw.pop("channel_id", CHANNEL),
        message_ids=tuple(kw.pop("message_ids", ())),
        label="@mallory",
    )
    return ActionCall(action, target, "spam", "case-3:slack", **kw)


async def run(fake: SlackStandIn, c: ActionCall, token: str | None = TOKEN) -> ActionOutcome:
    actor = actor_for(fake, token)
    try:
        out = await actor.perform(c)
    finally:
        await actor.aclose()
    assert out.detail and "\n" not in out.detail and TOKEN not in out.detail
    return out


def add(fake: SlackStandIn, ts: str, user: str = USER) -> None:
    fake.messages[CHANNEL][ts] = {"type": "message", "user": user, "text": "x", "ts": ts}


def test_plugin_declares_what_a_bot_token_can_do() -> None:
    assert plugin.sources["slack"].actor is not None
    assert plugin.actions == {"delete", "purge", "kick", "say", "warn"}


async def test_say_in_a_thread(fake: SlackStandIn) -> None:
    out = await run(fake, call("warn", text="no links please", message_ids=["1700.1"]))
    assert out.status == "done" and out.ref
    (req,) = fake.requests
    assert (req.method, req.path) == ("POST", "/chat.postMessage")
    assert req.json == {
        "channel": CHANNEL,
        "text": f"<@{USER}> no links please",
        "unfurl_links": False,
        "thread_ts": "1700.1",
    }
    assert req.headers["authorization"] == f"Bearer {TOKEN}"


async def test_delete_own_and_refused_for_others(fake: SlackStandIn) -> None:
    add(fake, "1.1", BOT)
    add(fake, "1.2")
    out = await run(fake, call("delete", message_ids=["1.1"]))
    assert out.status == "done" and fake.requests[-1].json == {"channel": CHANNEL, "ts": "1.1"}
    out = await run(fake, call("delete", message_ids=["1.2"]))
    assert out.status == "failed" and "admin" in out.detail
    out = await run(fake, call("delete", message_ids=["9.9"]))
    assert out.status == "done" and "already gone" in out.detail


async def test_purge_counts(fake: SlackStandIn) -> None:
    fake.bot_may_delete_others = True
    for i in range(3):
        add(fake, f"2.{i}")
    out = await run(fake, call("purge", message_ids=["2.0", "2.1", "2.2", "2.9"]))
    assert out.status == "done" and out.detail == "deleted 3 of 4 messages (1 already gone)"
    assert [r.json["ts"] for r in fake.requests] == ["2.0", "2.1", "2.2", "2.9"]


async def test_kick(fake: SlackStandIn) -> None:
    out = await run(fake, call("kick"))
    assert out.status == "done" and USER not in fake.members[CHANNEL]
    assert fake.requests[-1].json == {"channel": CHANNEL, "user": USER}
    out = await run(fake, call("kick"))
    assert out.status == "done" and "was not in the channel" in out.detail


@pytest.mark.parametrize("action", ["timeout", "ban", "unban", "lock", "unlock", "slowmode"])
async def test_what_needs_an_admin_is_refused_in_one_line(fake: SlackStandIn, action: str) -> None:
    out = await run(fake, call(action, until=datetime.now(UTC) + timedelta(hours=1)))
    assert out.status == "failed" and "Slack" in out.detail
    assert fake.requests == []


async def test_refusals(fake: SlackStandIn) -> None:
    fake.scopes.discard("channels:manage")
    out = await run(fake, call("kick"))
    assert out.status == "failed" and "channels:manage" in out.detail and "reinstall" in out.detail
    fake.bot_in.clear()
    out = await run(fake, call("say", text="hi"))
    assert out.status == "failed" and "/invite" in out.detail
    out = await run(fake, call("say", text="hi"), token="xoxb-wrong-secret")
    assert out.status == "failed" and "invalid_auth" in out.detail
    assert "xoxb-wrong-secret" not in out.detail
    fake.script(
        "POST", "/chat.postMessage", Reply(200, {"ok": False, "error": "restricted_action"})
    )
    out = await run(fake, call("say", text="hi"))
    assert out.status == "failed" and "admin" in out.detail
    out = await run(fake, call("say", text="hi"), token=None)
    assert out.status == "failed" and "bot_token" in out.detail


async def test_ratelimited_waits_retry_after(fake: SlackStandIn) -> None:
    fake.script(
        "POST",
        "/chat.postMessage",
        Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"}),
    )
    out = await run(fake, call("say", text="hi"))
    assert out.status == "done" and len(fake.seen("POST", "/chat.postMessage")) == 2
    fake.script(
        "POST",
        "/chat.postMessage",
        Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "600"}),
    )
    out = await run(fake, call("say", text="hi"))
    assert out.status == "failed" and out.retry_after == 600


async def test_lost_or_fatal_is_unknown_sent_once_then_verified(fake: SlackStandIn) -> None:
    add(fake, "3.1", BOT)
    fake.drop("POST", "/chat.delete")
    out = await run(fake, call("delete", message_ids=["3.1"]))
    assert out.status == "unknown" and len(fake.seen("POST", "/chat.delete")) == 1
    actor = actor_for(fake)
    checked = await actor.verify(call("delete", message_ids=["3.1"]))
    assert checked is not None and checked.status == "failed"
    del fake.messages[CHANNEL]["3.1"]
    checked = await actor.verify(call("delete", message_ids=["3.1"]))
    await actor.aclose()
    assert checked is not None and checked.status == "done"
    fake.script("POST", "/chat.postMessage", Reply(200, {"ok": False, "error": "fatal_error"}))
    out = await run(fake, call("say", text="hi"))
    assert out.status == "unknown" and len(fake.seen("POST", "/chat.postMessage")) == 1
    fake.script("POST", "/chat.postMessage", Reply(503, b""))
    out = await run(fake, call("say", text="hi"))
    assert out.status == "unknown" and len(fake.seen("POST", "/chat.postMessage")) == 2


async def test_a_direct_message_opens_the_dm_first(fake: SlackStandIn) -> None:
    dm = call("say", channel_id=None, text="Welcome to the workspace!")
    out = await run(fake, dm)
    assert out.status == "failed" and "im:write" in out.detail
    fake.scopes.add("im:write")
    out = await run(fake, dm)
    assert out.status == "done"
    opened, posted = fake.requests[-2:]
    assert opened.path.endswith("/conversations.open") and opened.json == {"users": USER}
    assert posted.path.endswith("/chat.postMessage")
    assert (
        posted.json["channel"] == "D" + USER[1:]
        and posted.json["text"] == "Welcome to the workspace!"
    )
