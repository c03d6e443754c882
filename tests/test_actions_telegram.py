"""Telegram moderation through the Bot API against the loopback stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from standins import Reply
from standins.telegram import CHAT, TOKEN, TelegramStandIn

from cockpit.plugin_api import ActionCall, ActionOutcome, ActionTarget, SourceContext
from cockpit.plugins.telegram import TelegramBotSettings, plugin
from cockpit.plugins.telegram.actions import SEND, TelegramActor

USER = "777000111"


@pytest.fixture
async def fake() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn() as server:
        server.add_member(USER)
        yield server


def actor_for(fake: TelegramStandIn, token: str = TOKEN) -> TelegramActor:
    settings = TelegramBotSettings(token=token, base_url=fake.base_url)
    return TelegramActor(settings, SourceContext("tg", "main", Path(".")))


def call(action: str, **kw: Any) -> ActionCall:
    target = ActionTarget(
        "telegram",
        "main",
        user_id=kw.pop("user_id", USER),
        channel_id=kw.pop("channel_id", CHAT),
        message_ids=tuple(kw.pop("message_ids", ())),
        label="@mallory",
    )
    return ActionCall(action, target, "spam", "case-7:telegram", **kw)


async def run(fake: TelegramStandIn, c: ActionCall, token: str = TOKEN) -> ActionOutcome:
    actor = actor_for(fake, token)
    try:
        out = await actor.perform(c)
    finally:
        await actor.aclose()
    assert out.detail and "\n" not in out.detail
    assert TOKEN not in out.detail and token not in out.detail
    return out


def methods(fake: TelegramStandIn) -> list[str]:
    return [r.path.rsplit("/", 1)[1] for r in fake.requests]


def test_plugin_declares_the_actor() -> None:
    st = plugin.sources["telegram"]
    assert st.actor is not None and "ban" in plugin.actions and "slowmode" not in plugin.actions


async def test_delete_one_and_many(fake: TelegramStandIn) -> None:
    fake.messages.update(range(1, 151))
    out = await run(fake, call("delete", message_ids=["5"]))
    assert out.status == "done"
    assert fake.requests[-1].json == {"chat_id": CHAT, "message_id": 5}
    out = await run(fake, call("purge", message_ids=[str(i) for i in range(1, 151)]))
    assert out.status == "done"
    assert [len(r.json["message_ids"]) for r in fake.requests[1:]] == [100, 50]
    assert methods(fake) == ["deleteMessage", "deleteMessages", "deleteMessages"]
    assert not fake.messages


async def test_delete_already_gone_is_done(fake: TelegramStandIn) -> None:
    out = await run(fake, call("delete", message_ids=["99"]))
    assert out.status == "done" and "already gone" in out.detail


async def test_mute_with_until_and_lift(fake: TelegramStandIn) -> None:
    until = datetime.now(UTC) + timedelta(hours=1)
    out = await run(fake, call("timeout", until=until))
    assert out.status == "done" and out.lifts_itself
    body = fake.requests[-1].json
    assert body["until_date"] == int(until.timestamp()) and body["user_id"] == int(USER)
    assert body["permissions"] == {p: False for p in SEND}
    assert fake.members[USER]["status"] == "restricted"
    actor = actor_for(fake)
    checked = await actor.verify(call("timeout", until=until))
    assert checked is not None and checked.status == "done"
    out = await actor.perform(call("timeout", until=None))
    await actor.aclose()
    assert out.status == "done" and fake.members[USER]["status"] == "member"


async def test_too_short_a_mute_is_refused_without_a_call(fake: TelegramStandIn) -> None:
    out = await run(fake, call("timeout", until=datetime.now(UTC) + timedelta(seconds=5)))
    assert out.status == "failed" and "30 seconds" in out.detail
    assert fake.requests == []


async def test_ban_unban_kick(fake: TelegramStandIn) -> None:
    until = datetime.now(UTC) + timedelta(days=2)
    out = await run(fake, call("ban", until=until, delete_history=timedelta(days=1)))
    assert out.status == "done" and out.lifts_itself
    assert fake.requests[-1].json == {
        "chat_id": CHAT,
        "user_id": int(USER),
        "revoke_messages": True,
        "until_date": int(until.timestamp()),
    }
    out = await run(fake, call("unban"))
    assert out.status == "done"
    assert fake.requests[-1].json["only_if_banned"] is True
    out = await run(fake, call("kick"))
    assert out.status == "done"
    assert methods(fake)[-2:] == ["banChatMember", "unbanChatMember"]
    assert fake.members[USER]["status"] == "left"


async def test_not_enough_rights_names_the_admin_right(fake: TelegramStandIn) -> None:
    fake.rights.clear()
    fake.messages.add(3)
    out = await run(fake, call("ban"))
    assert out.status == "failed" and "can_restrict_members" in out.detail
    out = await run(fake, call("delete", message_ids=["3"]))
    assert out.status == "failed" and "can_delete_messages" in out.detail


async def test_bad_token_and_unknown_member(fake: TelegramStandIn) -> None:
    out = await run(fake, call("ban"), token="999:wrong-secret")
    assert out.status == "failed" and "token" in out.detail
    out = await run(fake, call("ban", user_id="5"))
    assert out.status == "failed" and "no such member" in out.detail


async def test_429_retry_after_in_parameters_is_obeyed(fake: TelegramStandIn) -> None:
    fake.script(
        "POST",
        "/bot{t}/banChatMember",
        Reply(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 0.05},
            },
        ),
    )
    out = await run(fake, call("ban"))
    assert out.status == "done" and methods(fake) == ["banChatMember", "banChatMember"]
    fake.script(
        "POST",
        "/bot{t}/banChatMember",
        Reply(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 900",
                "parameters": {"retry_after": 900},
            },
        ),
    )
    out = await run(fake, call("ban"))
    assert out.status == "failed" and out.retry_after == 900


async def test_lost_answer_is_unknown_sent_once_then_verified(fake: TelegramStandIn) -> None:
    fake.drop("POST", "/bot{t}/banChatMember")
    out = await run(fake, call("ban"))
    assert out.status == "unknown" and methods(fake) == ["banChatMember"]
    fake.script("POST", "/bot{t}/sendMessage", Reply(502, b"bad gateway"))
    out = await run(fake, call("say", text="hello"))
    assert out.status == "unknown" and methods(fake).count("sendMessage") == 1
    actor = actor_for(fake)
    checked = await actor.verify(call("ban"))
    assert checked is not None and checked.status == "failed"
    assert await actor.verify(call("say", text="hello")) is None
    await actor.aclose()


async def test_lock_then_unlock_restores_exactly(fake: TelegramStandIn) -> None:
    before = dict(fake.permissions)
    lock = await run(fake, call("lock"))
    assert lock.status == "done" and lock.restore == {"permissions": before}
    assert methods(fake) == ["getChat", "setChatPermissions"]
    assert not any(fake.permissions[p] for p in SEND)
    assert fake.permissions["can_invite_users"] is True  # the rest untouched
    unlock = await run(fake, call("unlock", restore=lock.restore))
    assert unlock.status == "done" and fake.permissions == before
    actor = actor_for(fake)
    checked = await actor.verify(call("unlock", restore=lock.restore))
    await actor.aclose()
    assert checked is not None and checked.status == "done"


async def test_say_as_a_reply(fake: TelegramStandIn) -> None:
    out = await run(fake, call("warn", text="please stop", message_ids=["42"]))
    assert out.status == "done" and out.ref == "9001"
    assert fake.requests[-1].json == {
        "chat_id": CHAT,
        "text": "please stop",
        "reply_parameters": {"message_id": 42, "allow_sending_without_reply": True},
    }


async def test_a_post_without_rights_names_the_posting_right(fake: TelegramStandIn) -> None:
    fake.script(
        "POST",
        f"/bot{TOKEN}/sendMessage",
        Reply(
            400,
            {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: not enough rights to send text messages to the chat",
            },
        ),
    )
    out = await run(fake, call("say", text="calm down please"))
    assert out.status == "failed" and "can_post_messages" in out.detail
    assert "can_restrict_members" not in out.detail
    assert len(fake.seen("POST", "/sendMessage")) == 1


async def test_a_direct_message_when_the_member_started_the_bot(fake: TelegramStandIn) -> None:
    dm = call("say", channel_id=None, text="Welcome! Read the rules first.")
    out = await run(fake, dm)
    assert out.status == "failed" and "started a chat with it" in out.detail
    assert fake.private == []
    fake.started.add(USER)
    out = await run(fake, dm)
    assert out.status == "done" and fake.private == [(USER, "Welcome! Read the rules first.")]
    assert fake.requests[-1].json["chat_id"] == USER
