"""WhatsApp through the Cloud API against the loopback stand-in: send, and refuse the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from standins import Reply
from standins.whatsapp import PHONE_ID, TOKEN, WhatsAppStandIn

from cockpit.plugin_api import ACTIONS, ActionCall, ActionOutcome, ActionTarget, SourceContext
from cockpit.plugins.whatsapp import WhatsAppCloudSettings, plugin
from cockpit.plugins.whatsapp.actions import WhatsAppActor

USER = "15551234567"


@pytest.fixture
async def fake() -> AsyncIterator[WhatsAppStandIn]:
    async with WhatsAppStandIn() as server:
        server.window_open.add(USER)
        yield server


def actor_for(fake: WhatsAppStandIn, token: str | None = TOKEN) -> WhatsAppActor:
    settings = WhatsAppCloudSettings(
        app_secret="a",
        verify_token="v",
        access_token=token,
        phone_number_id=PHONE_ID,
        base_url=fake.base_url,
    )
    return WhatsAppActor(settings, SourceContext("wa", "main", Path(".")))


def call(action: str, **kw: Any) -> ActionCall:
    target = ActionTarget(
        "whatsapp",
        "main",
        user_id=kw.pop("user_id", USER),
        channel_id="group-1",
        message_ids=tuple(kw.pop("message_ids", ())),
        label="+1 555 123 4567",
    )
    return ActionCall(action, target, "reminder", "case-2:whatsapp", **kw)


async def run(fake: WhatsAppStandIn, c: ActionCall, token: str | None = TOKEN) -> ActionOutcome:
    actor = actor_for(fake, token)
    try:
        out = await actor.perform(c)
    finally:
        await actor.aclose()
    assert out.detail and "\n" not in out.detail and TOKEN not in out.detail
    return out


def test_plugin_declares_only_sending() -> None:
    assert plugin.sources["whatsapp"].actor is not None
    assert plugin.actions == {"say", "warn"}


async def test_say_as_a_reply(fake: WhatsAppStandIn) -> None:
    out = await run(fake, call("say", text="Please read the rules", message_ids=["wamid.X"]))
    assert out.status == "done" and out.ref == "wamid.HBgL000001"
    (req,) = fake.requests
    assert (req.method, req.path) == ("POST", f"/v21.0/{PHONE_ID}/messages")
    assert req.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": USER,
        "type": "text",
        "text": {"body": "Please read the rules", "preview_url": False},
        "context": {"message_id": "wamid.X"},
    }


@pytest.mark.parametrize("action", sorted(ACTIONS - {"say", "warn"}))
async def test_moderation_is_refused_in_one_line(fake: WhatsAppStandIn, action: str) -> None:
    out = await run(fake, call(action))
    assert out.status == "failed" and "does not moderate groups" in out.detail
    assert out.detail.startswith(f"WhatsApp cannot {action} ")
    assert fake.requests == []


async def test_refusals(fake: WhatsAppStandIn) -> None:
    out = await run(fake, call("say", text="hi", user_id="15550000000"))
    assert out.status == "failed" and "24 hours" in out.detail
    out = await run(fake, call("say", text="hi"), token="EAAG-wrong-SECRET")
    assert out.status == "failed" and "access token" in out.detail
    assert "EAAG-wrong-SECRET" not in out.detail
    out = await run(fake, call("say", text="hi"), token=None)
    assert out.status == "failed" and "access_token" in out.detail
    fake.script(
        "POST",
        "/{p}/messages",
        Reply(
            400, {"error": {"message": "Rate limit hit", "type": "OAuthException", "code": 130429}}
        ),
    )
    out = await run(fake, call("say", text="hi"))
    assert out.status == "failed" and "rate limits" in out.detail


async def test_lost_answer_is_unknown_and_sent_once(fake: WhatsAppStandIn) -> None:
    fake.drop("POST", "/{p}/messages")
    out = await run(fake, call("say", text="hi"))
    assert out.status == "unknown" and len(fake.requests) == 1
    actor = actor_for(fake)
    assert await actor.verify(call("say", text="hi")) is None
    await actor.aclose()
