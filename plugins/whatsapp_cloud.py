"""WhatsApp Cloud API webhook: Meta's verification handshake and signed deliveries.

A GET with hub.mode=subscribe and the configured verify token answers hub.challenge; a
POST must carry `X-Hub-Signature-256: sha256=<HMAC-SHA256(app secret, raw body)>`, checked
in constant time, else it is refused and never stored. Every entry and every change of a
delivery is read; a malformed message or change is quarantined and the rest stored, and
the answer is 200 so Meta does not retry it forever. Only a failed store answers 503, so
Meta delivers it again (message ids make that harmless).

Ids: source_id is the message's `wamid` (unique across WhatsApp), author_id "+" + wa_id,
the phone number as the export importer writes it for a sender it shows by number.
Channel is the business phone number the message reached (phone_number_id). Exports
carry no message ids, so live and exported messages cannot dedupe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from cockpit.collect.health import ConnectorHealth
from cockpit.collect.http import ApiClient
from cockpit.collect.webhooks import ROUTER, Request, Response, WebhookRouter
from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_api import Sink, SourceContext, SourceType

from .telegram_bot import Malformed, _obj, _raw, _when
from .webhook_source import WebhookSource

log = logging.getLogger(__name__)

PLATFORM = "whatsapp"
OBJECT = "whatsapp_business_account"
_MEDIA = ("image", "video", "audio", "document", "sticker")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")


class WhatsAppCloudSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    webhook: ClassVar[bool] = True

    app_secret: str = Field(min_length=1, description="the Meta app's App Secret (use ${NAME})")
    verify_token: str = Field(min_length=1, description="the Verify Token set in the webhook setup")
    path: str = Field("/whatsapp", pattern="^/", description="webhook path (Callback URL)")
    statuses: Literal["ignore", "record"] = Field(
        "ignore", description="delivery statuses of sent messages: ignored or kept as system"
    )
    access_token: str | None = Field(None, description="Graph API token, for `--check` only")
    phone_number_id: str | None = Field(None, description="the number `--check` looks up")
    base_url: str = Field("https://graph.facebook.com/v21.0", description="Graph API base URL")


def sign(secret: bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends for this raw body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, header: str | None, body: bytes) -> int | None:
    """The refusal status for a delivery (401 unsigned, 403 bad signature), or None."""
    if not header:
        return 401
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        return 403
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, match[1].lower()) else 403


def _str(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise Malformed(f"{what} is missing or not a string")
    return value


def _phone(wa_id: str) -> str:
    return wa_id if wa_id.startswith("+") else f"+{wa_id}"


def _epoch(value: object, what: str) -> datetime:
    """Meta writes Unix seconds as a string."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        value = int(value)
    return _when(value, what)


