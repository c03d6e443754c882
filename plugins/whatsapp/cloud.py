"""WhatsApp Cloud API webhook: Meta's verification handshake and signed deliveries.

A GET with hub.mode=subscribe and the configured verify token answers hub.challenge; a
POST must carry `X-Hub-Signature-256: sha256=<HMAC-SHA256(app secret, raw body)>`, checked
in constant time, else it is refused and never stored. A delivery's records come from
plugins/whatsapp/payloads.py; the answer is 200 even when some were quarantined, so Meta
does not retry it forever. Only a failed store answers 503, so Meta delivers it again
(message ids make that harmless).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from cockpit.plugin_api import Sink, SourceContext, SourceType
from cockpit.plugin_kit import (
    ApiClient,
    ConnectorHealth,
    Handler,
    Request,
    Response,
    WebhookRouter,
    WebhookSource,
)

from .payloads import PLATFORM, delivery_records, delivery_tag

log = logging.getLogger(__name__)

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


class WhatsAppCloudSource(WebhookSource):
    """Serves one WhatsApp Business app's callback URL until stopped."""

    platform = PLATFORM
    settings: WhatsAppCloudSettings

    def __init__(
        self,
        settings: WhatsAppCloudSettings,
        ctx: SourceContext,
        *,
        router: WebhookRouter | None = None,
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

    def make_handler(self, sink: Sink) -> Handler:
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
