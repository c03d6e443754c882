"""The Discord Gateway: one WebSocket session kept alive, resumed, and handed its dispatches.

HELLO starts the heartbeat (the first beat after a random part of the interval, as Discord
asks); a beat whose ACK has not come back when the next is due means a zombie connection,
which is closed and resumed. IDENTIFY opens a session, RESUME (on `resume_gateway_url`, with
the last sequence number) continues it after a disconnect, RECONNECT (op 7) or an
INVALID_SESSION that allows it; INVALID_SESSION d=false, and close codes 4007/4009, start a
new one. Close codes that no retry can fix (bad token, disallowed intents, ...) end the
source with one line saying what to change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from cockpit.plugin_kit import AuthError, Backoff, ConnectorHealth, Sleep

from .settings import PRIVILEGED

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, INVALID_SESSION, HELLO, ACK = (
    0,
    1,
    2,
    6,
    7,
    9,
    10,
    11,
)
NEW_SESSION_CODES = frozenset({4007, 4009})  # bad sequence, session timed out
_FATAL = {
    4004: "Discord refused the token (Gateway close 4004); check `token`",
    4010: "Discord refused the shard (Gateway close 4010: invalid shard)",
    4011: "Discord requires sharding for this bot (Gateway close 4011); it is in too many guilds",
    4012: "Discord refused the Gateway API version (close 4012); check `gateway_url`",
    4013: "Discord refused the intents (Gateway close 4013: invalid intents); check `intents`",
}
_RESUMABLE = 4900  # our own close code: not 1000/1001, which would end the session
_MAX_SIZE = 64 << 20  # a large guild's GUILD_CREATE runs to megabytes

Dispatch = Callable[[str, Any, int | None], Awaitable[None]]
Ready = Callable[[bool], Awaitable[None]]


class GatewayFatal(AuthError):
    """A close no retry can fix; like a bad token, the source stops and says what to change."""


def disallowed_intents(label: str, intents: list[str]) -> GatewayFatal:
    """Close 4014: name the privileged intents to switch on in the developer portal."""
    wanted = [f"{PRIVILEGED[i]} ({i})" for i in intents if i in PRIVILEGED]
    names = ", ".join(wanted) or "the privileged intents"
    return GatewayFatal(
        f"{label}: Discord closed the Gateway with 4014 (disallowed intents): enable {names} "
        "for this bot in the developer portal (Applications → your app → Bot → Privileged "
        "Gateway Intents), or remove them from `intents`",
        4014,
    )


@dataclass
class Session:
    session_id: str
    resume_url: str


class _Reconnect(Exception):
    """Leave this connection; `fresh` drops the session so the next one identifies."""

    def __init__(self, why: str, fresh: bool = False) -> None:
        super().__init__(why)
        self.fresh = fresh


class _Closed(Exception):
    """The Gateway closed the connection (a normal end of iteration), with its code."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"closed with {code}")
        self.code = code


def _code(exc: ConnectionClosed | _Closed) -> int | None:
    if isinstance(exc, _Closed):
        return exc.code
    return exc.rcvd.code if exc.rcvd is not None else None


