"""Telegram Bot API: long polling (`getUpdates`) or webhook mode, one bot per source.

Ids are the importer's (plugins/telegram.py): channel_id is the Bot API chat id and
source_id `f"{chat_id}:{message_id}"`, so live and imported messages dedupe. The polling
offset is stored with the records it covers (`sink.write(..., cursor=...)`) and confirmed
to Telegram only by the next `getUpdates` (offset = last + 1), so a crash replays at most
updates that are already stored, which the store ignores.

Joins and leaves come from the service messages (`new_chat_members`, `left_chat_member`),
as in exports; `chat_member` updates are requested and used for channels, which have no
such messages.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cockpit.collect.health import ConnectorHealth, health_for
from cockpit.collect.http import ApiClient, ApiError, AuthError, decode
from cockpit.collect.webhooks import ROUTER, Request, Response, WebhookRouter
from cockpit.collect.webhooks import serve_until_cancelled as _serve
from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_api import Sink, SourceContext, SourceType

log = logging.getLogger(__name__)

ALLOWED_UPDATES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "chat_member",
)
_MESSAGE_KEYS = {
    "message": Kind.MESSAGE,
    "channel_post": Kind.MESSAGE,
    "edited_message": Kind.EDIT,
    "edited_channel_post": Kind.EDIT,
}
_MEDIA_KEYS = ("photo", "document", "video", "audio", "voice", "sticker", "animation", "video_note")
_MEMBER = frozenset({"member", "administrator", "creator"})
_RAW_LIMIT = 4096
PLATFORM = "telegram"


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


class Malformed(ValueError):
    """An update that cannot become records; the reason is one line."""


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{what} is not an integer")
    return value


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not an object")
    return value


def _when(value: object, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(_int(value, what), UTC)
    except (OverflowError, OSError, ValueError):
        raise Malformed(f"{what} is out of range") from None


def _user(user: dict[str, Any]) -> tuple[str, str, str | None, bool]:
    """(id, display name as Telegram Desktop writes it, @handle, is_bot)."""
    uid = str(_int(user.get("id"), "user id"))
    first = user.get("first_name") if isinstance(user.get("first_name"), str) else ""
    last = user.get("last_name") if isinstance(user.get("last_name"), str) else ""
    handle = user.get("username") if isinstance(user.get("username"), str) else None
    name = " ".join(p for p in (first, last) if p) or handle or uid
    return uid, name, handle, bool(user.get("is_bot"))


def _chat_label(chat: dict[str, Any], chat_id: str) -> str:
    for key in ("title", "username"):
        if isinstance(chat.get(key), str) and chat[key]:
            return str(chat[key])
    first, last = chat.get("first_name"), chat.get("last_name")
    name = " ".join(p for p in (first, last) if isinstance(p, str) and p)
    return name or chat_id


def _mentions(msg: dict[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for key in ("entities", "caption_entities"):
        for ent in msg.get(key) or ():
            if isinstance(ent, dict) and ent.get("type") == "text_mention":
                user = ent.get("user")
                if isinstance(user, dict) and isinstance(user.get("id"), int):
                    uid = str(user["id"])
                    if uid not in found:
                        found.append(uid)
    return tuple(found)


def message_records(msg: dict[str, Any], kind: Kind, community: str) -> list[Activity]:
    """A Bot API Message as activities (a service message may give one per member)."""
    chat = _obj(msg.get("chat"), "chat")
    chat_id = str(_int(chat.get("id"), "chat id"))
    label = _chat_label(chat, chat_id)
    mid = _int(msg.get("message_id"), "message_id")
    sid = f"{chat_id}:{mid}"
    ts = _when(msg.get("date"), "date")
    edited = _when(msg["edit_date"], "edit_date") if "edit_date" in msg else None
    if kind is Kind.EDIT and edited is None:
        edited = ts
    if isinstance(msg.get("from"), dict):
        author_id, author, handle, is_bot = _user(msg["from"])
    elif isinstance(msg.get("sender_chat"), dict):
        sender = msg["sender_chat"]
        author_id = str(_int(sender.get("id"), "sender_chat id"))
        author, handle, is_bot = _chat_label(sender, author_id), sender.get("username"), False
    elif chat.get("type") == "channel":  # a channel post without a sender is the channel's
        author_id, author, handle, is_bot = chat_id, label, chat.get("username"), False
    else:
        raise Malformed("message has neither from nor sender_chat")
    base = Activity(
        platform=PLATFORM,
        source_id=sid,
        kind=kind,
        ts=ts,
        channel=label,
        author=author,
        author_id=author_id,
        community=community,
        channel_id=chat_id,
        author_handle=handle if isinstance(handle, str) else None,
        edited_ts=edited,
        is_bot=is_bot,
    )
    joined = msg.get("new_chat_members")
    if isinstance(joined, list) and joined:
        out = []
        for i, member in enumerate(joined):
            uid, name, mhandle, mbot = _user(_obj(member, "a new chat member"))
            out.append(
                Activity(
                    platform=PLATFORM,
                    source_id=sid if i == 0 else f"{sid}/{i}",
                    kind=Kind.JOIN,
                    ts=ts,
                    channel=label,
                    author=name,
                    author_id=uid,
                    community=community,
                    channel_id=chat_id,
                    author_handle=mhandle,
                    is_bot=mbot,
                    extras={"by": author} if uid != author_id else {},
                )
            )
        return out
    if isinstance(msg.get("left_chat_member"), dict):
        uid, name, mhandle, mbot = _user(msg["left_chat_member"])
        base.kind, base.author, base.author_id = Kind.LEAVE, name, uid
        base.author_handle, base.is_bot = mhandle, mbot
        return [base]
    text = msg.get("text", msg.get("caption", ""))
    if not isinstance(text, str):
        raise Malformed("text is not a string")
    base.text = text
    reply = msg.get("reply_to_message")
    if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
        rchat = reply.get("chat")
        rid = rchat.get("id") if isinstance(rchat, dict) else None
        base.reply_to = f"{rid if isinstance(rid, int) else chat_id}:{reply['message_id']}"
    base.mentions = _mentions(msg)
    base.attachments = 1 if any(k in msg for k in _MEDIA_KEYS) else 0
    if isinstance(msg.get("author_signature"), str):
        base.extras["signature"] = msg["author_signature"]
    if not text and not base.attachments and kind is Kind.MESSAGE:
        service = next((k for k in msg if k.startswith(("new_chat_", "pinned", "group_"))), None)
        if service:
            base.kind, base.text = Kind.SYSTEM, service.replace("_", " ")
    return [base]


def member_records(update: dict[str, Any], community: str) -> list[Activity]:
    """A `chat_member` update as a join or leave (channels only: groups have service messages)."""
    chat = _obj(update.get("chat"), "chat")
    if chat.get("type") != "channel":
        return []
    chat_id = str(_int(chat.get("id"), "chat id"))
    old = _obj(update.get("old_chat_member"), "old_chat_member")
    new = _obj(update.get("new_chat_member"), "new_chat_member")
    was, now = old.get("status") in _MEMBER, new.get("status") in _MEMBER
    if was == now:
        return []
    uid, name, handle, is_bot = _user(_obj(new.get("user"), "new_chat_member.user"))
    ts = _when(update.get("date"), "date")
    return [
        Activity(
            platform=PLATFORM,
            source_id=f"{chat_id}:member:{uid}:{int(ts.timestamp())}:{new.get('status')}",
            kind=Kind.JOIN if now else Kind.LEAVE,
            ts=ts,
            channel=_chat_label(chat, chat_id),
            author=name,
            author_id=uid,
            community=community,
            channel_id=chat_id,
            author_handle=handle,
            is_bot=is_bot,
        )
    ]


def _raw(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)[:_RAW_LIMIT]


def update_records(update: object, community: str, origin: str) -> list[Record]:
    """One Update as records: its activities, nothing for kinds we do not follow, or a quarantine."""
    uid = update.get("update_id") if isinstance(update, dict) else None
    position = f"update {uid}" if isinstance(uid, int) else "update without update_id"
    try:
        upd = _obj(update, "update")
        for key, kind in _MESSAGE_KEYS.items():
            if key in upd:
                records: list[Activity] = message_records(_obj(upd[key], key), kind, community)
                break
        else:
            if "chat_member" in upd:
                records = member_records(_obj(upd["chat_member"], "chat_member"), community)
            else:
                return []
        for record in records:
            problem = record.validate()
            if problem:
                raise Malformed(problem)
        return list(records)
    except (Malformed, TypeError, KeyError, AttributeError) as exc:
        reason = str(exc) if isinstance(exc, Malformed) else f"{type(exc).__name__}: {exc}"
        return [Quarantined(PLATFORM, origin, position, reason, _raw(update))]


def _newest(records: list[Record]) -> datetime | None:
    times = [r.ts for r in records if isinstance(r, Activity)]
    return max(times) if times else None


class TelegramBotSource:
    """Polls getUpdates (or serves the webhook) for one bot."""

    def __init__(
        self,
        settings: TelegramBotSettings,
        ctx: SourceContext,
        *,
        client: ApiClient | None = None,
        router: WebhookRouter = ROUTER,
        health: ConnectorHealth | None = None,
    ) -> None:
        self.name = ctx.name
        self.settings = settings
        self.community = ctx.community
        self.origin = f"telegram bot {ctx.name}"
        self.cursor_key = f"telegram:{ctx.name}:update_id"
        self.router = router
        self.health = health or health_for(ctx.name)
        self.health.type, self.health.community = "telegram", ctx.community
        self.client = client or ApiClient(
            f"telegram source {ctx.name!r}",
            f"{settings.base_url.rstrip('/')}/bot{settings.token}",
            timeout=settings.poll_timeout + 15,
            on_wait=self.health.waited,
            auth_hint="check `token` (the bot token from @BotFather)",
        )
        if self.client.on_wait is None:
            self.client.on_wait = self.health.waited

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """One Bot API method; `ok: false` answers become a clear error."""
        response = await self.client.request(
            "POST", f"/{method}", what=method, json=dict(params or {}), ok_statuses=frozenset({404})
        )
        body = decode(response, self.client.label, method)
        if response.status_code == 404:
            raise AuthError(
                f"{self.client.label}: the Bot API does not know this token (404 on {method}); "
                "check `token` and `base_url`",
                404,
            )
        if not isinstance(body, dict) or body.get("ok") is not True:
            text = body.get("description") if isinstance(body, dict) else None
            raise ApiError(f"{self.client.label}: {method} failed: {text or 'not ok'}")
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
                await _serve(self.router, self.settings.path, self._make_handler(sink))
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
            if last is not None and (offset is None or last >= offset):
                await sink.write(records, cursor=(self.cursor_key, str(last)))
                offset = last + 1
            elif records:
                await sink.write(records)
            self.health.received(len(records), _newest(records))
            self.health.ok(lagging=len(updates) >= self.settings.limit)

    def _make_handler(self, sink: Sink) -> Any:
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
            except ValueError:
                update = request.body[:_RAW_LIMIT].decode("utf-8", "replace")
            records = update_records(update, self.community, self.origin)
            if records:
                await sink.write(records)
                self.health.received(len(records), _newest(records))
            self.health.ok(detail=f"webhook {self.settings.path}")
            return Response(200, b"ok")

        return handle


def create(settings: Any, ctx: SourceContext) -> TelegramBotSource:
    return TelegramBotSource(settings, ctx)


SOURCE = SourceType("telegram", TelegramBotSettings, create)