class _Change:
    """One `changes[].value`: the number it reached and the names of its contacts."""

    def __init__(self, value: dict[str, Any], community: str) -> None:
        meta = _obj(value.get("metadata"), "metadata")
        self.channel_id = _str(meta.get("phone_number_id"), "metadata.phone_number_id")
        shown = meta.get("display_phone_number")
        self.channel = shown if isinstance(shown, str) and shown else self.channel_id
        self.community = community
        self.names: dict[str, str] = {}
        for contact in value.get("contacts") or ():
            if isinstance(contact, dict) and isinstance(contact.get("wa_id"), str):
                profile = contact.get("profile")
                name = profile.get("name") if isinstance(profile, dict) else None
                if isinstance(name, str) and name:
                    self.names[contact["wa_id"]] = name

    def activity(self, source_id: str, kind: Kind, ts: datetime, sender: str) -> Activity:
        author_id = _phone(sender) if sender != "system" else sender
        return Activity(
            platform=PLATFORM,
            source_id=source_id,
            kind=kind,
            ts=ts,
            channel=self.channel,
            author=self.names.get(sender, author_id),
            author_id=author_id,
            community=self.community,
            channel_id=self.channel_id,
        )

    def message(self, msg: dict[str, Any]) -> Activity | None:
        """A received message as an activity; None for a reaction being taken back."""
        kind_name = msg.get("type")
        record = self.activity(
            _str(msg.get("id"), "message id"),
            Kind.MESSAGE,
            _epoch(msg.get("timestamp"), "timestamp"),
            _str(msg.get("from"), "from"),
        )
        record.extras["type"] = kind_name
        context = msg.get("context")
        if isinstance(context, dict):
            if isinstance(context.get("id"), str):
                record.reply_to = context["id"]
            if context.get("forwarded") or context.get("frequently_forwarded"):
                record.extras["forwarded"] = True
        if kind_name == "text":
            record.text = _str(_obj(msg.get("text"), "text").get("body"), "text.body")
        elif kind_name in _MEDIA:
            media = _obj(msg.get(kind_name), str(kind_name))
            caption = media.get("caption")
            record.text = caption if isinstance(caption, str) else ""
            record.attachments = 1
            if isinstance(media.get("filename"), str):
                record.extras["media"] = media["filename"]
        elif kind_name == "reaction":
            reaction = _obj(msg.get("reaction"), "reaction")
            emoji = reaction.get("emoji")
            if not emoji:
                return None  # the sender removed their reaction
            record.kind, record.text = Kind.REACTION, _str(emoji, "reaction.emoji")
            record.reply_to = _str(reaction.get("message_id"), "reaction.message_id")
        elif kind_name == "interactive":
            answer = _obj(msg.get("interactive"), "interactive")
            reply = _obj(answer.get(str(answer.get("type"))), "interactive reply")
            record.text = _str(reply.get("title"), "interactive reply title")
            record.extras["reply_id"] = reply.get("id")
        elif kind_name == "button":
            button = _obj(msg.get("button"), "button")
            record.text = _str(button.get("text"), "button.text")
            record.extras["payload"] = button.get("payload")
        elif kind_name == "location":
            place = _obj(msg.get("location"), "location")
            parts = (place.get("name"), place.get("address"))
            record.text = ", ".join(p for p in parts if isinstance(p, str) and p)
            record.extras["location"] = [place.get("latitude"), place.get("longitude")]
        elif kind_name == "system":
            system = _obj(msg.get("system"), "system")
            record.kind, record.text = Kind.SYSTEM, _str(system.get("body"), "system.body")
        if isinstance(msg.get("errors"), list):  # "unsupported" and friends say why
            titles = [e.get("title") for e in msg["errors"] if isinstance(e, dict)]
            record.extras["errors"] = [t for t in titles if isinstance(t, str)]
        return record

    def status(self, status: dict[str, Any]) -> Activity:
        """A delivery status of a message the business sent, kept as a system record."""
        wamid = _str(status.get("id"), "status id")
        state = _str(status.get("status"), "status")
        record = self.activity(
            f"{wamid}:{state}", Kind.SYSTEM, _epoch(status.get("timestamp"), "timestamp"), "system"
        )
        record.text = f"message {state}"
        record.extras = {"status": state, "message": wamid}
        if isinstance(status.get("recipient_id"), str):
            record.extras["recipient"] = _phone(status["recipient_id"])
        errors = [e for e in status.get("errors") or () if isinstance(e, dict)]
        if errors:
            title = errors[0].get("title") or errors[0].get("message")
            record.text += f": {title}" if isinstance(title, str) else ""
            record.extras["error_code"] = errors[0].get("code")
        return record


def _quarantine(origin: str, position: str, exc: Exception, raw: object) -> Quarantined:
    reason = str(exc) if isinstance(exc, Malformed) else f"{type(exc).__name__}: {exc}"
    return Quarantined(PLATFORM, origin, position, reason, _raw(raw))


_ITEM_ERRORS = (Malformed, TypeError, KeyError, AttributeError, ValueError)


def change_records(
    value: object, community: str, origin: str, position: str, statuses: bool
) -> list[Record]:
    """One change's messages (and statuses when recorded); each bad one quarantined alone."""
    try:
        change = _Change(_obj(value, "value"), community)
    except _ITEM_ERRORS as exc:
        return [_quarantine(origin, position, exc, value)]
    assert isinstance(value, dict)
    out: list[Record] = []
    items = [("message", m) for m in value.get("messages") or ()]
    if statuses:
        items += [("status", s) for s in value.get("statuses") or ()]
    for index, (noun, item) in enumerate(items):
        try:
            data = _obj(item, noun)
            record = change.message(data) if noun == "message" else change.status(data)
            if record is None:
                continue
            problem = record.validate()
            if problem:
                raise Malformed(problem)
            out.append(record)
        except _ITEM_ERRORS as exc:
            out.append(_quarantine(origin, f"{position} {noun} {index}", exc, item))
    return out