class Gateway:
    """Runs until cancelled or fatally closed, calling `on_ready` and `on_dispatch`."""

    def __init__(
        self,
        label: str,
        token: str,
        intents: list[str],
        intent_bits: int,
        url: Callable[[], Awaitable[str]],
        on_dispatch: Dispatch,
        on_ready: Ready,
        on_disconnect: Callable[[], None],
        health: ConnectorHealth,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        backoff: Backoff | None = None,
    ) -> None:
        self.label = label
        self.token = token
        self.intents = intents
        self.intent_bits = intent_bits
        self.url = url
        self.on_dispatch = on_dispatch
        self.on_ready = on_ready
        self.on_disconnect = on_disconnect
        self.health = health
        self.sleep = sleep
        self.rng = rng
        self.backoff = backoff or Backoff(base=1.0, cap=60.0)
        self.session: Session | None = None
        self.seq: int | None = None
        self.connects = 0
        self._acked = True
        self._zombie = False
        self._was_ready = False  # this connection reached READY or RESUMED

    async def run(self) -> None:
        failures = 0
        while True:
            wait: float | None = None
            try:
                url = self.session.resume_url if self.session else await self.url()
                await self._connection(url)
            except _Reconnect as exc:
                log.info("%s: reconnecting (%s)", self.label, exc)
                if exc.fresh:  # Discord asks for a random 1-5 s before identifying again
                    self.session, self.seq = None, None
                wait = 1 + 4 * self.rng() if exc.fresh else 0.0
            except (ConnectionClosed, _Closed) as exc:
                code = _code(exc)
                self._fatal(code)
                if code in NEW_SESSION_CODES:
                    self.session, self.seq = None, None
                why = f"closed with {code}" if code else "connection lost"
                self.health.failing(f"Gateway {why}; reconnecting")
            except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
                self.health.failing(f"Gateway unreachable ({type(exc).__name__}); retrying")
            finally:
                self.on_disconnect()
            # a connection that got going resets the backoff; one that did not grows it
            failures = 1 if self._was_ready else failures + 1
            self._was_ready = False
            if failures > 1 or (wait is None and self.session is None):
                wait = max(wait or 0.0, self.backoff.delay(failures, self.rng))
            if wait:
                await self.sleep(wait)

    def _fatal(self, code: int | None) -> None:
        if code == 4014:
            raise disallowed_intents(self.label, self.intents)
        if code in _FATAL:
            raise GatewayFatal(f"{self.label}: {_FATAL[code]}", code)

    async def _connection(self, url: str) -> None:
        sep = "&" if "?" in url else "?"
        async with connect(
            f"{url.rstrip('/')}{sep}v=10&encoding=json", proxy=None, max_size=_MAX_SIZE
        ) as ws:
            self.connects += 1
            hello = _frame(await asyncio.wait_for(ws.recv(), 30))
            interval = hello.get("d", {}).get("heartbeat_interval") if hello else None
            if not hello or hello.get("op") != HELLO or not isinstance(interval, int | float):
                await ws.close(_RESUMABLE, "no HELLO")
                raise _Reconnect("the Gateway did not say HELLO")
            self._acked, self._zombie = True, False
            beat = asyncio.create_task(self._heartbeat(ws, interval / 1000))
            try:
                await ws.send(json.dumps(self._login()))
                async for message in ws:
                    await self._handle(ws, _frame(message))
            except _Reconnect as exc:
                # 1000 would end the session; any other code keeps it resumable
                await ws.close(1000 if exc.fresh else _RESUMABLE, str(exc))
                raise
            except ConnectionClosed:
                if not self._zombie:
                    raise
            finally:
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat
            if self._zombie:
                raise _Reconnect("no heartbeat ACK")
            rcvd = ws.protocol.close_rcvd
            raise _Closed(rcvd.code if rcvd is not None else None)

    def _login(self) -> dict[str, Any]:
        if self.session is not None:
            resume = {"token": self.token, "session_id": self.session.session_id, "seq": self.seq}
            return {"op": RESUME, "d": resume}
        props = {"os": "linux", "browser": "community-cockpit", "device": "community-cockpit"}
        identify = {"token": self.token, "intents": self.intent_bits, "properties": props}
        return {"op": IDENTIFY, "d": identify}

    async def _heartbeat(self, ws: ClientConnection, interval: float) -> None:
        await asyncio.sleep(interval * self.rng())
        while True:
            if not self._acked:
                log.warning("%s: no heartbeat ACK; reconnecting", self.label)
                self._zombie = True
                await ws.close(_RESUMABLE, "heartbeat ACK missed")
                return
            self._acked = False
            await ws.send(json.dumps({"op": HEARTBEAT, "d": self.seq}))
            await asyncio.sleep(interval)

    async def _handle(self, ws: ClientConnection, frame: dict[str, Any] | None) -> None:
        if frame is None:
            log.warning("%s: a Gateway frame that is not a JSON object was ignored", self.label)
            return
        op = frame.get("op")
        if op == DISPATCH:
            seq = frame.get("s")
            if isinstance(seq, int):
                self.seq = seq
            await self._dispatch(
                frame.get("t"), frame.get("d"), seq if isinstance(seq, int) else None
            )
        elif op == ACK:
            self._acked = True
        elif op == HEARTBEAT:
            await ws.send(json.dumps({"op": HEARTBEAT, "d": self.seq}))
        elif op == RECONNECT:
            raise _Reconnect("Discord asked to reconnect (op 7)")
        elif op == INVALID_SESSION:
            resumable = frame.get("d") is True
            raise _Reconnect("invalid session", fresh=not resumable)

    async def _dispatch(self, event: object, d: Any, seq: int | None) -> None:
        if event == "READY" and isinstance(d, dict):
            sid, resume = d.get("session_id"), d.get("resume_gateway_url")
            if isinstance(sid, str) and isinstance(resume, str):
                self.session = Session(sid, resume)
            self._was_ready = True
            self.health.ok(detail="Gateway ready")
            await self.on_ready(False)
        elif event == "RESUMED":
            self._was_ready = True
            self.health.ok(detail="Gateway resumed")
            await self.on_ready(True)
        elif isinstance(event, str):
            await self.on_dispatch(event, d, seq)


def _frame(message: str | bytes) -> dict[str, Any] | None:
    try:
        frame = json.loads(message)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None
