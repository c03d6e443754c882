"""Local stand-ins for platform APIs: a real uvicorn server on 127.0.0.1 with scripted routes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from cockpit.collect.webhooks import Request, Response, WebhookRouter, WebhookServer

Route = Callable[[Request], Awaitable[Response]]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(body).encode(), "application/json", headers or {})


class FakePlatform:
    """Routes by exact path; every request is logged for assertions."""

    def __init__(self) -> None:
        self.router = WebhookRouter()
        self.requests: list[Request] = []
        self.base_url = ""

    def route(self, path: str, handler: Route) -> None:
        async def logged(request: Request) -> Response:
            self.requests.append(request)
            return await handler(request)

        self.router.mount(path, logged)


@asynccontextmanager
async def serve(platform: FakePlatform) -> AsyncIterator[FakePlatform]:
    server = WebhookServer(platform.router, "127.0.0.1", 0)
    await server.start()
    platform.base_url = f"http://127.0.0.1:{server.port}"
    try:
        yield platform
    finally:
        await server.stop()


class FakeSleep:
    """Records the waits asked for instead of sleeping (lets the loop run)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        import asyncio

        self.waits.append(seconds)
        await asyncio.sleep(0)


@asynccontextmanager
async def serve_webhook_source(source: Any, sink: Any, router: WebhookRouter) -> AsyncIterator[Any]:
    """Run a webhook source on a real uvicorn server on 127.0.0.1; yield an httpx client for it."""
    import asyncio
    import contextlib

    import httpx

    task = asyncio.create_task(source.run(sink))
    server = WebhookServer(router, "127.0.0.1", 0)
    await server.start()
    for _ in range(200):
        if source.settings.path in router.routes:
            break
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            yield http
    finally:
        await server.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