def delivery_tag(raw: bytes) -> str:
    """Names a delivery in quarantine positions: the same delivery re-sent gets the same name
    (so it is not quarantined twice), another one its own (so it is not taken for a copy)."""
    return f"delivery {hashlib.sha256(raw).hexdigest()[:16]}"


def delivery_records(
    body: object, community: str, origin: str, statuses: bool, tag: str = "delivery"
) -> list[Record]:
    """Every entry and change of one delivery; [] for objects other than WhatsApp's."""
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        why = Malformed("delivery is not an object with an entry list")
        return [_quarantine(origin, tag, why, body)]
    if body.get("object") != OBJECT:
        log.info("%s: a delivery for object %r ignored", origin, body.get("object"))
        return []
    out: list[Record] = []
    for i, entry in enumerate(body["entry"]):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            why = Malformed("entry has no changes list")
            out.append(_quarantine(origin, f"{tag} entry {i}", why, entry))
            continue
        for j, change in enumerate(changes):
            if isinstance(change, dict) and change.get("field", "messages") != "messages":
                continue  # account and template updates are not community activity
            value = change.get("value") if isinstance(change, dict) else change
            where = f"{tag} entry {i} change {j}"
            out.extend(change_records(value, community, origin, where, statuses))
    return out


class WhatsAppCloudSource(WebhookSource):
    """Serves one WhatsApp Business app's callback URL until stopped."""

    platform = PLATFORM
    settings: WhatsAppCloudSettings

    def __init__(
        self,
        settings: WhatsAppCloudSettings,
        ctx: SourceContext,
        *,
        router: WebhookRouter = ROUTER,
        health: ConnectorHealth | None = None,
        client: ApiClient | None = None,
    ) -> None:
        super().__init__(
            ctx, f"whatsapp cloud {ctx.name}", router=router, health=health, client=client
        )
        self.settings = settings
        self.client = self.api_client(
            settings.base_url,
            settings.access_token,
            "check `access_token` (a system user token with whatsapp_business_messaging)",
        )

    async def check(self) -> str:
        """The access token against the phone number (when both are set)."""
        if self.client is None or not self.settings.phone_number_id:
            return f"{self.where} (set access_token and phone_number_id to check them)"
        number = self.settings.phone_number_id
        body = await self.client.get_json(f"/{number}", what="phone number")
        shown = body.get("display_phone_number") if isinstance(body, Mapping) else None
        name = body.get("verified_name") if isinstance(body, Mapping) else None
        return f"{self.where}, number {shown or number} ({name or 'unverified'})"

    def _handshake(self, request: Request) -> Response:
        token = (request.arg("hub.verify_token") or "").encode()
        challenge = request.arg("hub.challenge")
        expected = self.settings.verify_token.encode()
        subscribe = request.arg("hub.mode") == "subscribe"
        if subscribe and challenge and hmac.compare_digest(token, expected):
            return Response(200, challenge.encode())
        log.warning("%s: verification request with a wrong verify token refused", self.origin)
        return Response(403, b"verification refused")

    def make_handler(self, sink: Sink) -> Any:
        secret = self.settings.app_secret.encode()
        statuses = self.settings.statuses == "record"

        async def handle(request: Request) -> Response:
            if request.method == "GET":
                return self._handshake(request)
            if request.method != "POST":
                return Response(405, b"GET or POST only")
            refused = verify(secret, request.headers.get("x-hub-signature-256"), request.body)
            if refused:
                log.warning("%s: delivery with a bad or missing signature refused", self.origin)
                return Response(refused, b"bad or missing X-Hub-Signature-256")
            try:
                body: Any = json.loads(request.body)
            except (ValueError, RecursionError):
                body = request.body.decode("utf-8", "replace")
            tag = delivery_tag(request.body)
            records = delivery_records(body, self.community, self.origin, statuses, tag)
            if records:
                try:
                    await sink.write(records)
                except Exception as exc:
                    return self.store_failed(exc)
            return self.stored(records)

        return handle


def create(settings: Any, ctx: SourceContext) -> WhatsAppCloudSource:
    return WhatsAppCloudSource(settings, ctx)


SOURCE = SourceType("whatsapp", WhatsAppCloudSettings, create)
