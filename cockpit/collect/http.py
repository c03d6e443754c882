"""The HTTP client every connector shares: rate limits, backoff and clear auth errors.

One place decides how long to wait: the platform's own rate-limit headers (Discord's
`X-RateLimit-*`, the IETF `RateLimit-*`), a 429's `Retry-After` (header, or `retry_after`
in the JSON body as Discord and Telegram send it, Discourse's `extras.wait_seconds`),
exponential backoff with jitter on network errors and 5xx. A refused token or a missing
permission is an `AuthError`: one line the operator can act on, and the connector stops
instead of retrying forever.

- A global 429 (Discord's `X-RateLimit-Global` / `X-RateLimit-Scope: global`) pauses every
  client that shares the `Gate` (all the buckets of one bot), not only the one that got it.
- 429s are retried, but not for ever: `Backoff.max_limited` in a row is an `ApiError`.
- A request that is not idempotent (POST, PATCH) is never retried after a transport error
  that may have come after it was sent, nor after a 5xx (the platform may have acted before
  failing): that is a `MaybeSent`, for the caller to check; only a refused connection is
  retried.
- A caller with limited patience (`max_wait`) gets a `RateLimited` instead of a longer wait.
- The secrets a client is given (and its credential headers) never appear in an error or
  a log line: a token in the base URL (Telegram's `/bot<token>`) is redacted too.

Clock, sleep and randomness are injectable so tests never wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from cockpit.errors import CockpitError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
RESET_MARGIN = 0.05  # seconds added to a bucket's announced reset
WaitHook = Callable[[float, str], None]
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})  # RFC 9110 section 9.2.2
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key"})
REDACTED = "[redacted]"
# connecting failed: nothing was sent, so even a POST may be tried again
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


class ApiError(CockpitError):
    """A platform call that failed after the retries it deserved (one line, no secrets)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(ApiError):
    """A bad token or a missing permission: retrying cannot help, the operator must act."""


class MaybeSent(ApiError):
    """A call that is not idempotent failed after it may have reached the platform.

    Never retried: whether it took effect is for the caller to check (an actor's `verify`).
    """


class RateLimited(ApiError):
    """A 429 asked for a longer wait than the caller's `max_wait`; `retry_after` in seconds."""

    def __init__(self, message: str, status: int | None, retry_after: float) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


@dataclass
class ClientStats:
    requests: int = 0
    rate_limit_waits: int = 0
    rate_limit_wait_s: float = 0.0
    retries: int = 0


@dataclass(frozen=True)
class Backoff:
    base: float = 1.0
    cap: float = 60.0
    max_attempts: int = 8  # network errors in a row before giving up to the supervisor
    max_limited: int = 20  # 429 answers in a row before giving up to the supervisor

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        """Exponential with jitter in [half, full] of the step, so never a tight loop."""
        step = min(self.cap, self.base * 2.0 ** max(0, attempt - 1))
        return float(step * (0.5 + rng() / 2))


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


@dataclass
class Gate:
    """A pause shared by the clients of one account: a global rate limit stops them all."""

    until: float = 0.0  # on the clients' clock


def _header_seconds(value: str | None, now: float) -> float | None:
    """`Retry-After` as delay-seconds, or as an HTTP date (RFC 9110 section 10.2.3)."""
    seconds = _float(value)
    if seconds is not None or not value:
        return seconds
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        return None
    return max(0.0, when.timestamp() - now)


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds a 429 asks us to wait: header (seconds or a date), or the body's `retry_after`."""
    wall = time.time() if now is None else now
    header = _header_seconds(response.headers.get("retry-after"), wall)
    body: Any = None
    with contextlib.suppress(ValueError):
        body = response.json()
    if isinstance(body, dict):
        # Discord's body, Telegram's `parameters`, Discourse's `extras.wait_seconds`
        for holder, key in (
            (body, "retry_after"),
            (body.get("parameters"), "retry_after"),
            (body.get("extras"), "wait_seconds"),
        ):
            if isinstance(holder, dict):
                value = holder.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
                    return max(float(value), header or 0.0)
    return header


