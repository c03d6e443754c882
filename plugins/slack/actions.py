"""Slack's hands: what a bot token can do through the Web API (chat.postMessage, chat.delete,
conversations.kick). Slack answers refusals with HTTP 200 `{"ok": false, "error": ...}`;
each becomes one line (a missing scope names the scope). Timeouts, bans and channel locks
have no bot-token API on Slack: they are refused in one line saying what it would take.
A write is sent once: a lost answer (or Slack's own `fatal_error`) is `unknown`, and `verify`
reads the channel's history for a delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from cockpit.plugin_api import ActionCall, ActionOutcome, SourceContext
from cockpit.plugin_kit import ApiClient, ApiError, MaybeSent, RateLimited, health_for

from .events import SlackEventsSettings
from .model import PLATFORM

ACTIONS = frozenset({"delete", "purge", "kick", "say", "warn"})
NOT_HERE = {
    "timeout": "Slack has no timeout a bot can set: restricting a member takes an admin of an "
    "Enterprise Grid org (admin.* methods with an admin user token)",
    "ban": "Slack has no ban a bot can set: deactivating a member takes a workspace admin "
    "(Enterprise Grid: admin.users.remove with an admin user token); kick removes them from "
    "a channel",
    "unban": "Slack has no ban a bot can lift: reactivating a member takes a workspace admin",
    "lock": "Slack has no channel lock in the Web API: posting permissions are a channel "
    "setting an admin changes (paid plans)",
    "unlock": "Slack has no channel lock in the Web API: posting permissions are a channel "
    "setting an admin changes (paid plans)",
    "slowmode": "Slack has no slow mode",
}
TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
MAYBE = "the answer was lost on the way back; the cockpit will check on Slack, not resend"


class Refused(Exception):
    def __init__(self, detail: str, gone: bool = False, maybe: bool = False) -> None:
        super().__init__(detail)
        self.detail, self.gone, self.maybe = detail, gone, maybe


def refusal(body: Mapping[str, Any], action: str) -> Refused:
    error = str(body.get("error") or "not ok")
    if error in TOKEN_ERRORS:
        return Refused(f"Slack refused the bot token ({error}): check `bot_token` (xoxb-)")
    if error == "missing_scope":
        needed = body.get("needed") or "?"
        return Refused(
            f"the app lacks the scope {needed}: add it under OAuth & Permissions and reinstall"
        )
    if error == "not_in_channel" and action == "kick":
        return Refused("the member is not in this channel", gone=True)
    if error == "message_not_found":
        return Refused("message already gone", gone=True)
    if error in ("fatal_error", "internal_error", "service_unavailable", "request_timeout"):
        return Refused(f"Slack failed midway ({error}): it may have acted", maybe=True)
    lines = {
        "not_in_channel": "the bot is not in this channel: /invite it there",
        "channel_not_found": "Slack does not know this channel (or the bot cannot see it)",
        "cant_delete_message": "a bot token deletes only the bot's own messages: deleting a "
        "member's takes a workspace admin's user token",
        "restricted_action": "the workspace's settings do not let the app do this: an admin "
        "must allow it",
        "cant_kick_self": "the bot cannot remove itself",
        "cant_kick_from_general": "nobody can be removed from the workspace's general channel",
        "user_not_found": "Slack does not know this member",
        "cannot_dm_bot": "the member is a bot: Slack does not let the app DM it",
        "user_disabled": "the member's account is deactivated",
        "msg_too_long": "the message is too long for Slack",
        "is_archived": "the channel is archived",
    }
    return Refused(lines.get(error, f"Slack refused {action} ({error})"))


class SlackActor:
    """Implements `cockpit.plugin_api.Actor` for one Slack source (its bot token)."""

    def __init__(
        self,
        settings: SlackEventsSettings,
        ctx: SourceContext,
        *,
        client: ApiClient | None = None,
        max_wait: float = 60.0,
    ) -> None:
        self.client = client
        if client is None and settings.bot_token:
            self.client = ApiClient(
                f"slack source {ctx.name!r}",
                settings.base_url,
                headers={"Authorization": f"Bearer {settings.bot_token}"},
                timeout=15.0,
                on_wait=health_for(ctx.name).waited,
                auth_hint="check `bot_token` (xoxb-)",
            )
        self.max_wait = max_wait
        self.actions: Mapping[str, frozenset[str]] = {PLATFORM: ACTIONS}

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def api(
        self, action: str, method: str, args: Mapping[str, Any], read: bool = False
    ) -> dict[str, Any]:
        if self.client is None:
            raise Refused("this Slack source has no `bot_token`: the cockpit cannot act with it")
        response = await self.client.request(
            "GET" if read else "POST",
            f"/{method}",
            what=method,
            params=args if read else None,
            json=None if read else dict(args),
            idempotent=read,
            ok_statuses=frozenset(range(400, 500)) - {429},
            max_wait=self.max_wait,
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Refused(f"Slack answered {method} with HTTP {response.status_code} and no JSON")
        if body.get("ok") is not True:
            raise refusal(body, action)
        return body

    async def perform(self, call: ActionCall) -> ActionOutcome:
        t, a = call.target, call.action
        name = t.label or t.user_id or t.channel_id or "?"
        if a in NOT_HERE:
            return ActionOutcome("failed", NOT_HERE[a])
        if a not in ACTIONS:
            return ActionOutcome("failed", f"slack cannot {a} from the cockpit")
        dm = a in ("say", "warn") and not t.channel_id and bool(t.user_id)
        if not t.channel_id and not dm:
            return ActionOutcome("failed", f"{a} on Slack needs a channel")
        try:
            return await self.act(call, name)
        except Refused as exc:
            if exc.maybe:
                return ActionOutcome("unknown", exc.detail)
            return ActionOutcome("done" if exc.gone else "failed", exc.detail)
        except MaybeSent:
            return ActionOutcome("unknown", f"{a} of {name}: {MAYBE}")
        except RateLimited as exc:
            line = f"Slack rate limits this for {exc.retry_after:.0f} s more; try again later"
            return ActionOutcome("failed", line, retry_after=exc.retry_after)
        except ApiError as exc:
            return ActionOutcome("failed", str(exc).splitlines()[0][:240])

    async def act(self, call: ActionCall, name: str) -> ActionOutcome:
        t, a = call.target, call.action
        cid = t.channel_id
        if a in ("delete", "purge"):
            ids = list(dict.fromkeys(t.message_ids))
            if not ids:
                return ActionOutcome("failed", f"{a} on Slack needs messages")
            deleted = gone = 0
            for ts in ids:
                try:
                    await self.api(a, "chat.delete", {"channel": cid, "ts": ts})
                    deleted += 1
                except Refused as exc:
                    if exc.gone:
                        gone += 1
                        continue
                    if len(ids) == 1:
                        raise
                    status: Literal["unknown", "failed"] = "unknown" if exc.maybe else "failed"
                    return ActionOutcome(status, f"deleted {deleted} of {len(ids)}; {exc.detail}")
                except MaybeSent:
                    if len(ids) == 1:
                        raise
                    line = f"deleted {deleted} of {len(ids)}; the next one: {MAYBE}"
                    return ActionOutcome("unknown", line)
            if len(ids) == 1:
                return ActionOutcome(
                    "done", "message already gone" if gone else "deleted 1 message"
                )
            extra = f" ({gone} already gone)" if gone else ""
            return ActionOutcome("done", f"deleted {deleted} of {len(ids)} messages{extra}")
        if a == "kick":
            if not t.user_id:
                return ActionOutcome("failed", "kick on Slack needs a member")
            try:
                await self.api(a, "conversations.kick", {"channel": cid, "user": t.user_id})
            except Refused as exc:
                if exc.gone:
                    return ActionOutcome("done", f"{name} was not in the channel")
                raise
            return ActionOutcome("done", f"removed {name} from the channel")
        text = call.text or ""
        if a == "warn" and t.user_id:
            text = f"<@{t.user_id}> {text}"
        if not (call.text or "").strip():
            return ActionOutcome("failed", f"{a} needs a text to post")
        if not cid:  # a direct message: open (or find) the DM with the member first
            opened = await self.api(a, "conversations.open", {"users": t.user_id})
            channel = opened.get("channel") if isinstance(opened, dict) else None
            cid = str(channel.get("id")) if isinstance(channel, dict) else ""
            if not cid:
                return ActionOutcome("failed", "Slack opened no direct message with the member")
            text = call.text or ""  # no mention in a DM
        args: dict[str, Any] = {"channel": cid, "text": text, "unfurl_links": False}
        if t.message_ids:
            args["thread_ts"] = t.message_ids[0]
        body = await self.api(a, "chat.postMessage", args)
        posted = body.get("ts")
        return ActionOutcome("done", f"posted in {name}", ref=str(posted) if posted else None)

    async def verify(self, call: ActionCall) -> ActionOutcome | None:
        t = call.target
        if call.action not in ("delete", "purge") or not t.message_ids:
            return None  # a post or a kick leaves nothing a bot token can read back cheaply
        left = 0
        try:
            for ts in t.message_ids:
                args = {
                    "channel": t.channel_id,
                    "latest": ts,
                    "oldest": ts,
                    "inclusive": "true",
                    "limit": "1",
                }
                body = await self.api(call.action, "conversations.history", args, read=True)
                left += bool(body.get("messages"))
        except Refused as exc:
            return ActionOutcome("unknown", f"cannot check on Slack: {exc.detail}")
        except ApiError as exc:
            return ActionOutcome("unknown", f"cannot check on Slack: {str(exc)[:200]}")
        n = len(t.message_ids)
        if left:
            return ActionOutcome("failed", f"checked on Slack: {left} of {n} messages still there")
        return ActionOutcome("done", f"checked on Slack: all {n} messages are gone")


def create_actor(settings: SlackEventsSettings, ctx: SourceContext) -> SlackActor:
    return SlackActor(settings, ctx)
