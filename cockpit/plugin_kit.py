"""The plugin kit: all a platform plugin may use of the core beside the model and the plugin API.

A plugin (built in under plugins/, or a third-party package registered on the
`cockpit.plugins` entry-point group) imports `cockpit.model`, `cockpit.plugin_api` and this
module, nothing else of cockpit (tests/test_boundaries.py checks it). So the contract between
the core and the plugins is these three modules, and the core may move anything else freely.

What is here: validators for platform payloads that raise one `Malformed` (its message is the
quarantine reason), `RAW_LIMIT` for the raw text kept with a quarantined record, the HTTP
client every connector shares (rate limits, backoff, one-line auth errors), connector health,
the webhook source base and the route registration on the collector's webhook server, and the
few core helpers plugins need (times, the Activity JSON shape, the import errors).
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from cockpit.calendar.model import Event
from cockpit.calendar.repository import CalendarRepository
from cockpit.calendar.shifts import shift_event
from cockpit.collect.health import ConnectorHealth, health_for
from cockpit.collect.http import (
    ApiClient,
    ApiError,
    AuthError,
    Backoff,
    Gate,
    MaybeSent,
    RateLimited,
    Sleep,
    decode,
)
from cockpit.collect.webhooks import ROUTER, Handler, Request, Response, WebhookRouter
from cockpit.collect.webhooks import serve_until_cancelled as _serve_until_cancelled
from cockpit.errors import CockpitError, ImportRefused
from cockpit.jsonshape import activity_from_json
from cockpit.model import Activity, Record
from cockpit.plugin_api import Sink, SourceContext
from cockpit.timeutil import localize, parse_iso, utcnow

__all__ = [
    "RAW_LIMIT",
    "STORE_FAILED",
    "ApiClient",
    "ApiError",
    "AuthError",
    "Backoff",
    "CalendarRepository",
    "CockpitError",
    "ConnectorHealth",
    "Event",
    "Gate",
    "Handler",
    "ImportRefused",
    "Malformed",
    "MaybeSent",
    "RateLimited",
    "Request",
    "Response",
    "Sleep",
    "WebhookRouter",
    "WebhookSource",
    "activity_from_json",
    "decode",
    "epoch_seconds",
    "health_for",
    "integer",
    "localize",
    "newest",
    "obj",
    "optional_string",
    "parse_iso",
    "raw_bytes",
    "raw_json",
    "reason_for",
    "serve_webhook",
    "shift_event",
    "string",
    "utcnow",
]

log = logging.getLogger(__name__)

RAW_LIMIT = 4096  # characters of the raw input kept with a quarantined record


# --- payload validators --------------------------------------------------------------------


class Malformed(ValueError):
    """A payload or export entry that cannot become records; the message is the one-line reason."""


def integer(value: object, what: str) -> int:
    """An int that is not a bool."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{what} is not an integer")
    return value


def obj(value: object, what: str) -> dict[str, Any]:
    """A JSON object."""
    if not isinstance(value, dict):
        raise Malformed(f"{what} is not an object")
    return value


def string(value: object, what: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise Malformed(f"{what} is missing or not a string")
    return value


def optional_string(value: object) -> str | None:
    """A non-empty string, or None for anything else (for fields that are a nicety)."""
    return value if isinstance(value, str) and value else None


def epoch_seconds(value: object, what: str) -> datetime:
    """Unix seconds (an int) as an aware UTC time."""
    try:
        return datetime.fromtimestamp(integer(value, what), UTC)
    except (OverflowError, OSError, ValueError) as exc:
        if isinstance(exc, Malformed):
            raise
        raise Malformed(f"{what} is out of range") from None


def raw_json(value: object) -> str:
    """A decoded payload as the raw text kept with its quarantine record."""
    return json.dumps(value, ensure_ascii=False, default=str)[:RAW_LIMIT]


def raw_bytes(data: bytes) -> str:
    """Undecodable input as the raw text kept with its quarantine record."""
    return data[:RAW_LIMIT].decode("utf-8", "replace")


def reason_for(exc: BaseException) -> str:
    """The quarantine reason for an error met while reading one payload."""
    return str(exc) if isinstance(exc, Malformed) else f"{type(exc).__name__}: {exc}"


def newest(records: Iterable[Record]) -> datetime | None:
    """The time of the newest activity among `records` (for connector health)."""
    times = [r.ts for r in records if isinstance(r, Activity)]
    return max(times) if times else None


# --- webhooks ------------------------------------------------------------------------------


async def serve_webhook(path: str, handler: Handler, router: WebhookRouter | None = None) -> None:
    """Hold `path` on the collector's webhook server (or `router`) until cancelled."""
    await _serve_until_cancelled(router if router is not None else ROUTER, path, handler)


STORE_FAILED = Response(503, b"cannot store now; retry")


class _Settings(Protocol):
    @property
    def path(self) -> str: ...


class WebhookSource(ABC):
    """The common half of a webhook connector; subclasses make the request handler.

    It holds its path on the webhook server while it runs, and answers a delivery only after
    its records are stored: a store failure answers 503, so the platform delivers it again
    (the store's idempotent key makes that harmless).
    """

    platform = ""
    settings: _Settings

    def __init__(
        self,
        ctx: SourceContext,
        origin: str,
        *,
        router: WebhookRouter | None = None,
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
    def make_handler(self, sink: Sink) -> Handler:
        """The request handler that verifies, stores, then answers."""

    async def run(self, sink: Sink) -> None:
        try:
            self.health.ok(detail=self.where)
            await serve_webhook(self.settings.path, self.make_handler(sink), self.router)
        finally:
            if self.client is not None:
                await self.client.aclose()

    def store_failed(self, exc: BaseException) -> Response:
        self.health.failing(f"store write failed: {type(exc).__name__}: {exc}")
        log.error("%s: store write failed; the platform will retry: %s", self.origin, exc)
        return STORE_FAILED

    def stored(self, records: list[Record]) -> Response:
        self.health.received(len(records), newest(records))
        self.health.ok(detail=self.where)
        return Response(200, b"ok")
