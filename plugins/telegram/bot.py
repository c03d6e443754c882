"""Telegram Bot API: long polling (`getUpdates`) or webhook mode, one bot per source.

The polling offset is stored with the records it covers (`sink.write(..., cursor=...)`) and
confirmed to Telegram only by the next `getUpdates` (offset = last + 1), so a crash replays
at most updates that are already stored, which the store ignores. Updates become records in
plugins/telegram/payloads.py.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cockpit.model import Record
from cockpit.plugin_api import Sink, SourceContext, SourceType
from cockpit.plugin_kit import (
    RAW_LIMIT,
    ApiClient,
    ApiError,
    AuthError,
    ConnectorHealth,
    Handler,
    Request,
    Response,
    WebhookRouter,
    decode,
    health_for,
    newest,
    serve_webhook,
)

from .payloads import PLATFORM, MemberEvents, update_records

log = logging.getLogger(__name__)

# the Bot API methods this source calls: reads, safe to send again when an answer is lost
READS = frozenset({"getUpdates", "getMe", "getWebhookInfo"})

ALLOWED_UPDATES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "chat_member",
)


class TelegramBotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    webhook: ClassVar[bool] = False

    token: str = Field(min_length=1, description="the bot token from @BotFather (use ${NAME})")
    base_url: str = Field("https://api.telegram.org", description="Bot API server")
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout: int = Field(30, ge=0, le=50, description="long-poll seconds")
    limit: int = Field(100, ge=1, le=100, description="updates per getUpdates")
    path: str = Field("/telegram", pattern="^/", description="webhook path (webhook mode)")
    secret_token: str | None = Field(None, description="X-Telegram-Bot-Api-Secret-Token value")

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramBotSettings:
        if self.mode == "webhook" and not self.secret_token:
            raise ValueError("webhook mode needs `secret_token` (set it in setWebhook too)")
        return self


class TelegramBotSource:
    """Polls getUpdates (or serves the webhook) for one bot."""

    def __init__(
        self,
        settings: TelegramBotSettings,
        ctx: SourceContext,
        *,
        client: ApiClient | None = None,
        router: WebhookRouter | None = None,
        health: ConnectorHealth | None = None,
    ) -> None:
        self.name = ctx.name
        self.settings = settings
        self.community = ctx.community
        self.origin = f"telegram bot {ctx.name}"
        self.cursor_key = f"telegram:{ctx.name}:update_id"
        self.router = router
        self.health = health or health_for(ctx.name)
        self.health.type, self.health.community = PLATFORM, ctx.community
        self.client = client or ApiClient(
            f"telegram source {ctx.name!r}",
            f"{settings.base_url.rstrip('/')}/bot{settings.token}",
            timeout=settings.poll_timeout + 15,
            on_wait=self.health.waited,
            auth_hint="check `token` (the bot token from @BotFather)",
        )
        if self.client.on_wait is None:
            self.client.on_wait = self.health.waited
        self.client.keep_secret(settings.token)  # it is part of every URL
        self.members = MemberEvents()

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """One Bot API method; `ok: false` answers become a clear error."""
        response = await self.client.request(
            "POST",
            f"/{method}",
            what=method,
            json=dict(params or {}),
            ok_statuses=frozenset({404}),
            idempotent=method in READS,
        )
        body = decode(response, self.client.label, method)
        if response.status_code == 404:
            raise self.client.auth_error(
                f"{self.client.label}: the Bot API does not know this token (404 on {method}); "
                "check `token` and `base_url`",
                404,
            )
        if not isinstance(body, dict) or body.get("ok") is not True:
            text = body.get("description") if isinstance(body, dict) else None
            raise self.client.error(f"{self.client.label}: {method} failed: {text or 'not ok'}")
        return body.get("result")

    async def check(self) -> str:
        """Validate the token: who the bot is, and whether a webhook is in the way."""
        me = await self.call("getMe")
        name = me.get("username") if isinstance(me, dict) else None
        info = await self.call("getWebhookInfo")
        hook = info.get("url") if isinstance(info, dict) else None
        if self.settings.mode == "polling" and hook:
            raise ApiError(
                f"{self.client.label}: a webhook is set for this bot, so polling cannot work; "
                'use mode = "webhook" or call deleteWebhook'
            )
        return f"bot @{name}, {self.settings.mode}"

    async def run(self, sink: Sink) -> None:
        try:
            if self.settings.mode == "webhook":
                self.health.ok(detail=f"webhook {self.settings.path}")
                await serve_webhook(self.settings.path, self._make_handler(sink), self.router)
            else:
                await self._poll(sink)
        finally:
            await self.client.aclose()

    async def _poll(self, sink: Sink) -> None:
        stored = await sink.get_cursor(self.cursor_key)
        offset = int(stored) + 1 if stored else None
        while True:
            params: dict[str, Any] = {
                "timeout": self.settings.poll_timeout,
                "limit": self.settings.limit,
                "allowed_updates": list(ALLOWED_UPDATES),
            }
            if offset is not None:
                params["offset"] = offset
            try:
                updates = await self.call("getUpdates", params)
            except ApiError as exc:
                if exc.status == 409:
                    exc = AuthError(
                        f"{self.client.label}: Telegram refuses getUpdates while a webhook is "
                        'set (409); use mode = "webhook" or call deleteWebhook',
                        409,
                    )
                self.health.failing(str(exc))
                raise exc from None
            if not isinstance(updates, list):
                raise ApiError(f"{self.client.label}: getUpdates did not answer a list")
            records: list[Record] = []
            last = offset - 1 if offset is not None else None
            for update in updates:
                uid = update.get("update_id") if isinstance(update, dict) else None
                if isinstance(uid, int) and not isinstance(uid, bool):
                    last = uid if last is None else max(last, uid)
                records.extend(update_records(update, self.community, self.origin))
            records = self.members.keep(records)
            if last is not None and (offset is None or last >= offset):
                await sink.write(records, cursor=(self.cursor_key, str(last)))
                offset = last + 1
            elif records:
                await sink.write(records)
            self.health.received(len(records), newest(records))
            self.health.ok(lagging=len(updates) >= self.settings.limit)

    def _make_handler(self, sink: Sink) -> Handler:
        secret = (self.settings.secret_token or "").encode()

        async def handle(request: Request) -> Response:
            if request.method != "POST":
                return Response(405, b"POST only")
            given = request.headers.get("x-telegram-bot-api-secret-token", "").encode()
            if not hmac.compare_digest(given, secret):
                log.warning("%s: webhook request with a bad secret token refused", self.origin)
                return Response(401, b"bad secret token")
            try:
                update = json.loads(request.body)
            except (ValueError, RecursionError):
                update = request.body[:RAW_LIMIT].decode("utf-8", "replace")
            records = self.members.keep(update_records(update, self.community, self.origin))
            if records:
                await sink.write(records)
                self.health.received(len(records), newest(records))
            self.health.ok(detail=f"webhook {self.settings.path}")
            return Response(200, b"ok")

        return handle


def create(settings: Any, ctx: SourceContext) -> TelegramBotSource:
    return TelegramBotSource(settings, ctx)


SOURCE = SourceType("telegram", TelegramBotSettings, create)
