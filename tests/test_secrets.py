"""No platform secret reaches an error, a health detail or a log line (issue 17).

Each platform's source is built as the collector builds it (its own HTTP client), pointed at a
loopback stand-in that echoes the credential it was sent back in its error text, as some
proxies and API gateways do; Telegram's token is part of the base URL, so a network failure
used to carry it into the stored health detail.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

import pytest
from fakeplatform import FakePlatform, FakeSleep, json_response, serve

from cockpit.collect.health import ConnectorHealth
from cockpit.collect.http import REDACTED, ApiError, Backoff
from cockpit.collect.webhooks import Request, Response
from cockpit.plugin_api import SourceContext
from cockpit.plugins.discord import DiscordSettings, DiscordSource
from cockpit.plugins.discourse import DiscourseSettings, DiscourseSource
from cockpit.plugins.slack import SlackEventsSettings, SlackEventsSource
from cockpit.plugins.telegram import TelegramBotSettings, TelegramBotSource
from cockpit.plugins.whatsapp import WhatsAppCloudSettings, WhatsAppCloudSource

SECRET = "s3cr3t-TOKEN-0123456789abcdef"
TG_TOKEN = "123456789:AAE-s3cr3t-bot-token-0123456789"
CTX = SourceContext("src", "Acme", Path("."))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def echo(fake: FakePlatform, path: str) -> None:
    """An API that answers 400 and quotes the credentials it was given."""

    async def handler(request: Request) -> Response:
        given = request.headers.get("authorization") or request.headers.get("api-key") or ""
        return json_response(400, {"description": f"bad credentials {given}", "message": given})

    fake.route(path, handler)


def source_for(platform: str, base: str) -> Any:
    if platform == "discord":
        discord = DiscordSettings(token=SECRET, guild_ids=["1"], base_url=base)
        return DiscordSource(discord, CTX, health=ConnectorHealth("src"), sleep=FakeSleep())
    if platform == "slack":
        slack = SlackEventsSettings(signing_secret="x", bot_token=SECRET, base_url=base)
        return SlackEventsSource(slack, CTX, health=ConnectorHealth("src"))
    if platform == "whatsapp":
        wa = WhatsAppCloudSettings(
            app_secret="x",
            verify_token="y",
            access_token=SECRET,
            phone_number_id="42",
            base_url=base,
        )
        return WhatsAppCloudSource(wa, CTX, health=ConnectorHealth("src"))
    assert platform == "discourse"
    forum = DiscourseSettings(base_url=base, api_key=SECRET)
    return DiscourseSource(forum, CTX, health=ConnectorHealth("src"))


PATHS = {
    "discord": "/users/@me",
    "slack": "/auth.test",
    "whatsapp": "/42",
    "discourse": "/posts.json",
}


@pytest.mark.parametrize("platform", sorted(PATHS))
async def test_a_credential_echoed_by_the_platform_is_redacted(
    platform: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakePlatform()
    echo(fake, PATHS[platform])
    caplog.set_level(logging.DEBUG)
    async with serve(fake):
        source = source_for(platform, fake.base_url)
        with pytest.raises(ApiError) as err:
            await source.check()
        assert fake.requests, "the stand-in was not asked"
        await source.client.aclose()
    assert SECRET not in str(err.value) and REDACTED in str(err.value)
    assert SECRET not in caplog.text


async def test_telegram_token_in_the_url_never_reaches_the_health_detail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    health = ConnectorHealth("tg")
    source = TelegramBotSource(
        TelegramBotSettings(token=TG_TOKEN, base_url=base), CTX, health=health
    )
    source.client.sleep = FakeSleep()
    source.client.backoff = Backoff(max_attempts=3)
    caplog.set_level(logging.DEBUG)

    class Sink:
        async def write(self, records: Any, cursor: Any = None) -> None: ...

        async def get_cursor(self, key: str) -> str | None:
            return None

    with pytest.raises(ApiError) as err:
        await source.run(Sink())
    assert "cannot reach" in str(err.value)
    for text in (str(err.value), health.detail or "", caplog.text):
        assert TG_TOKEN not in text and TG_TOKEN.split(":")[1] not in text
    assert f"/bot{REDACTED}" in str(err.value)


async def test_telegram_token_echoed_in_a_description_is_redacted() -> None:
    fake = FakePlatform()

    async def handler(request: Request) -> Response:
        return json_response(200, {"ok": False, "description": f"token {TG_TOKEN} is revoked"})

    fake.route(f"/bot{TG_TOKEN}/getMe", handler)
    async with serve(fake):
        settings = TelegramBotSettings(token=TG_TOKEN, base_url=fake.base_url)
        source = TelegramBotSource(settings, CTX, health=ConnectorHealth("tg"))
        with pytest.raises(ApiError) as err:
            await source.check()
        await source.client.aclose()
    assert TG_TOKEN not in str(err.value) and "is revoked" in str(err.value)
