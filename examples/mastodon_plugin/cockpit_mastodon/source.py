"""The webhook source: Mastodon signs each delivery with the webhook's secret.

`X-Hub-Signature: sha256=<HMAC-SHA256(secret, raw body)>`, checked in constant time; an
unsigned delivery is refused 401, a wrong signature 403, and neither reaches the store. A
delivery is answered 200 once its records are stored (a quarantined one included, so Mastodon
does not retry it for ever), 503 when the store fails, so Mastodon delivers it again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cockpit.plugin_api import Sink, SourceContext, SourceType
from cockpit.plugin_kit import (
    ConnectorHealth,
    Handler,
    Request,
    Response,
    WebhookRouter,
    WebhookSource,
)

from .payloads import PLATFORM, delivery_records

log = logging.getLogger(__name__)

_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")


class MastodonSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    webhook: ClassVar[bool] = True

    secret: str = Field(min_length=1, description="the webhook's secret (use ${NAME})")
    path: str = Field("/mastodon", pattern="^/", description="webhook path (the endpoint URL)")


def sign(secret: bytes, body: bytes) -> str:
    """The X-Hub-Signature value Mastodon sends for this raw body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def refusal(secret: bytes, header: str | None, body: bytes) -> int | None:
    """401 unsigned, 403 a bad signature, None when the delivery is Mastodon's."""
    if not header:
        return 401
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        return 403
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, match[1].lower()) else 403


class MastodonSource(WebhookSource):
    """Serves one Mastodon webhook until stopped."""

    platform = PLATFORM
    settings: MastodonSettings

    def __init__(
        self,
        settings: MastodonSettings,
        ctx: SourceContext,
        *,
        router: WebhookRouter | None = None,
        health: ConnectorHealth | None = None,
    ) -> None:
        super().__init__(ctx, f"mastodon {ctx.name}", router=router, health=health)
        self.settings = settings

    def make_handler(self, sink: Sink) -> Handler:
        secret = self.settings.secret.encode()

        async def handle(request: Request) -> Response:
            if request.method != "POST":
                return Response(405, b"POST only")
            refused = refusal(secret, request.headers.get("x-hub-signature"), request.body)
            if refused:
                log.warning("%s: delivery with a bad or missing signature refused", self.origin)
                return Response(refused, b"bad or missing X-Hub-Signature")
            try:
                body: Any = json.loads(request.body)
            except (ValueError, RecursionError):
                body = request.body.decode("utf-8", "replace")
            records = delivery_records(body, self.community, self.origin)
            if records:
                try:
                    await sink.write(records)
                except Exception as exc:
                    return self.store_failed(exc)
            return self.stored(records)

        return handle


def create(settings: Any, ctx: SourceContext) -> MastodonSource:
    return MastodonSource(settings, ctx)


SOURCE = SourceType("mastodon", MastodonSettings, create)
