"""A loopback HTTP/1.1 server for the platform stand-ins: routes by method and path template,
records every request, and can be told to drop the connection once a request has arrived,
or to hold it: the request takes effect and the answer never comes.

It is a small asyncio server rather than uvicorn so a fault is exact: `drop` closes the TCP
connection after the whole request was read and recorded, with no answer at all (what a
crash or a cut line looks like to the client: the call may have taken effect).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class Seen:
    """One request as it arrived."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-encoded unless bytes
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Seen, dict[str, str]], Reply | Awaitable[Reply]]


def _pattern(template: str) -> re.Pattern[str]:
    """`/guilds/{gid}/bans/{uid}` as a regex with named groups (a group never spans a `/`)."""
    out, pos = [], 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out.append(re.escape(template[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out) + "$")


class StandIn:
    """A platform stand-in: subclasses add routes; tests read `requests` and script faults."""

    prefix = ""  # the path the base URL ends with (Discord's /api/v10)

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[Seen] = []
        self.drops: list[tuple[str, re.Pattern[str]]] = []
        self.scripted: list[tuple[str, re.Pattern[str], Reply]] = []
        self.holds: list[tuple[str, re.Pattern[str], asyncio.Event]] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def route(self, method: str, template: str, handler: Handler) -> None:
        self.routes.append((method, _pattern(self.prefix + template), handler))

    def drop(self, method: str, template: str) -> None:
        """The next matching request is read, recorded, then the connection is cut unanswered."""
        self.drops.append((method, _pattern(self.prefix + template)))

    def hold(self, method: str, template: str) -> asyncio.Event:
        """The next matching request takes effect (as the platform would) but its answer is
        never sent: the connection stays open until the client goes. The event is set once
        the request has been handled (the moment to kill the client mid-call)."""
        arrived = asyncio.Event()
        self.holds.append((method, _pattern(self.prefix + template), arrived))
        return arrived

    def script(self, method: str, template: str, reply: Reply) -> None:
        """The next matching request gets `reply` (after it is recorded)."""
        self.scripted.append((method, _pattern(self.prefix + template), reply))

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        """Requests so far, optionally only those of `method` whose path ends with `path`."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path.endswith(path))
        ]

    def calls(self) -> list[tuple[str, str]]:
        """(method, path without the prefix) of every request, in order."""
        return [(r.method, r.path.removeprefix(self.prefix)) for r in self.requests]

    async def __aenter__(self) -> StandIn:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def check_auth(self, request: Seen) -> Reply | None:
        """A refusal for a bad credential, or None (subclasses decide)."""
        return None

    async def _answer(self, request: Seen) -> Reply | None:
        for i, (method, pattern, reply) in enumerate(self.scripted):
            if method == request.method and pattern.match(request.path):
                del self.scripted[i]
                return reply
        refused = self.check_auth(request)
        if refused is not None:
            return refused
        for method, pattern, handler in self.routes:
            m = pattern.match(request.path)
            if method == request.method and m:
                answer = handler(request, {k: unquote(v) for k, v in m.groupdict().items()})
                if not isinstance(answer, Reply):
                    answer = await answer
                return answer
        return Reply(404, {"message": "404: Not Found", "code": 0})

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                url = urlsplit(target)
                request = Seen(method, url.path, parse_qs(url.query), headers, body)
                self.requests.append(request)
                for i, (m, pattern) in enumerate(self.drops):
                    if m == method and pattern.match(url.path):
                        del self.drops[i]
                        writer.transport.abort()
                        return
                reply = await self._answer(request)
                assert reply is not None
                for i, (m, pattern, arrived) in enumerate(self.holds):
                    if m == method and pattern.match(url.path):
                        del self.holds[i]
                        arrived.set()
                        await reader.read()  # until the client closes (or dies)
                        return
                writer.write(_encode(reply))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()


def _encode(reply: Reply) -> bytes:
    if isinstance(reply.body, bytes):
        data, kind = reply.body, "application/octet-stream"
    elif reply.body is None and reply.status == 204:
        data, kind = b"", ""
    else:
        data, kind = json.dumps(reply.body).encode(), "application/json"
    try:
        phrase = HTTPStatus(reply.status).phrase
    except ValueError:
        phrase = "Status"
    head = [f"HTTP/1.1 {reply.status} {phrase}", f"Content-Length: {len(data)}"]
    if kind:
        head.append(f"Content-Type: {kind}")
    head.extend(f"{k}: {v}" for k, v in reply.headers.items())
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data
