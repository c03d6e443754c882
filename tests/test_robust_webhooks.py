"""#18: the webhook server against hostile clients, on real sockets on 127.0.0.1.

Idle sockets, slowloris heads and bodies, oversized heads and bodies, a flood over the
connection cap, garbage: the server's connections and held body bytes stay under their caps,
each refusal is one log line, and a legitimate request is served all along.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from cockpit.collect.webhooks import Limits, Request, Response, WebhookRouter, WebhookServer

LIMITS = Limits(
    max_connections=40,
    head_timeout=0.5,
    body_timeout=0.5,
    max_head=8_192,
    max_body=10_000,
    max_buffered=60_000,
)


@contextlib.asynccontextmanager
async def server(limits: Limits = LIMITS) -> AsyncIterator[tuple[WebhookServer, WebhookRouter]]:
    router = WebhookRouter(limits=limits)
    seen: list[bytes] = []

    async def hook(request: Request) -> Response:
        seen.append(request.body)
        return Response(200, b"ok:%d" % len(request.body))

    router.mount("/hook", hook)
    srv = WebhookServer(router, "127.0.0.1", 0)
    await srv.start()
    try:
        yield srv, router
    finally:
        await srv.stop()


async def legit(port: int) -> int:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        r = await http.post("/hook", content=b'{"ok": true}')
        assert r.text == "ok:12"
        return r.status_code


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """What the server sends before it closes the connection (read to EOF).

    A server that closes while the client is still writing makes the kernel answer the
    client's next bytes with a reset; that, too, is the server closing it.
    """
    try:
        return await asyncio.wait_for(reader.read(), 20)
    except ConnectionResetError:
        return b""


def one_line_logs(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert "\n" not in record.getMessage(), record.getMessage()
        assert record.exc_info is None


async def test_idle_sockets_beyond_the_cap_never_block_a_legit_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with server() as (srv, _router):
        idle = [await asyncio.open_connection("127.0.0.1", srv.port) for _ in range(150)]
        await asyncio.sleep(0)
        # a legit request during the flood: the oldest idle socket makes room for it
        assert [await legit(srv.port) for _ in range(10)] == [200] * 10
        assert srv.connections <= LIMITS.max_connections
        # the idle sockets are all closed by the server, evicted or at the head deadline
        for reader, _writer in idle:
            assert await closed_by_server(reader) == b""
        assert srv.connections == 0
        for _reader, writer in idle:
            writer.close()
        assert await legit(srv.port) == 200
    one_line_logs(caplog)


async def test_slowloris_heads_are_closed_at_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    async with server() as (srv, _router):
        slow = [await asyncio.open_connection("127.0.0.1", srv.port) for _ in range(20)]

        async def trickle(writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                writer.write(b"POST /hook HTTP/1.1\r\nHost: x\r\n")
                for i in range(1000):
                    writer.write(b"X-%d: y\r\n" % i)
                    await writer.drain()
                    await asyncio.sleep(0.05)

        tricklers = [asyncio.create_task(trickle(w)) for _r, w in slow]
        assert await legit(srv.port) == 200
        for reader, _writer in slow:
            await closed_by_server(reader)
        assert await legit(srv.port) == 200
        for task in tricklers:
            task.cancel()
        await asyncio.gather(*tricklers, return_exceptions=True)
        for _reader, writer in slow:
            writer.close()
    one_line_logs(caplog)


async def test_slow_bodies_time_out_and_held_bytes_stay_under_the_cap(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with server() as (srv, router):
        conns = [await asyncio.open_connection("127.0.0.1", srv.port) for _ in range(20)]
        for _reader, writer in conns:
            writer.write(
                b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 9999\r\n\r\n" + b"a" * 9000
            )
            await writer.drain()
        assert await legit(srv.port) == 200
        assert router.buffered <= LIMITS.max_buffered
        answers = [await closed_by_server(reader) for reader, _writer in conns]
        statuses = {a.split(b" ", 2)[1] for a in answers if a}
        assert statuses <= {b"408", b"503"} and b"408" in statuses
        assert router.buffered == 0
        for _reader, writer in conns:
            writer.close()
        assert await legit(srv.port) == 200
    one_line_logs(caplog)


async def test_oversized_heads_and_bodies_are_refused_before_reading(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with server() as (srv, router):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{srv.port}") as http:
            big_head = await http.post("/hook", content=b"{}", headers={"X-Big": "h" * 20_000})
            big_body = await http.post("/hook", content=b"b" * 10_001)

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(100):
                    yield b"c" * 1000

            chunked = await http.post("/hook", content=chunks())
            encoded = await http.post("/h%6Fok", content=b"{}")
            unknown = await http.post("/nowhere", content=b"{}")
        # a declared length over the cap: refused with nothing of the body read
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readline(), 20)
        writer.close()
        assert big_head.status_code in (400, 431)
        assert (big_body.status_code, chunked.status_code) == (413, 413)
        assert (encoded.status_code, unknown.status_code) == (404, 404)
        assert head.startswith(b"HTTP/1.1 413")
        assert router.buffered == 0
        assert await legit(srv.port) == 200
    one_line_logs(caplog)


async def test_garbage_on_the_wire_never_stops_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with server() as (srv, _router):
        for junk in (b"\x00\xff" * 500, b"GET / HTTP/9.9\r\n\r\n", b"\r\n\r\n", b"POST\r\n\r\n"):
            reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
            writer.write(junk)
            await writer.drain()
            await closed_by_server(reader)
            writer.close()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{srv.port}") as http:
            wrong = await http.post(
                "/hook", content=b"\xff\xfe<xml/>", headers={"Content-Type": "text/xml"}
            )
        assert wrong.status_code == 200
        assert await legit(srv.port) == 200
    one_line_logs(caplog)


async def test_a_flood_of_connections_stays_under_the_cap() -> None:
    async with server() as (srv, _router):
        peak = 0
        socks = []
        for _ in range(10):
            socks += [await asyncio.open_connection("127.0.0.1", srv.port) for _ in range(30)]
            await asyncio.sleep(0.01)
            peak = max(peak, srv.connections)
            assert await legit(srv.port) == 200
        assert peak <= LIMITS.max_connections
        for _reader, writer in socks:
            writer.close()
