"""Discord's hands: moderation through REST v10 with the bot's token.

Every call carries the case's reason in `X-Audit-Log-Reason` (URL-encoded, as Discord
requires) and goes through the source's bucket clients (plugins/discord/rest.py): a client
per route and major parameter, one pacer under the global limit, one gate for a global 429.
A call with a side effect is never sent twice by the cockpit: a lost answer (a transport
error, a 5xx) is `unknown`, and `verify` asks Discord what happened (the ban, the member's
timeout, the message, the channel's overwrites). Discord's refusals become one line: a 403
code 50013 names the permission to grant.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import httpx

from cockpit.plugin_api import ActionCall, ActionOutcome, SourceContext
from cockpit.plugin_kit import ApiError, MaybeSent, RateLimited, health_for

from .model import PLATFORM
from .rest import DiscordRest
from .settings import DiscordSettings

ACTIONS = frozenset(
    {
        "delete",
        "purge",
        "timeout",
        "kick",
        "ban",
        "unban",
        "slowmode",
        "lock",
        "unlock",
        "say",
        "warn",
        "role_add",
        "role_remove",
    }
)
SEND_MESSAGES = 1 << 11
EPOCH_MS = 1420070400000  # Discord's snowflake epoch (2015-01-01)
BULK_AGE = timedelta(days=14) - timedelta(minutes=5)  # bulk delete refuses older; a margin
MAX_TIMEOUT = timedelta(days=28)
MAX_SLOWMODE = 21600
MAX_DELETE_HISTORY = 604800  # seconds (7 days)
# the permission each action needs, as Discord names it
PERMISSION = {
    "delete": "MANAGE_MESSAGES",
    "purge": "MANAGE_MESSAGES",
    "timeout": "MODERATE_MEMBERS",
    "kick": "KICK_MEMBERS",
    "ban": "BAN_MEMBERS",
    "unban": "BAN_MEMBERS",
    "slowmode": "MANAGE_CHANNELS",
    "lock": "MANAGE_ROLES",
    "unlock": "MANAGE_ROLES",
    "say": "SEND_MESSAGES",
    "warn": "SEND_MESSAGES",
    "role_add": "MANAGE_ROLES",
    "role_remove": "MANAGE_ROLES",
}
UNKNOWN = {
    10003: "unknown channel (deleted, or not in this server)",
    10004: "unknown server: is the bot still in it?",
    10007: "not a member of the server (left, or already removed)",
    10008: "unknown message",
    10011: "unknown role: check the role id in [scoring.roles] or [welcome] role",
    10013: "unknown user",
    10026: "not banned",
    50001: "the bot cannot see this channel: give it View Channel",
    50007: "the member does not take direct messages from the bot (their privacy settings)",
    50035: "Discord refused the request as invalid",
}
MAYBE = "the answer was lost on the way back; the cockpit will check on Discord, not resend"


def snowflake_time(mid: str) -> datetime:
    return datetime.fromtimestamp(((int(mid) >> 22) + EPOCH_MS) / 1000, UTC)


def nonce(key: str) -> str:
    """A `nonce` (at most 25 characters) that is the same for every attempt of one call."""
    return hashlib.sha256(key.encode()).hexdigest()[:25]


class Refused(Exception):
    """One call's refusal, as the line a moderator reads."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class DiscordActor:
    """Implements `cockpit.plugin_api.Actor` for one Discord source."""

    def __init__(
        self,
        settings: DiscordSettings,
        ctx: SourceContext,
        *,
        rest: DiscordRest | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_wait: float = 60.0,
    ) -> None:
        self.settings = settings
        self.label = f"discord source {ctx.name!r}"
        self.rest = rest or DiscordRest(
            self.label,
            settings.base_url,
            settings.token,
            health_for(ctx.name),
            global_rate=settings.global_rate,
        )
        self.now = now
        self.max_wait = max_wait
        self.actions: Mapping[str, frozenset[str]] = {PLATFORM: ACTIONS}
        self._guild_of: dict[str, str] = {}
        self._bot_id: str | None = None

    async def aclose(self) -> None:
        await self.rest.aclose()

    # --- one call --------------------------------------------------------------------------

    async def send(
        self,
        method: str,
        path: str,
        bucket: str,
        call: ActionCall | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """One REST call; a side effect (call given) carries the reason and is sent once."""
        headers = None
        if call is not None and call.reason:
            headers = {"X-Audit-Log-Reason": quote(call.reason[:512], safe="")}
        await self.rest.pace()
        return await self.rest.client(bucket).request(
            method,
            path,
            what=f"{method} {path}",
            json=json,
            params=params,
            headers=headers,
            idempotent=call is None,
            ok_statuses=frozenset(range(400, 500)) - {429},
            max_wait=self.max_wait,
        )

    def refusal(self, response: httpx.Response, action: str) -> Refused:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        code = body.get("code") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        if status == 401:
            return Refused(
                "Discord refused the bot token (401): check `token` in the source's settings"
            )
        if code == 50013 or (status == 403 and code is None):
            perm = PERMISSION.get(action, "the permission")
            return Refused(
                f"the bot lacks {perm}: grant it to the bot's role in Server Settings > Roles "
                "(and keep that role above the member's)"
            )
        if isinstance(code, int) and code in UNKNOWN:
            return Refused(UNKNOWN[code])
        text = self.rest.client("").redact(str(message or response.reason_phrase))[:160]
        return Refused(f"Discord refused {action} (HTTP {status}, code {code}: {text})")

    async def ok(
        self,
        action: str,
        method: str,
        path: str,
        bucket: str,
        call: ActionCall | None = None,
        json: Any = None,
        ok_codes: frozenset[int] = frozenset(),
    ) -> httpx.Response | int:
        """The 2xx answer, or the Discord error code in `ok_codes`; else `Refused`."""
        response = await self.send(method, path, bucket, call, json)
        if response.status_code < 400:
            return response
        try:
            code = response.json().get("code")
        except (ValueError, AttributeError):
            code = None
        if isinstance(code, int) and code in ok_codes:
            return code
        raise self.refusal(response, action)

    async def guild(self, call: ActionCall) -> str:
        """The server the target is in: the only one followed, or the channel's."""
        guilds = self.settings.guild_ids
        if len(guilds) == 1:
            return guilds[0]
        cid = call.target.channel_id
        if cid:
            if cid not in self._guild_of:
                got = await self.ok(call.action, "GET", f"/channels/{cid}", cid)
                assert not isinstance(got, int)
                self._guild_of[cid] = str(got.json().get("guild_id") or "")
            if self._guild_of[cid]:
                return self._guild_of[cid]
        uid = call.target.user_id
        for gid in guilds:
            response = await self.send("GET", f"/guilds/{gid}/members/{uid}", gid)
            if response.status_code == 200:
                return gid
        raise Refused(UNKNOWN[10007])

    # --- perform ---------------------------------------------------------------------------

    async def perform(self, call: ActionCall) -> ActionOutcome:
        t = call.target
        name = t.label or t.user_id or t.channel_id or "?"
        need = {
            "delete": ("channel_id", "message_ids"),
            "purge": ("channel_id", "message_ids"),
            "timeout": ("user_id",),
            "kick": ("user_id",),
            "ban": ("user_id",),
            "unban": ("user_id",),
            "slowmode": ("channel_id",),
            "lock": ("channel_id",),
            "unlock": ("channel_id",),
            "say": () if t.user_id else ("channel_id",),  # a member, no channel: a DM
            "warn": ("channel_id",) if not t.user_id else (),
            "role_add": ("user_id", "role"),
            "role_remove": ("user_id", "role"),
        }
        if call.action not in need:
            return ActionOutcome("failed", f"discord cannot {call.action} from the cockpit")
        missing = [f for f in need[call.action] if not getattr(call if f == "role" else t, f)]
        if missing:
            what = {
                "channel_id": "a channel",
                "message_ids": "messages",
                "user_id": "a member",
                "role": "a role id",
            }
            return ActionOutcome("failed", f"{call.action} on Discord needs {what[missing[0]]}")
        try:
            handler: Callable[[ActionCall, str], Awaitable[ActionOutcome]]
            handler = getattr(self, f"do_{call.action}")
            return await handler(call, name)
        except Refused as exc:
            return ActionOutcome("failed", exc.detail, retry_after=exc.retry_after)
        except MaybeSent:
            return ActionOutcome("unknown", f"{call.action} of {name}: {MAYBE}")
        except RateLimited as exc:
            return ActionOutcome(
                "failed",
                f"Discord rate limits this for {exc.retry_after:.0f} s more; try again later",
                retry_after=exc.retry_after,
            )
        except ApiError as exc:
            return ActionOutcome("failed", str(exc).splitlines()[0][:240])

    async def do_delete(self, call: ActionCall, name: str) -> ActionOutcome:
        return await self.do_purge(call, name)

    async def do_purge(self, call: ActionCall, name: str) -> ActionOutcome:
        cid = call.target.channel_id or ""
        ids = list(dict.fromkeys(call.target.message_ids))
        horizon = self.now() - BULK_AGE
        recent = [m for m in ids if snowflake_time(m) > horizon]
        old = [m for m in ids if snowflake_time(m) <= horizon]
        chunks = [recent[i : i + 100] for i in range(0, len(recent), 100)]
        if chunks and len(chunks[-1]) == 1:  # bulk delete takes 2 to 100
            old.append(chunks.pop()[0])
        deleted, gone, unknown = 0, 0, 0
        refusals: list[str] = []

        async def bulk() -> None:
            nonlocal deleted, unknown
            for chunk in chunks:
                try:
                    await self.ok(
                        call.action,
                        "POST",
                        f"/channels/{cid}/messages/bulk-delete",
                        f"{cid}/bulk",
                        call,
                        {"messages": chunk},
                    )
                    deleted += len(chunk)
                except MaybeSent:
                    unknown += len(chunk)
                except (Refused, ApiError) as exc:
                    refusals.append(exc.detail if isinstance(exc, Refused) else str(exc))
                    return

        async def single() -> None:
            nonlocal deleted, gone, unknown
            for mid in old:
                try:
                    got = await self.ok(
                        call.action,
                        "DELETE",
                        f"/channels/{cid}/messages/{mid}",
                        f"{cid}/delete",
                        call,
                        ok_codes=frozenset({10008}),
                    )
                except MaybeSent:
                    unknown += 1
                    continue
                except (Refused, ApiError) as exc:
                    refusals.append(exc.detail if isinstance(exc, Refused) else str(exc))
                    return
                if isinstance(got, int):
                    gone += 1
                else:
                    deleted += 1

        await asyncio.gather(bulk(), single())
        total = len(ids)
        if total == 1 and not refusals and not unknown:
            return ActionOutcome("done", "message already gone" if gone else "deleted 1 message")
        line = f"deleted {deleted} of {total} messages"
        if gone:
            line += f" ({gone} already gone)"
        if refusals:
            return ActionOutcome("failed", f"{line}; {refusals[0]}")
        if unknown:
            return ActionOutcome("unknown", f"{line}; {unknown} unconfirmed: {MAYBE}")
        return ActionOutcome("done", line)

    async def do_timeout(self, call: ActionCall, name: str) -> ActionOutcome:
        gid = await self.guild(call)
        uid = call.target.user_id
        until = call.until
        if until is not None:
            left = until - self.now()
            if left <= timedelta(0):
                return ActionOutcome("failed", "the timeout would end in the past")
            if left > MAX_TIMEOUT + timedelta(minutes=1):
                return ActionOutcome(
                    "failed", "Discord timeouts last at most 28 days: shorten it, or ban"
                )
        value = until.astimezone(UTC).isoformat() if until is not None else None
        await self.ok(
            "timeout",
            "PATCH",
            f"/guilds/{gid}/members/{uid}",
            f"{gid}/members",
            call,
            {"communication_disabled_until": value},
        )
        if until is None:
            return ActionOutcome("done", f"timeout of {name} lifted")
        return ActionOutcome(
            "done", f"timed out {name} until {until:%Y-%m-%d %H:%M} UTC", lifts_itself=True
        )

    async def do_kick(self, call: ActionCall, name: str) -> ActionOutcome:
        gid = await self.guild(call)
        uid = call.target.user_id
        await self.ok("kick", "DELETE", f"/guilds/{gid}/members/{uid}", f"{gid}/members", call)
        return ActionOutcome("done", f"kicked {name} (they may join again with an invite)")

    async def do_ban(self, call: ActionCall, name: str) -> ActionOutcome:
        gid = await self.guild(call)
        uid = call.target.user_id
        body: dict[str, Any] = {}
        if call.delete_history:
            seconds = int(call.delete_history.total_seconds())
            body["delete_message_seconds"] = max(0, min(MAX_DELETE_HISTORY, seconds))
        await self.ok("ban", "PUT", f"/guilds/{gid}/bans/{uid}", f"{gid}/bans", call, body)
        span = f" until {call.until:%Y-%m-%d %H:%M} UTC" if call.until else ""
        wiped = ""
        if "delete_message_seconds" in body:
            wiped = (
                f", their messages of the last {body['delete_message_seconds'] // 3600} h deleted"
            )
        return ActionOutcome("done", f"banned {name}{span}{wiped}")

    async def do_unban(self, call: ActionCall, name: str) -> ActionOutcome:
        gid = await self.guild(call)
        uid = call.target.user_id
        got = await self.ok(
            "unban",
            "DELETE",
            f"/guilds/{gid}/bans/{uid}",
            f"{gid}/bans",
            call,
            ok_codes=frozenset({10026}),
        )
        if isinstance(got, int):
            return ActionOutcome("done", f"{name} was not banned (nothing to lift)")
        return ActionOutcome("done", f"unbanned {name}")

    async def do_role_add(self, call: ActionCall, name: str) -> ActionOutcome:
        return await self.role(call, name, "PUT")

    async def do_role_remove(self, call: ActionCall, name: str) -> ActionOutcome:
        return await self.role(call, name, "DELETE")

    async def role(self, call: ActionCall, name: str, method: str) -> ActionOutcome:
        """Give or take one role (Manage Roles, and the role below the bot's highest)."""
        gid = await self.guild(call)
        uid, rid = call.target.user_id, call.role
        path = f"/guilds/{gid}/members/{uid}/roles/{rid}"
        await self.ok(call.action, method, path, f"{gid}/members", call)
        if method == "PUT":
            return ActionOutcome("done", f"gave {name} the role {rid}")
        return ActionOutcome("done", f"took the role {rid} from {name}")

    async def channel(self, call: ActionCall) -> dict[str, Any]:
        cid = call.target.channel_id or ""
        got = await self.ok(call.action, "GET", f"/channels/{cid}", cid)
        assert not isinstance(got, int)
        body = got.json()
        if not isinstance(body, dict):
            raise Refused("Discord answered the channel with something that is not an object")
        return body

    async def do_slowmode(self, call: ActionCall, name: str) -> ActionOutcome:
        cid = call.target.channel_id or ""
        seconds = int(call.slowmode_seconds or 0)
        if seconds == 0 and call.restore is not None:
            seconds = int(call.restore.get("seconds", 0))
        if not 0 <= seconds <= MAX_SLOWMODE:
            return ActionOutcome("failed", "Discord slow mode is 0 to 21600 seconds (6 h)")
        before = int((await self.channel(call)).get("rate_limit_per_user") or 0)
        await self.ok(
            "slowmode", "PATCH", f"/channels/{cid}", cid, call, {"rate_limit_per_user": seconds}
        )
        line = f"slow mode {seconds} s in {name}" if seconds else f"slow mode off in {name}"
        return ActionOutcome("done", line, restore={"seconds": before})

    def everyone(self, chan: dict[str, Any]) -> dict[str, Any] | None:
        gid = str(chan.get("guild_id") or "")
        for o in chan.get("permission_overwrites") or []:
            if isinstance(o, dict) and str(o.get("id")) == gid:
                return o
        return None

    async def do_lock(self, call: ActionCall, name: str) -> ActionOutcome:
        chan = await self.channel(call)
        gid, cid = str(chan.get("guild_id") or ""), call.target.channel_id or ""
        if not gid:
            return ActionOutcome(
                "failed", "this channel is not in a server (a DM cannot be locked)"
            )
        prev = self.everyone(chan)
        saved = (
            None
            if prev is None
            else {"allow": str(prev.get("allow", "0")), "deny": str(prev.get("deny", "0"))}
        )
        allow = int(saved["allow"]) if saved else 0
        deny = int(saved["deny"]) if saved else 0
        body = {"type": 0, "allow": str(allow & ~SEND_MESSAGES), "deny": str(deny | SEND_MESSAGES)}
        await self.ok(
            "lock", "PUT", f"/channels/{cid}/permissions/{gid}", f"{cid}/perms", call, body
        )
        return ActionOutcome(
            "done", f"locked {name} (@everyone may not send)", restore={"overwrite": saved}
        )

    async def do_unlock(self, call: ActionCall, name: str) -> ActionOutcome:
        cid = call.target.channel_id or ""
        chan = await self.channel(call)
        gid = str(chan.get("guild_id") or "")
        path = f"/channels/{cid}/permissions/{gid}"
        if call.restore is not None and "overwrite" in call.restore:
            saved = call.restore["overwrite"]
            if saved is None:
                await self.ok("unlock", "DELETE", path, f"{cid}/perms", call)
            else:
                body = {"type": 0, "allow": str(saved["allow"]), "deny": str(saved["deny"])}
                await self.ok("unlock", "PUT", path, f"{cid}/perms", call, body)
            return ActionOutcome("done", f"unlocked {name} (permissions as before the lock)")
        prev = self.everyone(chan)
        if prev is None or not int(prev.get("deny", "0")) & SEND_MESSAGES:
            return ActionOutcome("done", f"{name} was not locked")
        body = {
            "type": 0,
            "allow": str(prev.get("allow", "0")),
            "deny": str(int(prev["deny"]) & ~SEND_MESSAGES),
        }
        await self.ok("unlock", "PUT", path, f"{cid}/perms", call, body)
        return ActionOutcome("done", f"unlocked {name} (@everyone may send again)")

    async def dm_channel(self, call: ActionCall) -> str:
        """The bot's direct-message channel with the member (Discord returns the same one
        every time: asking again is safe)."""
        response = await self.send(
            "POST", "/users/@me/channels", "dm", json={"recipient_id": call.target.user_id}
        )
        if response.status_code >= 400:
            raise self.refusal(response, call.action)
        return str(response.json().get("id") or "")

    async def do_say(self, call: ActionCall, name: str) -> ActionOutcome:
        cid = call.target.channel_id or ""
        text = call.text or ""
        uid = call.target.user_id
        dm = not cid
        if dm:
            cid = await self.dm_channel(call)
        mentions: dict[str, Any] = {"parse": []}
        if call.action == "warn" and uid and not dm:
            text = f"<@{uid}> {text}"
            mentions = {"parse": [], "users": [uid]}
        if not text.strip():
            return ActionOutcome("failed", f"{call.action} needs a text to post")
        if len(text) > 2000:
            return ActionOutcome(
                "failed", f"Discord messages are at most 2000 characters ({len(text)})"
            )
        body: dict[str, Any] = {
            "content": text,
            "nonce": nonce(call.key),
            "enforce_nonce": True,
            "allowed_mentions": mentions,
        }
        if call.target.message_ids:
            body["message_reference"] = {
                "message_id": call.target.message_ids[0],
                "fail_if_not_exists": False,
            }
        got = await self.ok(
            call.action, "POST", f"/channels/{cid}/messages", f"{cid}/post", call, body
        )
        assert not isinstance(got, int)
        ref = got.json().get("id")
        return ActionOutcome("done", f"posted in {name}", ref=str(ref) if ref else None)

    async def do_warn(self, call: ActionCall, name: str) -> ActionOutcome:
        return await self.do_say(call, name)

    # --- verify ----------------------------------------------------------------------------

    async def verify(self, call: ActionCall) -> ActionOutcome | None:
        try:
            return await self.check(call)
        except Refused as exc:
            return ActionOutcome("unknown", f"cannot check on Discord: {exc.detail}")
        except ApiError as exc:
            return ActionOutcome("unknown", f"cannot check on Discord: {str(exc)[:200]}")

    async def check(self, call: ActionCall) -> ActionOutcome | None:
        t = call.target
        name = t.label or t.user_id or t.channel_id or "?"
        a = call.action
        if a in ("ban", "unban"):
            gid = (
                self.settings.guild_ids[0]
                if len(self.settings.guild_ids) == 1
                else await self.guild(call)
            )
            response = await self.send("GET", f"/guilds/{gid}/bans/{t.user_id}", f"{gid}/bans")
            banned = response.status_code == 200
            if response.status_code not in (200, 404):
                raise self.refusal(response, a)
            if banned == (a == "ban"):
                return ActionOutcome(
                    "done", f"checked on Discord: {name} is {'banned' if banned else 'not banned'}"
                )
            return ActionOutcome(
                "failed", f"checked on Discord: the {a} of {name} did not take effect"
            )
        if a == "kick" and len(self.settings.guild_ids) > 1 and not t.channel_id:
            return await self.kicked_anywhere(call, name)
        if a in ("timeout", "kick", "role_add", "role_remove"):
            gid = await self.guild(call)
            response = await self.send(
                "GET", f"/guilds/{gid}/members/{t.user_id}", f"{gid}/members"
            )
            if response.status_code == 404:
                if a == "kick":
                    return ActionOutcome(
                        "done", f"checked on Discord: {name} is no longer a member"
                    )
                return ActionOutcome("failed", f"checked on Discord: {UNKNOWN[10007]}")
            if response.status_code >= 400:
                raise self.refusal(response, a)
            if a == "kick":
                return ActionOutcome("failed", f"checked on Discord: {name} is still a member")
            if a in ("role_add", "role_remove"):
                has = str(call.role) in [str(r) for r in response.json().get("roles") or []]
                ok = has == (a == "role_add")
                return ActionOutcome(
                    "done" if ok else "failed",
                    f"checked on Discord: {name} {'has' if has else 'lacks'} the role {call.role}",
                )
            value = response.json().get("communication_disabled_until")
            active = bool(value) and datetime.fromisoformat(value) > self.now()
            if active == (call.until is not None):
                line = "timed out" if active else "not timed out"
                return ActionOutcome(
                    "done", f"checked on Discord: {name} is {line}", lifts_itself=active
                )
            return ActionOutcome(
                "failed", f"checked on Discord: the timeout of {name} did not take effect"
            )
        if a in ("delete", "purge"):
            cid = t.channel_id or ""
            left = 0
            for mid in t.message_ids:
                response = await self.send("GET", f"/channels/{cid}/messages/{mid}", f"{cid}/get")
                if response.status_code == 200:
                    left += 1
                elif response.status_code != 404:
                    raise self.refusal(response, a)
            n = len(t.message_ids)
            if left:
                return ActionOutcome(
                    "failed", f"checked on Discord: {left} of {n} messages still there"
                )
            return ActionOutcome("done", f"checked on Discord: all {n} messages are gone")
        if a in ("lock", "unlock", "slowmode"):
            chan = await self.channel(call)
            if a == "slowmode":
                want = int(call.slowmode_seconds or 0)
                if want == 0 and call.restore is not None:
                    want = int(call.restore.get("seconds", 0))
                have = int(chan.get("rate_limit_per_user") or 0)
                status: Literal["done", "failed"] = "done" if have == want else "failed"
                return ActionOutcome(status, f"checked on Discord: slow mode is {have} s")
            o = self.everyone(chan)
            locked = o is not None and bool(int(o.get("deny", "0")) & SEND_MESSAGES)
            if a == "lock":
                # the overwrite before the lock is not known any more: it denied sending or not
                return ActionOutcome(
                    "done" if locked else "failed",
                    f"checked on Discord: {name} is {'locked' if locked else 'not locked'}",
                )
            if call.restore is not None and "overwrite" in call.restore:
                saved = call.restore["overwrite"]
                now = (
                    None
                    if o is None
                    else {"allow": str(o.get("allow", "0")), "deny": str(o.get("deny", "0"))}
                )
                same = now == (
                    None
                    if saved is None
                    else {"allow": str(saved["allow"]), "deny": str(saved["deny"])}
                )
                return ActionOutcome(
                    "done" if same else "failed",
                    f"checked on Discord: {name}'s permissions are {'as before the lock' if same else 'not as before the lock'}",
                )
            return ActionOutcome(
                "done" if not locked else "failed",
                f"checked on Discord: {name} is {'locked' if locked else 'not locked'}",
            )
        if a in ("say", "warn"):
            return await self.find_post(call, name)
        return None

    async def kicked_anywhere(self, call: ActionCall, name: str) -> ActionOutcome:
        """A kick without a channel in a source of several servers: the kick went to the
        first server the member was in, which a member lookup cannot tell any more."""
        uid = call.target.user_id
        still = 0
        for gid in self.settings.guild_ids:
            response = await self.send("GET", f"/guilds/{gid}/members/{uid}", f"{gid}/members")
            if response.status_code == 200:
                still += 1
            elif response.status_code != 404:
                raise self.refusal(response, call.action)
        if not still:
            return ActionOutcome("done", f"checked on Discord: {name} is in none of the servers")
        return ActionOutcome(
            "unknown",
            f"checked on Discord: {name} is still in {still} of the servers; which one the kick "
            "was for is not known: look in the server's audit log",
        )

    async def find_post(self, call: ActionCall, name: str) -> ActionOutcome | None:
        """Our post among the channel's recent messages (Discord does not return nonces)."""
        cid = call.target.channel_id or await self.dm_channel(call)
        if self._bot_id is None:
            me = await self.send("GET", "/users/@me", "")
            if me.status_code >= 400:
                raise self.refusal(me, call.action)
            self._bot_id = str(me.json().get("id"))
        response = await self.send(
            "GET", f"/channels/{cid}/messages", f"{cid}/list", params={"limit": 50}
        )
        if response.status_code >= 400:
            raise self.refusal(response, call.action)
        text = call.text or ""
        for msg in response.json():
            mine = (
                isinstance(msg, dict) and str((msg.get("author") or {}).get("id")) == self._bot_id
            )
            if mine and str(msg.get("content", "")).endswith(text):
                return ActionOutcome(
                    "done", f"checked on Discord: posted in {name}", ref=str(msg.get("id"))
                )
        return ActionOutcome(
            "failed", f"checked on Discord: no such post among the last 50 in {name}"
        )


def create_actor(settings: DiscordSettings, ctx: SourceContext) -> DiscordActor:
    return DiscordActor(settings, ctx)
