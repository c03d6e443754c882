"""A loopback Discord REST v10 for the moderation endpoints, answering as Discord documents:
204 on success for deletes, bans and overwrites; `{"message", "code"}` errors (50013 Missing
Permissions, 10008 Unknown Message, 10007 Unknown Member, 10026 Unknown Ban, 10011 Unknown Role,
50034 too old to bulk delete); per-route buckets with `X-RateLimit-*` headers and 429 `retry_after`
(per route or global, tests/discord_fake.Limits)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from discord_fake import EPOCH, Limits

from .server import Reply, Seen, StandIn

TOKEN = "T0KEN-discord-secret"
GUILD = "1087439560996614184"
BOT = "1000000000000000001"
ROLE = "1100000000000000042"  # a role in the server: "Core contributor"
PERMISSIONS = frozenset(
    {
        "BAN_MEMBERS",
        "KICK_MEMBERS",
        "MODERATE_MEMBERS",
        "MANAGE_MESSAGES",
        "MANAGE_CHANNELS",
        "MANAGE_ROLES",
        "SEND_MESSAGES",
    }
)


def snowflake(ts: datetime, n: int = 0) -> str:
    return str((int((ts - EPOCH) / timedelta(milliseconds=1)) << 22) + n)


def error(status: int, code: int, message: str) -> Reply:
    return Reply(status, {"message": message, "code": code})


class DiscordStandIn(StandIn):
    prefix = "/api/v10"

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__()
        self.limits = limits
        self.granted: set[str] = set(PERMISSIONS)
        self.members: dict[str, dict[str, Any]] = {}
        self.bans: dict[str, dict[str, Any]] = {}
        self.roles: set[str] = {ROLE}  # the server's roles
        self.closed_dms: set[str] = set()  # members who take no DMs from the bot
        self.above_bot: set[str] = set()  # roles above the bot's highest: it cannot assign them
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, dict[str, Any]]] = {}
        self.nonces: dict[str, str] = {}
        self.deleted: list[str] = []
        r = self.route
        r("GET", "/users/@me", lambda q, a: Reply(200, {"id": BOT, "username": "bot", "bot": True}))
        r("POST", "/users/@me/channels", self._open_dm)
        r("GET", "/channels/{cid}", self._get_channel)
        r("PATCH", "/channels/{cid}", self._patch_channel)
        r("PUT", "/channels/{cid}/permissions/{oid}", self._put_overwrite)
        r("DELETE", "/channels/{cid}/permissions/{oid}", self._delete_overwrite)
        r("GET", "/channels/{cid}/messages", self._list_messages)
        r("POST", "/channels/{cid}/messages", self._post_message)
        r("POST", "/channels/{cid}/messages/bulk-delete", self._bulk_delete)
        r("GET", "/channels/{cid}/messages/{mid}", self._get_message)
        r("DELETE", "/channels/{cid}/messages/{mid}", self._delete_message)
        r("GET", "/guilds/{gid}/members/{uid}", self._get_member)
        r("PATCH", "/guilds/{gid}/members/{uid}", self._patch_member)
        r("DELETE", "/guilds/{gid}/members/{uid}", self._kick)
        r("PUT", "/guilds/{gid}/members/{uid}/roles/{rid}", self._add_role)
        r("DELETE", "/guilds/{gid}/members/{uid}/roles/{rid}", self._remove_role)
        r("GET", "/guilds/{gid}/bans/{uid}", self._get_ban)
        r("PUT", "/guilds/{gid}/bans/{uid}", self._ban)
        r("DELETE", "/guilds/{gid}/bans/{uid}", self._unban)

    # --- set-up ----------------------------------------------------------------------------

    def add_member(self, uid: str) -> None:
        self.members[uid] = {"user": {"id": uid}, "roles": [], "communication_disabled_until": None}

    def add_channel(self, cid: str, overwrites: list[dict[str, Any]] | None = None) -> None:
        self.channels[cid] = {
            "id": cid,
            "guild_id": GUILD,
            "type": 0,
            "name": f"chan-{cid[-4:]}",
            "rate_limit_per_user": 0,
            "permission_overwrites": list(overwrites or []),
        }
        self.messages.setdefault(cid, {})

    def add_message(self, cid: str, mid: str, author: str = "201", content: str = "hi") -> None:
        self.messages[cid][mid] = {
            "id": mid,
            "channel_id": cid,
            "content": content,
            "author": {"id": author},
        }

    # --- the answers -----------------------------------------------------------------------

    def check_auth(self, request: Seen) -> Reply | None:
        if request.headers.get("authorization") != f"Bot {TOKEN}":
            return error(401, 0, "401: Unauthorized")
        if self.limits is None:
            return None
        parts = request.path.removeprefix(self.prefix).split("/")
        major = parts[2] if len(parts) > 2 else ""
        shape = "/".join(p if not p.isdigit() else "#" for p in parts[3:])
        status, headers = self.limits.check(f"{request.method} {parts[1]} {major} {shape}")
        if status:
            glob = headers.get("X-RateLimit-Global") == "true"
            body = {
                "message": "You are being rate limited.",
                "retry_after": float(headers["Retry-After"]),
                "global": glob,
            }
            return Reply(429, body, headers)
        self._headers = headers
        return None

    def _ok(self, status: int, body: Any = None) -> Reply:
        return Reply(status, body, dict(getattr(self, "_headers", {})))

    def _lacks(self, permission: str) -> Reply | None:
        if permission in self.granted:
            return None
        return error(403, 50013, "Missing Permissions")

    def _channel(self, cid: str) -> dict[str, Any] | None:
        return self.channels.get(cid)

    def _open_dm(self, q: Seen, a: dict[str, str]) -> Reply:
        uid = str((q.json or {}).get("recipient_id", ""))
        if uid not in self.members:
            return error(400, 50035, "Invalid Form Body")
        cid = "9" + uid[1:]  # the same DM channel every time
        if cid not in self.channels:
            self.add_channel(cid)
            self.channels[cid].update({"type": 1, "guild_id": None, "recipients": [{"id": uid}]})
        return self._ok(200, self.channels[cid])

    def _get_channel(self, q: Seen, a: dict[str, str]) -> Reply:
        chan = self._channel(a["cid"])
        return self._ok(200, chan) if chan else error(404, 10003, "Unknown Channel")

    def _patch_channel(self, q: Seen, a: dict[str, str]) -> Reply:
        chan = self._channel(a["cid"])
        if chan is None:
            return error(404, 10003, "Unknown Channel")
        refused = self._lacks("MANAGE_CHANNELS")
        if refused:
            return refused
        body = q.json or {}
        if "rate_limit_per_user" in body:
            seconds = body["rate_limit_per_user"]
            if not isinstance(seconds, int) or not 0 <= seconds <= 21600:
                return Reply(400, {"message": "Invalid Form Body", "code": 50035})
            chan["rate_limit_per_user"] = seconds
        return self._ok(200, chan)

    def _put_overwrite(self, q: Seen, a: dict[str, str]) -> Reply:
        chan = self._channel(a["cid"])
        if chan is None:
            return error(404, 10003, "Unknown Channel")
        refused = self._lacks("MANAGE_ROLES")
        if refused:
            return refused
        body = q.json or {}
        new = {
            "id": a["oid"],
            "type": body.get("type", 0),
            "allow": str(body.get("allow", "0")),
            "deny": str(body.get("deny", "0")),
        }
        rest = [o for o in chan["permission_overwrites"] if o["id"] != a["oid"]]
        chan["permission_overwrites"] = [*rest, new]
        return self._ok(204)

    def _delete_overwrite(self, q: Seen, a: dict[str, str]) -> Reply:
        chan = self._channel(a["cid"])
        if chan is None:
            return error(404, 10003, "Unknown Channel")
        refused = self._lacks("MANAGE_ROLES")
        if refused:
            return refused
        chan["permission_overwrites"] = [
            o for o in chan["permission_overwrites"] if o["id"] != a["oid"]
        ]
        return self._ok(204)

    def _list_messages(self, q: Seen, a: dict[str, str]) -> Reply:
        held = self.messages.get(a["cid"])
        if held is None:
            return error(404, 10003, "Unknown Channel")
        limit = int(q.arg("limit") or 50)
        newest = sorted(held.values(), key=lambda m: int(m["id"]), reverse=True)
        return self._ok(200, newest[:limit])

    def _post_message(self, q: Seen, a: dict[str, str]) -> Reply:
        held = self.messages.get(a["cid"])
        if held is None:
            return error(404, 10003, "Unknown Channel")
        dm = self.channels[a["cid"]].get("recipients")
        if dm and dm[0]["id"] in self.closed_dms:
            return error(403, 50007, "Cannot send messages to this user")
        refused = self._lacks("SEND_MESSAGES")
        if refused:
            return refused
        body = q.json or {}
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce in self.nonces:
            return self._ok(200, held[self.nonces[nonce]])
        mid = snowflake(datetime.now(UTC), len(self.requests) % 4000)
        msg = {
            "id": mid,
            "channel_id": a["cid"],
            "content": body.get("content", ""),
            "author": {"id": BOT, "bot": True},
            "nonce": nonce,
        }
        ref = body.get("message_reference")
        if ref:
            msg["message_reference"] = ref
        held[mid] = msg
        if nonce is not None:
            self.nonces[nonce] = mid
        return self._ok(200, msg)

    def _bulk_delete(self, q: Seen, a: dict[str, str]) -> Reply:
        held = self.messages.get(a["cid"])
        if held is None:
            return error(404, 10003, "Unknown Channel")
        refused = self._lacks("MANAGE_MESSAGES")
        if refused:
            return refused
        ids = (q.json or {}).get("messages", [])
        if not 2 <= len(ids) <= 100:
            return Reply(400, {"message": "Invalid Form Body", "code": 50035})
        horizon = datetime.now(UTC) - timedelta(days=14)
        for mid in ids:
            if EPOCH + timedelta(milliseconds=int(mid) >> 22) < horizon:
                return error(
                    400, 50034, "You can only bulk delete messages that are under 14 days old."
                )
        for mid in ids:
            if held.pop(mid, None) is not None:
                self.deleted.append(mid)
        return self._ok(204)

    def _get_message(self, q: Seen, a: dict[str, str]) -> Reply:
        msg = self.messages.get(a["cid"], {}).get(a["mid"])
        return self._ok(200, msg) if msg else error(404, 10008, "Unknown Message")

    def _delete_message(self, q: Seen, a: dict[str, str]) -> Reply:
        held = self.messages.get(a["cid"], {})
        if a["mid"] not in held:
            return error(404, 10008, "Unknown Message")
        refused = self._lacks("MANAGE_MESSAGES")
        if refused:
            return refused
        del held[a["mid"]]
        self.deleted.append(a["mid"])
        return self._ok(204)

    def _member(self, a: dict[str, str]) -> dict[str, Any] | None:
        return self.members.get(a["uid"]) if a["gid"] == GUILD else None

    def _get_member(self, q: Seen, a: dict[str, str]) -> Reply:
        member = self._member(a)
        return self._ok(200, member) if member else error(404, 10007, "Unknown Member")

    def _patch_member(self, q: Seen, a: dict[str, str]) -> Reply:
        member = self._member(a)
        if member is None:
            return error(404, 10007, "Unknown Member")
        refused = self._lacks("MODERATE_MEMBERS")
        if refused:
            return refused
        body = q.json or {}
        if "communication_disabled_until" in body:
            until = body["communication_disabled_until"]
            if until is not None:
                when = datetime.fromisoformat(until)
                if when - datetime.now(UTC) > timedelta(days=28, minutes=1):
                    return Reply(400, {"message": "Invalid Form Body", "code": 50035})
            member["communication_disabled_until"] = until
        return self._ok(200, member)

    def _kick(self, q: Seen, a: dict[str, str]) -> Reply:
        if self._member(a) is None:
            return error(404, 10007, "Unknown Member")
        refused = self._lacks("KICK_MEMBERS")
        if refused:
            return refused
        del self.members[a["uid"]]
        return self._ok(204)

    def _role_change(self, a: dict[str, str], add: bool) -> Reply:
        member = self._member(a)
        if member is None:
            return error(404, 10007, "Unknown Member")
        if a["rid"] not in self.roles:
            return error(404, 10011, "Unknown Role")
        refused = self._lacks("MANAGE_ROLES")
        if refused:
            return refused
        if a["rid"] in self.above_bot:
            return error(403, 50013, "Missing Permissions")
        held: list[str] = member["roles"]
        if add and a["rid"] not in held:
            held.append(a["rid"])
        if not add and a["rid"] in held:
            held.remove(a["rid"])
        return self._ok(204)

    def _add_role(self, q: Seen, a: dict[str, str]) -> Reply:
        return self._role_change(a, True)

    def _remove_role(self, q: Seen, a: dict[str, str]) -> Reply:
        return self._role_change(a, False)

    def _get_ban(self, q: Seen, a: dict[str, str]) -> Reply:
        ban = self.bans.get(a["uid"])
        return self._ok(200, ban) if ban else error(404, 10026, "Unknown Ban")

    def _ban(self, q: Seen, a: dict[str, str]) -> Reply:
        refused = self._lacks("BAN_MEMBERS")
        if refused:
            return refused
        self.bans[a["uid"]] = {
            "user": {"id": a["uid"]},
            "reason": q.headers.get("x-audit-log-reason"),
        }
        self.members.pop(a["uid"], None)
        return self._ok(204)

    def _unban(self, q: Seen, a: dict[str, str]) -> Reply:
        refused = self._lacks("BAN_MEMBERS")
        if refused:
            return refused
        if self.bans.pop(a["uid"], None) is None:
            return error(404, 10026, "Unknown Ban")
        return self._ok(204)


def nonce_of(key: str) -> str:
    """What the actor is expected to send as `nonce` for a call key."""
    return hashlib.sha256(key.encode()).hexdigest()[:25]
