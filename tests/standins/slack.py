"""A loopback Slack Web API for chat.postMessage, chat.delete, conversations.kick and
conversations.history: HTTP 200 `{"ok": false, "error": ...}` refusals as documented
(not_in_channel, cant_delete_message, missing_scope with `needed`, restricted_action,
invalid_auth), 429 `ratelimited` with `Retry-After`."""

from __future__ import annotations

from typing import Any

from .server import Reply, Seen, StandIn

TOKEN = "xoxb-slack-SECRET-token"
CHANNEL = "C0123456789"
BOT = "U0BOT00001"


def fail(error: str, **extra: Any) -> Reply:
    return Reply(200, {"ok": False, "error": error, **extra})


class SlackStandIn(StandIn):
    def __init__(self) -> None:
        super().__init__()
        self.scopes = {"chat:write", "channels:manage", "channels:history"}
        self.bot_in = {CHANNEL}
        self.members: dict[str, set[str]] = {CHANNEL: {BOT}}
        self.messages: dict[str, dict[str, dict[str, Any]]] = {CHANNEL: {}}
        self.bot_may_delete_others = False
        self.sent = 0
        for method in (
            "chat.postMessage",
            "chat.delete",
            "conversations.kick",
            "conversations.history",
            "conversations.open",
        ):
            self.route("POST", f"/{method}", getattr(self, "m_" + method.replace(".", "_")))
            self.route("GET", f"/{method}", getattr(self, "m_" + method.replace(".", "_")))

    def check_auth(self, request: Seen) -> Reply | None:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return fail("invalid_auth")
        return None

    def _need(self, scope: str) -> Reply | None:
        if scope in self.scopes:
            return None
        return fail("missing_scope", needed=scope, provided=",".join(sorted(self.scopes)))

    def _args(self, q: Seen) -> dict[str, Any]:
        if q.method == "GET":
            return {k: v[0] for k, v in q.query.items()}
        return q.json or {}

    def _channel(self, body: dict[str, Any]) -> Reply | None:
        cid = body.get("channel")
        if cid not in self.messages:
            return fail("channel_not_found")
        if cid not in self.bot_in:
            return fail("not_in_channel")
        return None

    def m_chat_postMessage(self, q: Seen, a: dict[str, str]) -> Reply:
        body = self._args(q)
        refused = self._need("chat:write") or self._channel(body)
        if refused:
            return refused
        self.sent += 1
        ts = f"1700000000.{self.sent:06d}"
        msg = {"type": "message", "user": BOT, "text": body.get("text", ""), "ts": ts}
        if body.get("thread_ts"):
            msg["thread_ts"] = body["thread_ts"]
        self.messages[body["channel"]][ts] = msg
        return Reply(200, {"ok": True, "channel": body["channel"], "ts": ts, "message": msg})

    def m_conversations_open(self, q: Seen, a: dict[str, str]) -> Reply:
        body = self._args(q)
        refused = self._need("im:write")
        if refused:
            return refused
        user = str(body.get("users", ""))
        if not user.startswith("U"):
            return fail("user_not_found")
        dm = "D" + user[1:]
        self.bot_in.add(dm)
        self.messages.setdefault(dm, {})
        return Reply(200, {"ok": True, "channel": {"id": dm}})

    def m_chat_delete(self, q: Seen, a: dict[str, str]) -> Reply:
        body = self._args(q)
        refused = self._need("chat:write") or self._channel(body)
        if refused:
            return refused
        msg = self.messages[body["channel"]].get(body.get("ts", ""))
        if msg is None:
            return fail("message_not_found")
        if msg["user"] != BOT and not self.bot_may_delete_others:
            return fail("cant_delete_message")
        del self.messages[body["channel"]][body["ts"]]
        return Reply(200, {"ok": True, "channel": body["channel"], "ts": body["ts"]})

    def m_conversations_kick(self, q: Seen, a: dict[str, str]) -> Reply:
        body = self._args(q)
        refused = self._need("channels:manage") or self._channel(body)
        if refused:
            return refused
        members = self.members[body["channel"]]
        if body.get("user") == BOT:
            return fail("cant_kick_self")
        if body.get("user") not in members:
            return fail("not_in_channel")
        members.discard(body["user"])
        return Reply(200, {"ok": True})

    def m_conversations_history(self, q: Seen, a: dict[str, str]) -> Reply:
        body = self._args(q)
        refused = self._need("channels:history") or self._channel(body)
        if refused:
            return refused
        ts = body.get("latest")
        held = self.messages[body["channel"]]
        found = [held[ts]] if ts in held else []
        return Reply(200, {"ok": True, "messages": found, "has_more": False})
