"""Slack Events API: signed event deliveries on the collector's webhook server.

Every request must carry Slack's `v0` signature (HMAC-SHA256 of "v0:<timestamp>:<body>"
with the app's signing secret) and a timestamp within five minutes, else it is refused
and never stored. Messages are built as the export importer builds them
(plugins/slack/model.py), so source_id `f"{channel}:{ts}"`, channel_id and author_id are the
export's and live and imported messages dedupe.

Slack retries a delivery it got no 200 for within 3 s (X-Slack-Retry-Num): we answer as
soon as the records are stored, or 503 if the store is slower than `answer_within` (the
write still completes; the retry then finds it stored). Recent event ids are remembered so
a retry costs no write, and the store's idempotent key covers a retry after a restart.

Slack events name users and channels by id only. With a `bot_token`, unknown ids are looked
up (users.info, conversations.info) within a short time budget; without one they stay ids.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_api import Sink, SourceContext, SourceType
from cockpit.plugin_kit import (
    ApiClient,
    ApiError,
    AuthError,
    ConnectorHealth,
    Handler,
    Malformed,
    Request,
    Response,
    WebhookRouter,
    WebhookSource,
    decode,
    optional_string,
    raw_bytes,
    reason_for,
    string,
)

from .model import PLATFORM, SLACKBOT, Conversation, User, message_activity, parse_ts, person_name

log = logging.getLogger(__name__)

TOLERANCE_S = 300  # Slack's own advice: refuse requests older than five minutes
_SEEN_LIMIT = 4096
_AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)


class SlackEventsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    webhook: ClassVar[bool] = True

    signing_secret: str = Field(
        min_length=1, description="the app's Signing Secret (use ${SLACK_SIGNING_SECRET})"
    )
    path: str = Field("/slack/events", pattern="^/", description="webhook path (Request URL)")
    bot_token: str | None = Field(
        None, description="xoxb- token: names of users and channels, and `--check`"
    )
    base_url: str = Field("https://slack.com/api", description="Web API base URL")
    answer_within: float = Field(2.5, gt=0, le=2.9, description="seconds before a 503")
    lookup_budget: float = Field(1.0, gt=0, le=2.0, description="seconds for name lookups")


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The X-Slack-Signature value Slack sends for this timestamp and raw body."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()


def verify(secret: bytes, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    """Why a request is not a fresh one from Slack, or None when it is."""
    stamp = headers.get("x-slack-request-timestamp", "")
    given = headers.get("x-slack-signature", "")
    if not stamp or not given:
        return "missing X-Slack-Signature or X-Slack-Request-Timestamp"
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        return "X-Slack-Request-Timestamp is not a Unix time"
    if abs(now - int(stamp)) > TOLERANCE_S:
        return "X-Slack-Request-Timestamp is more than 5 minutes off (a replay?)"
    if not hmac.compare_digest(sign(secret, stamp, body).encode(), given.encode("latin-1")):
        return "bad X-Slack-Signature"
    return None


async def web_api(client: ApiClient, method: str, params: Mapping[str, str] | None = None) -> Any:
    """One Web API method; `ok: false` becomes a clear error (auth ones an AuthError)."""
    response = await client.request("GET", f"/{method}", what=method, params=params)
    body = decode(response, client.label, method)
    if isinstance(body, dict) and body.get("ok") is True:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if error in _AUTH_ERRORS:
        raise client.auth_error(
            f"{client.label}: Slack refused the bot token ({error}); check `bot_token`"
        )
    if error == "missing_scope":
        needed = body.get("needed") if isinstance(body, dict) else None
        raise client.auth_error(
            f"{client.label}: {method} needs the {needed or 'missing'} scope; "
            "add it to the app and reinstall it"
        )
    raise client.error(f"{client.label}: {method} failed: {error or 'not ok'}")


def _user_of(user: dict[str, Any]) -> User:
    """A users.info or team_join user object as the importer's `User`."""
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    author, _ = person_name(profile)
    handle = optional_string(user.get("name"))
    name = author or optional_string(user.get("real_name")) or handle or str(user.get("id"))
    return User(name, handle, user.get("is_bot") is True)


