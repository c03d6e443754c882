"""The shared HTTP client against a real local server: rate limits, backoff, auth errors."""

from __future__ import annotations

import httpx
import pytest
from fakeplatform import FakePlatform, FakeSleep, json_response, serve

from cockpit.collect.http import (
    RESET_MARGIN,
    ApiClient,
    ApiError,
    AuthError,
    Backoff,
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
