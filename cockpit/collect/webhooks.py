"""One small ASGI app for every webhook connector, served by uvicorn inside `cockpit collect`.

Webhook sources mount a handler on a path while they run. A handler gets the raw body
(signatures are computed over the exact bytes) and answers only after the records it
accepted are stored, so a platform retries whatever we did not keep. Anything that fails
verification is answered 401/403 and never reaches the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn

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


Handler = Callable[[Request], Awaitable[Response]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class WebhookRouter:
    """Exact-path routing to the handlers of the running webhook sources."""

    def __init__(self, max_body: int = 1_048_576) -> None:
        self.routes: dict[str, Handler] = {}
        self.max_body = max_body

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
        handler = self.routes.get(scope["path"])
        if handler is None:
            return Response(404, b"not found")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return Response(400, b"client went away")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return Response(413, b"body too large")
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request = Request(
            method=scope["method"],
            path=scope["path"],
            query=parse_qs(scope.get("query_string", b"").decode("latin-1")),
            headers=headers,
            body=b"".join(chunks),
        )
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


class WebhookServer:
    """uvicorn serving a router inside the running event loop."""

    def __init__(self, app: WebhookRouter, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
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
