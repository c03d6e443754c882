"""One small ASGI app for every webhook connector, served by uvicorn inside `cockpit collect`.

Webhook sources mount a handler on a path while they run. A handler gets the raw body
(signatures are computed over the exact bytes) and answers only after the records it
accepted are stored, so a platform retries whatever we did not keep. Anything that fails
verification is answered 401/403 and never reaches the store.

Hostile clients meet limits before any handler runs (see `Limits`): a cap on concurrent
connections (kept well below the unit's `LimitNOFILE`, so a flood of sockets never takes the
descriptors the store and the sources need: a connection over the cap is closed at once),
a deadline for the request head and one for the whole body (slowloris), a size cap on the
head (h11) and on the body (by Content-Length before reading, and while reading), and a cap
on the body bytes held across all requests at once, so memory stays bounded whatever the
number of slow clients. Each refusal is one log line, and a flood is summed up, not logged
line by line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client may take of the webhook server."""

    max_connections: int = 512  # the example unit sets LimitNOFILE=4096
    head_timeout: float = 10.0  # seconds to send the request line and headers
    body_timeout: float = 15.0  # seconds to send the whole body
    max_head: int = 16_384  # bytes of request line and headers
    max_body: int = 1_048_576  # bytes of one body
    max_buffered: int = 64 * 1_048_576  # body bytes held across all requests at once


class _Summary:
    """One log line for a refusal, then at most one line per `every` seconds with the count."""

    def __init__(self, what: str, every: float = 10.0) -> None:
        self.what = what
        self.every = every
        self.count = 0
        self.total = 0
        self._last = 0.0

    def note(self, detail: str) -> None:
        self.count += 1
        self.total += 1
        now = time.monotonic()
        if now - self._last >= self.every:
            more = f" ({self.count} since the last line)" if self.count > 1 else ""
            log.warning("webhook server: %s: %s%s", self.what, detail, more)
            self.count = 0
            self._last = now


Handler = Callable[[Request], Awaitable[Response]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class WebhookRouter:
    """Exact-path routing to the handlers of the running webhook sources."""

    def __init__(self, max_body: int = 1_048_576, limits: Limits | None = None) -> None:
        self.routes: dict[str, Handler] = {}
        self.limits = limits or Limits(max_body=max_body)
        self.max_body = self.limits.max_body
        self.buffered = 0  # body bytes held by requests being read now
        self.refusals = _Summary("request refused")

    def mount(self, path: str, handler: Handler) -> None:
        if path in self.routes:
            raise ValueError(f"webhook path {path!r} is used by two sources")
        self.routes[path] = handler

    def unmount(self, path: str) -> None:
        self.routes.pop(path, None)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        response = await self._handle(scope, receive)
        headers = [(b"content-type", response.content_type.encode())]
        headers += [(k.encode(), v.encode()) for k, v in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    async def _handle(self, scope: dict[str, Any], receive: Receive) -> Response:
        # routes match the path as sent: a percent-encoded spelling of a route is not that route
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        handler = self.routes.get(bytes(raw_path).decode("latin-1"))
        if handler is None:
            return Response(404, b"not found")
        head = sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        if head > self.limits.max_head:
            # h11 caps a head that arrives in pieces; this, one that arrived whole
            self.refusals.note(f"{scope['path']}: headers of {head} bytes are over the limit")
            return Response(431, b"headers too large")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            self.refusals.note(f"{scope['path']}: body of {declared} bytes is over the limit")
            return Response(413, b"body too large")
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return Response(400, b"client went away")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        self.refusals.note(f"{scope['path']}: body over {self.max_body} bytes")
                        return Response(413, b"body too large")
                    if self.buffered + len(chunk) > self.limits.max_buffered:
                        self.refusals.note("too many bodies held at once")
                        return Response(503, b"busy; retry", headers={"retry-after": "5"})
                    self.buffered += len(chunk)
                    chunks.append(chunk)
                    if not message.get("more_body"):
                        break
        except TimeoutError:
            self.refusals.note(f"{scope['path']}: body not sent within the time limit")
            return Response(408, b"body too slow")
        finally:
            self.buffered -= sum(len(c) for c in chunks)
        request = Request(
            method=scope["method"],
            path=scope["path"],
            query=parse_qs(scope.get("query_string", b"").decode("latin-1")),
            headers=headers,
            body=b"".join(chunks),
        )
        del chunks
        try:
            return await handler(request)
        except Exception as exc:  # never a stack trace to the platform; the log says why
            log.error("webhook %s failed: %s: %s", scope["path"], type(exc).__name__, exc)
            return Response(500, b"internal error")


ROUTER = WebhookRouter()


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `cockpit collect` owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class _GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a connection cap and a deadline for the request head."""

    limits: ClassVar[Limits] = Limits()
    refused: ClassVar[_Summary] = _Summary("connection refused")
    slow: ClassVar[_Summary] = _Summary("connection closed")
    # this server's connections, oldest first (a subclass per server gets its own)
    open_connections: ClassVar[dict[_GuardedH11, None]] = {}
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.open_connections) >= self.limits.max_connections and not self._evict():
            self.refused.note(f"{self.limits.max_connections} connections are busy")
            transport.abort()
            return
        self.open_connections[self] = None
        self._arm()

    def waiting(self) -> bool:
        """Still without a request head (idle, or sending it slowly)."""
        return self.cycle is None or self.cycle.response_complete

    def _evict(self) -> bool:
        """At the cap, the oldest connection still without a request head makes room."""
        for other in self.open_connections:
            if other.waiting():
                self.slow.note(f"{self.limits.max_connections} connections: oldest idle closed")
                self.open_connections.pop(other, None)
                other.transport.abort()
                return True
        return False

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.limits.head_timeout, self._head_expired)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        # no request head in time (slowloris, or a socket that never sends a byte)
        if self.waiting() and not self.transport.is_closing():
            self.slow.note(f"no request within {self.limits.head_timeout:g} s")
            self.transport.abort()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on a kept-alive connection has the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.open_connections.pop(self, None)
        super().connection_lost(exc)


class WebhookServer:
    """uvicorn serving a router inside the running event loop."""

    def __init__(
        self, app: WebhookRouter, host: str, port: int, limits: Limits | None = None
    ) -> None:
        limits = limits or app.limits
        protocol = type("CockpitH11", (_GuardedH11,), {"limits": limits, "open_connections": {}})
        self._protocol: type[_GuardedH11] = protocol
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            http=protocol,
            h11_max_incomplete_event_size=limits.max_head,
            timeout_keep_alive=5,
        )
        self._server = _Server(config)
        self.address = f"{host}:{port}"
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(), name="cockpit-webhooks")
        while not self._server.started:
            if self._task.done():
                # uvicorn exits when it cannot bind; it logged why
                with contextlib.suppress(SystemExit):
                    self._task.result()
                raise OSError(f"the webhook server cannot listen on {self.address}")
            await asyncio.sleep(0.02)

    @property
    def connections(self) -> int:
        """Connections open now (never more than `Limits.max_connections`)."""
        return len(self._protocol.open_connections)

    @property
    def port(self) -> int:
        for server in self._server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("the webhook server is not listening")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None


async def serve_until_cancelled(router: WebhookRouter, path: str, handler: Handler) -> None:
    """What a webhook source's `run` does: hold its path until it is stopped."""
    router.mount(path, handler)
    try:
        await asyncio.Event().wait()
    finally:
        router.unmount(path)
