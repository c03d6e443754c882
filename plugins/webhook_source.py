"""What the webhook connectors (Slack Events, WhatsApp Cloud) share.

A webhook source holds its path on the collector's one webhook server while it runs, and
answers a delivery only after its records are stored: a store failure answers 503, so the
platform delivers it again (the store's idempotent key makes that harmless).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Protocol

from cockpit.collect.health import ConnectorHealth, health_for
from cockpit.collect.http import ApiClient
from cockpit.collect.webhooks import ROUTER, Response, WebhookRouter
from cockpit.collect.webhooks import serve_until_cancelled as _serve
from cockpit.model import Record
from cockpit.plugin_api import Sink, SourceContext

from .telegram_bot import _newest

log = logging.getLogger(__name__)

STORE_FAILED = Response(503, b"cannot store now; retry")


class _Settings(Protocol):
    @property
    def path(self) -> str: ...


class WebhookSource(ABC):
    """The common half of a webhook connector; subclasses make the request handler."""

    platform = ""
    settings: _Settings

    def __init__(
        self,
        ctx: SourceContext,
        origin: str,
        *,
        router: WebhookRouter = ROUTER,
        health: ConnectorHealth | None = None,
        client: ApiClient | None = None,
    ) -> None:
        self.name = ctx.name
        self.community = ctx.community
        self.origin = origin
        self.router = router
        self.health = health or health_for(ctx.name)
        self.health.type, self.health.community = self.platform, ctx.community
        self.client = client

    def api_client(self, base_url: str, token: str | None, hint: str) -> ApiClient | None:
        """A Web/Graph API client with a bearer token, or None without a token."""
        if self.client is not None or not token:
            return self.client
        return ApiClient(
            f"{self.platform} source {self.name!r}",
            base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10.0,
            on_wait=self.health.waited,
            auth_hint=hint,
        )

    @property
    def where(self) -> str:
        return f"webhook {self.settings.path}"

    @abstractmethod
    def make_handler(self, sink: Sink) -> Any:
        """The request handler that verifies, stores, then answers."""

    async def run(self, sink: Sink) -> None:
        try:
            self.health.ok(detail=self.where)
            await _serve(self.router, self.settings.path, self.make_handler(sink))
        finally:
            if self.client is not None:
                await self.client.aclose()

    def store_failed(self, exc: BaseException) -> Response:
        self.health.failing(f"store write failed: {type(exc).__name__}: {exc}")
        log.error("%s: store write failed; the platform will retry: %s", self.origin, exc)
        return STORE_FAILED

    def stored(self, records: list[Record]) -> Response:
        self.health.received(len(records), _newest(records))
        self.health.ok(detail=self.where)
        return Response(200, b"ok")
