"""The shared HTTP client against a real local server: rate limits, backoff, auth errors."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.utils import formatdate

import httpx
import pytest
from fakeplatform import FakePlatform, FakeSleep, json_response, serve

from cockpit.collect.health import ConnectorHealth
from cockpit.collect.http import (
    RESET_MARGIN,
    ApiClient,
    ApiError,
    AuthError,
    Backoff,
    Gate,
    retry_after,
)
from cockpit.collect.webhooks import Request, Response


async def test_429_retry_after_header_and_body_are_obeyed() -> None:
    fake = FakePlatform()
    answers = [
        json_response(429, {"message": "slow down", "retry_after": 2.5}, {"Retry-After": "2"}),
        json_response(429, {"ok": False, "parameters": {"retry_after": 7}}),
        json_response(429, {}, {"Retry-After": "3"}),
        json_response(200, {"ok": True}),
    ]

    async def handler(request: Request) -> Response:
        return answers.pop(0)

    fake.route("/thing", handler)
    sleep = FakeSleep()
    async with serve(fake):
        waited: list[float] = []
        client = ApiClient(
            "test", fake.base_url, sleep=sleep, on_wait=lambda s, why: waited.append(s)
        )
        async with client:
            assert await client.get_json("/thing") == {"ok": True}
    assert sleep.waits == [2.5, 7.0, 3.0]
    assert waited == [2.5, 7.0, 3.0]
    assert client.stats.rate_limit_waits == 3
    assert len(fake.requests) == 4


async def test_a_long_429_storm_then_a_5xx_does_not_give_up() -> None:
    """429s say when to come back; only network errors and 5xx count toward giving up."""
    fake = FakePlatform()
    answers = [json_response(429, {"retry_after": 0.5}) for _ in range(6)]
    answers += [json_response(502, {}), json_response(200, {"ok": True})]

    async def handler(request: Request) -> Response:
        return answers.pop(0)

    fake.route("/storm", handler)
    sleep = FakeSleep()
    async with serve(fake):
        client = ApiClient("t", fake.base_url, sleep=sleep, backoff=Backoff(max_attempts=2))
        async with client:
            assert await client.get_json("/storm") == {"ok": True}
    assert client.stats.rate_limit_waits == 6 and client.stats.retries == 1
    assert len(fake.requests) == 8


async def test_empty_bucket_waits_for_reset_before_the_next_call() -> None:
    fake = FakePlatform()

    async def handler(request: Request) -> Response:
        return json_response(
            200, [], {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "1.5"}
        )

    fake.route("/m", handler)
    sleep = FakeSleep()
    now = [100.0]
    async with (
        serve(fake),
        ApiClient("t", fake.base_url, sleep=sleep, clock=lambda: now[0]) as client,
    ):
        await client.get_json("/m")
        assert sleep.waits == []
        now[0] += 0.5
        await client.get_json("/m")
    assert sleep.waits == [pytest.approx(1.0 + RESET_MARGIN)]


async def test_401_is_one_clear_line_without_retrying() -> None:
    fake = FakePlatform()

    async def handler(request: Request) -> Response:
        return json_response(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})

    fake.route("/botSECRET/getMe", handler)
    async with (
        serve(fake),
        ApiClient("telegram source 'x'", fake.base_url, sleep=FakeSleep()) as client,
    ):
        with pytest.raises(AuthError) as err:
            await client.request("POST", "/botSECRET/getMe", what="getMe")
    message = str(err.value)
    assert message == (
        "telegram source 'x': the API refused the token for getMe "
        "(HTTP 401: Unauthorized); check the token in the source's settings"
    )
    assert "SECRET" not in message and "\n" not in message
    assert len(fake.requests) == 1


async def test_403_names_the_missing_permission() -> None:
    fake = FakePlatform()

    async def handler(request: Request) -> Response:
        return json_response(403, {"message": "Missing Access", "code": 50001})

    fake.route("/channels/1/messages", handler)
    async with (
        serve(fake),
        ApiClient("discord", fake.base_url, auth_hint="give the bot access") as c,
    ):
        with pytest.raises(AuthError, match=r"denied permission .*Missing Access.*access"):
            await c.get_json("/channels/1/messages")


async def test_network_errors_back_off_exponentially_with_jitter_then_give_up() -> None:
    sleep = FakeSleep()
    client = ApiClient(
        "t",
        "http://127.0.0.1:9",
        sleep=sleep,
        rng=lambda: 1.0,
        backoff=Backoff(base=1.0, cap=5.0, max_attempts=5),
        transport=httpx.AsyncHTTPTransport(retries=0),
    )
    async with client:
        with pytest.raises(ApiError, match=r"cannot reach http://127.0.0.1:9 .* after 5 attempts"):
            await client.get_json("/x")
    assert sleep.waits == [1.0, 2.0, 4.0, 5.0]
    low = Backoff(base=1.0, cap=60.0)
    assert low.delay(3, lambda: 0.0) == 2.0  # half of the 4 s step: never a tight loop


async def test_5xx_is_retried_and_4xx_is_an_error() -> None:
    fake = FakePlatform()
    answers = [json_response(502, {}), json_response(200, {"n": 1})]

    async def flaky(request: Request) -> Response:
        return answers.pop(0)

    async def bad(request: Request) -> Response:
        return json_response(400, {"message": "Invalid Form Body"})

    fake.route("/flaky", flaky)
    fake.route("/bad", bad)
    async with serve(fake), ApiClient("t", fake.base_url, sleep=FakeSleep()) as client:
        assert await client.get_json("/flaky") == {"n": 1}
        with pytest.raises(ApiError, match=r"^t: /bad failed \(HTTP 400: Invalid Form Body\)$"):
            await client.get_json("/bad")


def test_retry_after_prefers_the_longer_of_header_and_body() -> None:
    r = httpx.Response(429, headers={"Retry-After": "5"}, json={"retry_after": 0.25})
    assert retry_after(r) == 5.0
    assert retry_after(httpx.Response(429, text="no")) is None


# --- issue 17: Discord's global limit, capped 429s, HTTP dates, unsafe retries -----------------


async def test_a_global_429_pauses_every_client_that_shares_the_gate() -> None:
    """Discord's global limit is per bot: the other channels' clients must wait it out too."""
    fake = FakePlatform()
    answers = [
        json_response(
            429,
            {"message": "You are being rate limited.", "retry_after": 4.0, "global": True},
            {"Retry-After": "4", "X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"},
        ),
        json_response(200, {"ok": "a"}),
    ]

    async def first(request: Request) -> Response:
        return answers.pop(0)

    async def second(request: Request) -> Response:
        return json_response(200, {"ok": "b"})

    fake.route("/a", first)
    fake.route("/b", second)
    gate = Gate()
    sleep_a, sleep_b = FakeSleep(), FakeSleep()
    clock = lambda: 100.0  # noqa: E731 - a clock only the test moves
    async with serve(fake):
        a = ApiClient("a", fake.base_url, sleep=sleep_a, clock=clock, gate=gate)
        b = ApiClient("b", fake.base_url, sleep=sleep_b, clock=clock, gate=gate)
        async with a, b:
            assert await a.get_json("/a") == {"ok": "a"}
            assert await b.get_json("/b") == {"ok": "b"}
            assert await a.get_json("/b") == {"ok": "b"}  # a waited this one out already
    assert sleep_a.waits == [4.0] and sleep_b.waits == [4.0]
    assert gate.until == 104.0


def test_the_discord_rest_clients_of_one_bot_share_one_gate() -> None:
    from cockpit.plugins.discord.rest import DiscordRest

    rest = DiscordRest("d", "http://127.0.0.1:9", "t0ken", ConnectorHealth("d"))
    assert rest.client("1").gate is rest.client("2").gate is rest.gate


async def test_429s_are_retried_with_a_cap() -> None:
    fake = FakePlatform()

    async def handler(request: Request) -> Response:
        if len(fake.requests) > 50:  # a client without a cap would get here and succeed
            return json_response(200, {"ok": True})
        return json_response(429, {"message": "slow down", "retry_after": 0.1})

    fake.route("/busy", handler)
    sleep = FakeSleep()
    async with serve(fake):
        client = ApiClient("t", fake.base_url, sleep=sleep, backoff=Backoff(max_limited=3))
        async with client:
            with pytest.raises(ApiError, match=r"still rate limited after 3 retries \(HTTP 429"):
                await client.get_json("/busy")
    assert len(fake.requests) == 4 and sleep.waits == [0.1] * 3


async def test_retry_after_as_an_http_date_is_honoured() -> None:
    now = 1_760_000_000.0
    fake = FakePlatform()
    answers = [
        json_response(
            429, {"message": "later"}, {"Retry-After": formatdate(now + 30, usegmt=True)}
        ),
        json_response(200, {"ok": True}),
    ]

    async def handler(request: Request) -> Response:
        return answers.pop(0)

    fake.route("/later", handler)
    sleep = FakeSleep()
    async with serve(fake):
        client = ApiClient("t", fake.base_url, sleep=sleep, wall=lambda: now)
        async with client:
            assert await client.get_json("/later") == {"ok": True}
    assert sleep.waits == [30.0]
    past = httpx.Response(429, headers={"Retry-After": formatdate(now - 5, usegmt=True)})
    assert retry_after(past, now) == 0.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"}), now) is None


@asynccontextmanager
async def hanging_up() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server that reads each request and closes the connection without an answer."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        server.close()
        await server.wait_closed()


async def test_a_post_is_never_sent_again_after_a_transport_error() -> None:
    """The request may have reached the platform: sending it again could act twice."""
    sleep = FakeSleep()
    async with hanging_up() as (base, seen):
        client = ApiClient("t", base, sleep=sleep, backoff=Backoff(max_attempts=4))
        async with client:
            with pytest.raises(
                ApiError, match=r"POST /act failed \(RemoteProtocolError\) and is not"
            ):
                await client.request("POST", "/act", json={"ban": 1})
            assert len(seen) == 1 and sleep.waits == []
            with pytest.raises(ApiError, match="cannot reach"):
                await client.request("GET", "/read")  # a read is tried again
            assert len(seen) == 1 + 4
            with pytest.raises(ApiError, match="cannot reach"):
                await client.request("POST", "/getUpdates", idempotent=True)
    assert len(seen) == 1 + 4 + 4


async def test_a_refused_connection_is_retried_even_for_a_post() -> None:
    """Nothing was sent when the connection was refused, so trying again is safe."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleep = FakeSleep()
    client = ApiClient(
        "t", f"http://127.0.0.1:{port}", sleep=sleep, backoff=Backoff(max_attempts=3)
    )
    async with client:
        with pytest.raises(ApiError, match=r"cannot reach .* after 3 attempts"):
            await client.request("POST", "/act")
    assert len(sleep.waits) == 2
