"""The shared client's rules for calls with a side effect: sent once, per-request headers,
limited patience for rate limits, the platform's own error bodies handed back."""

from __future__ import annotations

import httpx
import pytest

from cockpit.collect.http import ApiClient, Backoff, MaybeSent, RateLimited, retry_after


async def no_sleep(seconds: float) -> None:
    return None


def client(handler: httpx.MockTransport, **kw: object) -> ApiClient:
    return ApiClient(
        "test source",
        "https://api.example/v1",
        headers={"Authorization": "Bot SECRET-TOKEN-123"},
        transport=handler,
        sleep=no_sleep,
        backoff=Backoff(max_attempts=4),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_5xx_on_a_post_is_maybe_sent_and_never_resent(status: int) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={"message": "oops"})

    async with client(httpx.MockTransport(answer)) as c:
        with pytest.raises(MaybeSent) as caught:
            await c.request("POST", "/things", json={"a": 1})
    assert len(seen) == 1
    assert "SECRET-TOKEN-123" not in str(caught.value)


async def test_a_5xx_on_a_get_is_still_retried() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) < 3 else 200, json={})

    async with client(httpx.MockTransport(answer)) as c:
        response = await c.request("GET", "/things")
    assert response.status_code == 200 and len(seen) == 3


async def test_a_side_effect_marked_not_idempotent_is_sent_once_even_as_put() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadError("connection reset", request=request)

    async with client(httpx.MockTransport(answer)) as c:
        with pytest.raises(MaybeSent):
            await c.request("PUT", "/bans/1", idempotent=False)
    assert len(seen) == 1


async def test_per_request_headers_and_ok_statuses_include_403() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(403, json={"message": "Missing Permissions", "code": 50013})

    async with client(httpx.MockTransport(answer)) as c:
        response = await c.request(
            "DELETE",
            "/m/1",
            headers={"X-Audit-Log-Reason": "spam%20wave"},
            ok_statuses=frozenset({403}),
        )
        assert response.status_code == 403 and response.json()["code"] == 50013
        await c.request("GET", "/m/2", ok_statuses=frozenset({403}))
    assert seen[0].headers["x-audit-log-reason"] == "spam%20wave"
    assert seen[0].headers["authorization"] == "Bot SECRET-TOKEN-123"
    assert "x-audit-log-reason" not in seen[1].headers  # for that request only


async def test_a_rate_limit_past_patience_is_rate_limited() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, json={"retry_after": 120.0}, headers={"Retry-After": "120"})

    async with client(httpx.MockTransport(answer)) as c:
        with pytest.raises(RateLimited) as caught:
            await c.request("POST", "/things", max_wait=30)
    assert caught.value.retry_after == 120 and len(seen) == 1


def test_discourse_wait_seconds_is_read() -> None:
    response = httpx.Response(
        429, json={"errors": ["wait"], "error_type": "rate_limit", "extras": {"wait_seconds": 9}}
    )
    assert retry_after(response, now=0) == 9