class Names:
    """Display names of users and channels: from events, and from the Web API with a token."""

    def __init__(
        self,
        client: ApiClient | None,
        budget: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users: dict[str, User] = {}
        self.channels: dict[str, str] = {}
        self.client = client
        self.budget = budget
        self.clock = clock
        self._missing: set[str] = set()
        self._pause_until = 0.0

    def user(self, uid: str) -> tuple[str, str | None, bool]:
        known = self.users.get(uid)
        return (known.name, known.handle, known.is_bot) if known else (uid, None, False)

    async def learn(self, event: dict[str, Any]) -> None:
        """Look up the ids an event names that are not known yet, within the time budget."""
        if self.client is None or self.clock() < self._pause_until:
            return
        users = {_id(event.get("user"))}
        for key in ("message", "previous_message"):
            if isinstance(event.get(key), dict):
                users.add(_id(event[key].get("user")))
        item = event.get("item")
        channels = {_id(event.get("channel"))}
        if isinstance(item, dict):
            channels.add(_id(item.get("channel")))
        todo = [("users.info", "user", u) for u in users if u and u not in self.users]
        todo += [("conversations.info", "channel", c) for c in channels if c]
        todo = [t for t in todo if t[2] not in self.channels and t[2] not in self._missing]
        if not todo:
            return
        try:
            await asyncio.wait_for(self._fetch(todo), self.budget)
        except (ApiError, TimeoutError) as exc:
            log.warning("slack names: lookups paused for a minute (%s)", exc or "too slow")
            self._pause_until = self.clock() + 60

    async def _fetch(self, todo: list[tuple[str, str, str]]) -> None:
        assert self.client is not None
        for method, arg, key in todo:
            try:
                body = await web_api(self.client, method, {arg: key})
            except AuthError:
                raise
            except ApiError:
                self._missing.add(key)  # e.g. user_not_found, channel_not_found
                continue
            found = body.get(arg)
            if not isinstance(found, dict):
                self._missing.add(key)
            elif arg == "user":
                self.users[key] = _user_of(found)
            elif isinstance(found.get("name"), str) and found["name"]:
                self.channels[key] = found["name"]
            else:
                self._missing.add(key)  # a DM has no name


def _id(value: object) -> str:
    return value if isinstance(value, str) else ""


def _plain(
    names: Names, community: str, *, kind: Kind, source_id: str, ts: str, channel: str, user: str
) -> Activity:
    """A record for an event that is not a message (reaction, membership)."""
    author, handle, is_bot = names.user(user)
    return Activity(
        platform=PLATFORM,
        source_id=source_id,
        kind=kind,
        ts=parse_ts(ts, "event_ts"),
        channel=names.channels.get(channel, channel),
        author=author,
        author_id=user,
        community=community,
        channel_id=channel,
        author_handle=handle,
        is_bot=is_bot,
    )


def _message_records(event: dict[str, Any], names: Names, community: str) -> list[Record]:
    cid = string(event.get("channel"), "channel")
    conv = Conversation(cid, names.channels.get(cid, cid), cid)
    subtype = event.get("subtype")
    if subtype == "message_changed":
        inner = event.get("message")
        if not isinstance(inner, dict):
            raise TypeError("message_changed without a message object")
        record = message_activity(inner, conv, names.users, community)
        # a thread parent deleted under its replies becomes a tombstone, sent as a change
        record.kind = Kind.DELETE if record.kind is Kind.DELETE else Kind.EDIT
        if record.edited_ts is None:
            record.edited_ts = parse_ts(event.get("ts"), "ts")
        return [record]
    if subtype == "message_deleted":
        gone = string(event.get("deleted_ts"), "deleted_ts")
        before = event.get("previous_message")
        msg = dict(before) if isinstance(before, dict) else {"user": SLACKBOT}
        msg.update(ts=gone, type="message")
        record = message_activity(msg, conv, names.users, community)
        record.kind = Kind.DELETE
        return [record]
    if event.get("hidden") is True:  # message_replied and other bookkeeping
        return []
    return [message_activity(event, conv, names.users, community)]


def _event(event: dict[str, Any], envelope: dict[str, Any], names: Names, c: str) -> list[Record]:
    kind = event.get("type")
    if kind == "message":
        return _message_records(event, names, c)
    event_ts = event.get("event_ts")
    if kind == "reaction_added":
        item = event.get("item")
        if not isinstance(item, dict) or item.get("type") != "message":
            return []  # reactions to files are not activity in a channel
        cid, target = string(item.get("channel"), "item.channel"), string(item.get("ts"), "item.ts")
        user, emoji = string(event.get("user"), "user"), string(event.get("reaction"), "reaction")
        sid = f"{cid}:{target}:reaction:{user}:{emoji}"
        when = string(event_ts, "event_ts")
        record = _plain(
            names, c, kind=Kind.REACTION, source_id=sid, ts=when, channel=cid, user=user
        )
        record.reply_to, record.text = f"{cid}:{target}", f":{emoji}:"
        return [record]
    if kind in ("member_joined_channel", "member_left_channel"):
        cid, user = string(event.get("channel"), "channel"), string(event.get("user"), "user")
        joined = kind == "member_joined_channel"
        sid = f"{cid}:member:{user}:{event_ts}"
        record = _plain(
            names,
            c,
            kind=Kind.JOIN if joined else Kind.LEAVE,
            source_id=sid,
            ts=string(event_ts, "event_ts"),
            channel=cid,
            user=user,
        )
        if isinstance(event.get("inviter"), str):
            record.extras["by"] = event["inviter"]
        return [record]
    if kind == "team_join":
        user_obj = event.get("user")
        if not isinstance(user_obj, dict):
            raise TypeError("team_join without a user object")
        uid = string(user_obj.get("id"), "user.id")
        names.users[uid] = _user_of(user_obj)
        team = string(envelope.get("team_id"), "team_id")
        when = event_ts if isinstance(event_ts, str) else str(envelope.get("event_time"))
        sid = f"{team}:team_join:{uid}"
        return [_plain(names, c, kind=Kind.JOIN, source_id=sid, ts=when, channel=team, user=uid)]
    return []


def event_records(
    envelope: object, raw: bytes, names: Names, community: str, origin: str
) -> list[Record]:
    """One event_callback delivery as records, nothing for events we do not follow, or a quarantine."""
    eid = envelope.get("event_id") if isinstance(envelope, dict) else None
    position = f"event {eid}" if isinstance(eid, str) else "event without event_id"
    try:
        if not isinstance(envelope, dict) or not isinstance(envelope.get("event"), dict):
            raise Malformed("event_callback without an event object")
        records = _event(envelope["event"], envelope, names, community)
        for record in records:
            problem = record.validate() if isinstance(record, Activity) else None
            if problem:
                raise Malformed(problem)
        return records
    except (Malformed, TypeError, KeyError, AttributeError, ValueError) as exc:
        return [Quarantined(PLATFORM, origin, position, reason_for(exc), raw_bytes(raw))]


class SlackEventsSource(WebhookSource):
    """Serves one Slack app's Request URL until stopped."""

    platform = PLATFORM
    settings: SlackEventsSettings

    def __init__(
        self,
        settings: SlackEventsSettings,
        ctx: SourceContext,
        *,
        router: WebhookRouter | None = None,
        health: ConnectorHealth | None = None,
        clock: Callable[[], float] = time.time,
        client: ApiClient | None = None,
    ) -> None:
        super().__init__(
            ctx, f"slack events {ctx.name}", router=router, health=health, client=client
        )
        self.settings = settings
        self.clock = clock
        self.client = self.api_client(
            settings.base_url,
            settings.bot_token,
            "check `bot_token` (the app's Bot User OAuth Token)",
        )
        self.names = Names(self.client, settings.lookup_budget)
        self.seen: dict[str, None] = {}  # event ids stored, oldest first

    async def check(self) -> str:
        """The bot token (when set) against auth.test; the webhook itself cannot be probed."""
        if self.client is None:
            return f"{self.where} (no bot_token: names stay ids, nothing to check)"
        body = await web_api(self.client, "auth.test")
        return f"{self.where}, bot {body.get('user')} in {body.get('team')}"

    def _remember(self, event_id: str | None) -> None:
        if event_id is None:
            return
        self.seen[event_id] = None
        if len(self.seen) > _SEEN_LIMIT:
            del self.seen[next(iter(self.seen))]

    async def _store(self, sink: Sink, records: list[Record], event_id: str | None) -> Response:
        """Store, answering before Slack's 3 s run out; 5xx (Slack retries) when not stored."""
        write = asyncio.ensure_future(sink.write(records))
        try:
            await asyncio.wait_for(asyncio.shield(write), self.settings.answer_within)
        except TimeoutError:

            def late(task: asyncio.Future[None]) -> None:
                if not task.cancelled() and task.exception() is None:
                    self._remember(event_id)

            write.add_done_callback(late)
            log.warning("%s: the store is slow; answered 503, Slack will retry", self.origin)
            return Response(503, b"still storing; retry")
        except Exception as exc:
            return self.store_failed(exc)
        self._remember(event_id)
        return self.stored(records)

    def make_handler(self, sink: Sink) -> Handler:
        secret = self.settings.signing_secret.encode()

        async def handle(request: Request) -> Response:
            if request.method != "POST":
                return Response(405, b"POST only")
            why = verify(secret, request.headers, request.body, self.clock())
            if why:
                log.warning("%s: request refused: %s", self.origin, why)
                return Response(401, why.encode())
            try:
                body = json.loads(request.body)
            except (ValueError, RecursionError):
                body = None
            if not isinstance(body, dict):
                return Response(400, b"not an Events API JSON object")
            kind = body.get("type")
            if kind == "url_verification":
                challenge = body.get("challenge")
                if not isinstance(challenge, str):
                    return Response(400, b"url_verification without a challenge")
                return Response(200, challenge.encode())
            if kind != "event_callback":
                log.info("%s: %s delivery ignored", self.origin, kind)
                return Response(200, b"ignored")
            eid = body.get("event_id") if isinstance(body.get("event_id"), str) else None
            retry = request.headers.get("x-slack-retry-num")
            if retry:
                reason = request.headers.get("x-slack-retry-reason", "?")
                log.info("%s: retry %s of %s (%s)", self.origin, retry, eid, reason)
            if eid is not None and eid in self.seen:
                return Response(200, b"ok (already stored)")
            if isinstance(body.get("event"), dict):
                await self.names.learn(body["event"])
            records = event_records(body, request.body, self.names, self.community, self.origin)
            if not records:
                self._remember(eid)
                return self.stored(records)
            return await self._store(sink, records, eid)

        return handle


def create(settings: Any, ctx: SourceContext) -> SlackEventsSource:
    return SlackEventsSource(settings, ctx)


SOURCE = SourceType("slack", SlackEventsSettings, create)