def is_global(response: httpx.Response) -> bool:
    """A 429 for the whole account (Discord), not for one route."""
    h = response.headers
    flag = str(h.get("x-ratelimit-global", "")).lower()
    return flag == "true" or str(h.get("x-ratelimit-scope", "")).lower() == "global"


def describe(response: httpx.Response) -> str:
    """The platform's own short reason for a failed call (never the request URL)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("description", "message", "error", "errors"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:200]
            if isinstance(value, list) and value and isinstance(value[0], str):
                return value[0][:200]
    return response.reason_phrase or f"HTTP {response.status_code}"


def checked_url(label: str, url: str) -> str:
    """`url` if httpx can connect to it, else an ApiError naming it (a bad port or host).

    httpx accepts ports past 65535 and only fails, deep in a retry loop, at connect time.
    Only the scheme and host are echoed: the path may carry a token (Telegram's does).
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ApiError(f"{label}: the base URL is not valid ({exc})") from None
    port = parsed.port
    if port is not None and not 0 < port <= 65535:
        raise ApiError(
            f"{label}: {parsed.scheme}://{parsed.host}: port {port} is out of range (1 to 65535)"
        )
    return url


class ApiClient:
    """An httpx client for one platform endpoint that waits as the platform asks."""

    def __init__(
        self,
        label: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        on_wait: WaitHook | None = None,
        auth_hint: str = "check the token in the source's settings",
        transport: httpx.AsyncBaseTransport | None = None,
        secrets: Iterable[str] = (),
        gate: Gate | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.label = label
        self.base_url = checked_url(label, base_url.rstrip("/"))
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self.on_wait = on_wait
        self.auth_hint = auth_hint
        self.stats = ClientStats()
        self.gate = gate or Gate()
        self.wall = wall
        self._blocked_until = 0.0
        self._gate_waited = 0.0  # the gate's deadline this client has already waited out
        self.secrets: tuple[str, ...] = ()
        self.keep_secret(*secrets)
        for name, value in (headers or {}).items():
            if name.lower() in SECRET_HEADERS and value:
                # the whole value, and the token of "Bearer <token>", "Bot <token>"
                self.keep_secret(value, value.partition(" ")[2])
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=dict(headers or {}),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def keep_secret(self, *secrets: str) -> None:
        """Never show these in an error or a log line (too short ones would hide too much)."""
        found = {*self.secrets, *(s for s in secrets if len(s) >= 4)}
        # longest first, so a token inside a longer secret is not left half-visible
        self.secrets = tuple(sorted(found, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """`text` without any of this client's secrets in it."""
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def error(self, message: str, status: int | None = None) -> ApiError:
        """An ApiError whose message carries no secret (for callers' own checks, too)."""
        return ApiError(self.redact(message), status)

    def auth_error(self, message: str, status: int | None = None) -> AuthError:
        return AuthError(self.redact(message), status)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _wait(self, seconds: float, why: str) -> None:
        self.stats.rate_limit_waits += 1
        self.stats.rate_limit_wait_s += seconds
        if self.on_wait is not None:
            self.on_wait(seconds, why)
        log.info("%s: rate limited (%s), waiting %.2f s", self.redact(self.label), why, seconds)
        await self.sleep(seconds)

    def _note_limits(self, response: httpx.Response) -> None:
        h = response.headers
        remaining = _float(h.get("x-ratelimit-remaining") or h.get("ratelimit-remaining"))
        reset = _float(h.get("x-ratelimit-reset-after") or h.get("ratelimit-reset"))
        if remaining is not None and remaining < 1 and reset is not None:
            # the reset is rounded to milliseconds; a little margin avoids a needless 429
            self._blocked_until = max(self._blocked_until, self.clock() + reset + RESET_MARGIN)

    async def request(
        self,
        method: str,
        path: str,
        *,
        what: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        timeout: float | None = None,
        ok_statuses: frozenset[int] = frozenset(),
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        max_wait: float | None = None,
    ) -> httpx.Response:
        """Send one call, waiting and retrying as needed; 2xx (or `ok_statuses`) comes back.

        `idempotent` defaults to what the method promises; a POST that only reads (an RPC
        API's getter) may say True, so a lost answer is asked for again. A call that is not
        idempotent raises `MaybeSent` when it may have reached the platform (a transport
        error after sending, a 5xx). `headers` are added to this request only (Discord's
        `X-Audit-Log-Reason`). `ok_statuses` come back as they are, 401 and 403 included
        (for callers that read the platform's own error body). A 429 asking for more than
        `max_wait` seconds raises `RateLimited`.
        """
        what = what or path
        if idempotent is None:
            idempotent = method.upper() in IDEMPOTENT
        failures = 0  # network errors and 5xx in a row: these give up after max_attempts
        limited = 0  # 429s in a row: these give up after max_limited
        while True:
            gate = self.gate.until
            if gate > self._gate_waited and gate - self.clock() > 0:
                self._gate_waited = gate
                await self._wait(gate - self.clock(), "global limit")
            pause = self._blocked_until - self.clock()
            if pause > 0:
                await self._wait(pause, "bucket empty")
            self.stats.requests += 1
            try:
                response = await self._http.request(
                    method,
                    path,
                    params=params,
                    json=json,
                    headers=headers,
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError as exc:
                failures += 1
                if not idempotent and not isinstance(exc, _NOT_SENT):
                    raise MaybeSent(
                        self.redact(
                            f"{self.label}: {method} {what} failed ({type(exc).__name__}) and "
                            "is not retried: it may have reached the platform"
                        )
                    ) from None
                if failures >= self.backoff.max_attempts:
                    raise self.error(
                        f"{self.label}: cannot reach {self.base_url} ({type(exc).__name__}) "
                        f"after {failures} attempts"
                    ) from None
                delay = self.backoff.delay(failures, self.rng)
                self.stats.retries += 1
                log.warning(
                    "%s: %s failed (%s), retry %d in %.1f s",
                    self.redact(self.label),
                    self.redact(what),
                    type(exc).__name__,
                    failures,
                    delay,
                )
                await self.sleep(delay)
                continue
            self._note_limits(response)
            status = response.status_code
            if status == 429:
                limited += 1
                if limited > self.backoff.max_limited:
                    raise self.error(
                        f"{self.label}: {what} still rate limited after {limited - 1} retries "
                        f"(HTTP 429: {describe(response)})",
                        status,
                    )
                wait = retry_after(response, self.wall())
                if wait is None:
                    wait = self.backoff.delay(limited, self.rng)
                wait = max(wait, 0.05)
                if max_wait is not None and wait > max_wait:
                    raise RateLimited(
                        self.redact(
                            f"{self.label}: {what} is rate limited for {wait:.0f} s more "
                            f"(HTTP 429: {describe(response)})"
                        ),
                        status,
                        wait,
                    )
                if is_global(response):  # every client of this account waits it out
                    self.gate.until = max(self.gate.until, self.clock() + wait)
                    self._gate_waited = self.gate.until
                await self._wait(wait, "429")
                continue
            limited = 0
            if status in ok_statuses:
                return response
            if status in (401, 403):
                kind = "refused the token" if status == 401 else "denied permission"
                raise self.auth_error(
                    f"{self.label}: the API {kind} for {what} (HTTP {status}: "
                    f"{describe(response)}); {self.auth_hint}",
                    status,
                )
            if status >= 500 and not idempotent:
                raise MaybeSent(
                    self.redact(
                        f"{self.label}: {method} {what} failed with HTTP {status} and is not "
                        "retried: the platform may have acted before failing"
                    ),
                    status,
                )
            if status >= 500 or status == 408:
                failures += 1
                if failures >= self.backoff.max_attempts:
                    raise self.error(
                        f"{self.label}: {what} failed with HTTP {status} after {failures} attempts",
                        status,
                    )
                self.stats.retries += 1
                await self.sleep(self.backoff.delay(failures, self.rng))
                continue
            if status >= 400:
                raise self.error(
                    f"{self.label}: {what} failed (HTTP {status}: {describe(response)})", status
                )
            return response

    async def get_json(self, path: str, **kw: Any) -> Any:
        response = await self.request("GET", path, **kw)
        return decode(response, self.redact(self.label), kw.get("what") or path)


def decode(response: httpx.Response, label: str, what: str) -> Any:
    """The JSON body, or an ApiError saying the platform answered something else."""
    try:
        return response.json()
    except ValueError:
        raise ApiError(f"{label}: {what} answered with something that is not JSON") from None
