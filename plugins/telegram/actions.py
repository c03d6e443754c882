"""Telegram's hands: moderation through the Bot API with the bot's token.

Mute and timeout are `restrictChatMember` with `until_date` (Telegram lifts them itself, as
it does a ban with `until_date`); a kick is a ban lifted at once; a lock takes the send
rights from the chat's default permissions and an unlock puts back exactly what `getChat`
showed before. A call with a side effect is sent once: a lost answer is `unknown`, and
`verify` reads `getChatMember` or `getChat`. Refusals become one line: "not enough rights"
names the administrator right to give the bot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from cockpit.plugin_api import ActionCall, ActionOutcome, SourceContext
from cockpit.plugin_kit import ApiClient, ApiError, MaybeSent, RateLimited, health_for

from .bot import TelegramBotSettings
from .payloads import PLATFORM

ACTIONS = frozenset(
    {"delete", "purge", "timeout", "kick", "ban", "unban", "lock", "unlock", "say", "warn"}
)
READS = frozenset({"getChat", "getChatMember"})
SEND = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
)
EVERY = (*SEND, "can_change_info", "can_invite_users", "can_pin_messages", "can_manage_topics")
MIN_SPAN = timedelta(seconds=31)  # Telegram treats less than 30 s as "forever"
MAX_SPAN = timedelta(days=366)  # and more than 366 days as well
MAYBE = "the answer was lost on the way back; the cockpit will check on Telegram, not resend"
RIGHT = {
    "delete": "can_delete_messages",
    "purge": "can_delete_messages",
}


class Refused(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TelegramActor:
    """Implements `cockpit.plugin_api.Actor` for one Telegram bot source."""

    def __init__(
        self,
        settings: TelegramBotSettings,
        ctx: SourceContext,
        *,
        client: ApiClient | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_wait: float = 60.0,
    ) -> None:
        self.client = client or ApiClient(
            f"telegram source {ctx.name!r}",
            f"{settings.base_url.rstrip('/')}/bot{settings.token}",
            timeout=30.0,
            on_wait=health_for(ctx.name).waited,
            auth_hint="check `token` (the bot token from @BotFather)",
        )
        self.client.keep_secret(settings.token)
        self.now = now
        self.max_wait = max_wait
        self.actions: Mapping[str, frozenset[str]] = {PLATFORM: ACTIONS}

    async def aclose(self) -> None:
        await self.client.aclose()

    async def api(self, action: str, method: str, params: Mapping[str, Any]) -> Any:
        """One Bot API method: its `result`, or `Refused` with the one line to show."""
        response = await self.client.request(
            "POST",
            f"/{method}",
            what=method,
            json=dict(params),
            idempotent=method in READS,
            ok_statuses=frozenset(range(400, 500)) - {429},
            max_wait=self.max_wait,
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True and response.status_code < 400:
            return body.get("result")
        raise Refused(self.refusal(response, body, action, method))

    def refusal(self, response: httpx.Response, body: Any, action: str, method: str) -> str:
        status = response.status_code
        text = str(body.get("description") or "") if isinstance(body, dict) else ""
        low = text.lower()
        if status == 401 or (status == 404 and method != "sendMessage"):
            return "Telegram does not accept the bot token: check `token` (from @BotFather)"
        if "can't initiate conversation" in low or "bot was blocked by the user" in low:
            return (
                "Telegram lets a bot message a member only after they started a chat with it "
                "(or when they blocked it): post in the group instead"
            )
        if "not enough rights to send" in low or "have no rights to send" in low:
            return (
                "the bot may not post in this chat: make it an administrator with "
                "can_post_messages (a channel), or let it send messages (a group)"
            )
        if "not enough rights" in low or "can't be deleted" in low or "chat_admin_required" in low:
            right = RIGHT.get(action, "can_restrict_members")
            return f"the bot lacks the right: make it an administrator with {right} in this chat"
        if "message to delete not found" in low:
            return "message already gone"
        if "user not found" in low or "participant_id_invalid" in low:
            return "no such member in this chat"
        if "chat not found" in low:
            return "Telegram does not know this chat (or the bot is not in it)"
        if "administrator" in low and "user is" in low:
            return "the member is an administrator of the chat: Telegram lets no bot restrict them"
        if status == 403:
            return (
                f"the bot cannot act in this chat ({self.client.redact(text)[:120]}): add it back"
            )
        clean = self.client.redact(text or response.reason_phrase)[:160]
        return f"Telegram refused {method} (HTTP {status}: {clean})"

    def until(self, call: ActionCall) -> int | None:
        if call.until is None:
            return None
        left = call.until - self.now()
        if left < MIN_SPAN:
            raise Refused("Telegram needs at least 30 seconds (a shorter time would be forever)")
        if left > MAX_SPAN:
            raise Refused("Telegram takes at most 366 days; leave the end out for a permanent ban")
        return int(call.until.timestamp())

    async def perform(self, call: ActionCall) -> ActionOutcome:
        t = call.target
        name = t.label or t.user_id or t.channel_id or "?"
        if call.action not in ACTIONS:
            return ActionOutcome("failed", f"telegram cannot {call.action} from the cockpit")
        dm = call.action in ("say", "warn") and not t.channel_id and bool(t.user_id)
        if not t.channel_id and not dm:
            return ActionOutcome("failed", f"{call.action} on Telegram needs a chat")
        member = call.action in ("timeout", "kick", "ban", "unban")
        if member and not t.user_id:
            return ActionOutcome("failed", f"{call.action} on Telegram needs a member")
        try:
            return await self.act(call, name)
        except Refused as exc:
            if exc.detail == "message already gone":
                return ActionOutcome("done", exc.detail)
            return ActionOutcome("failed", exc.detail)
        except MaybeSent:
            return ActionOutcome("unknown", f"{call.action} of {name}: {MAYBE}")
        except RateLimited as exc:
            return ActionOutcome(
                "failed",
                f"Telegram rate limits the bot for {exc.retry_after:.0f} s more; try again later",
                retry_after=exc.retry_after,
            )
        except ApiError as exc:
            return ActionOutcome("failed", str(exc).splitlines()[0][:240])

    async def act(self, call: ActionCall, name: str) -> ActionOutcome:
        t, a = call.target, call.action
        # no chat, a member: a direct message (a private chat's id is the user's id)
        chat: dict[str, Any] = {"chat_id": t.channel_id or t.user_id}
        who = {**chat, "user_id": _int(t.user_id or "0", "member id")}
        if a in ("delete", "purge"):
            ids = [_int(m, "message id") for m in dict.fromkeys(t.message_ids)]
            if not ids:
                return ActionOutcome("failed", f"{a} on Telegram needs messages")
            if len(ids) == 1:
                await self.api(a, "deleteMessage", {**chat, "message_id": ids[0]})
                return ActionOutcome("done", "deleted 1 message")
            deleted = 0
            for i in range(0, len(ids), 100):
                try:
                    await self.api(a, "deleteMessages", {**chat, "message_ids": ids[i : i + 100]})
                except MaybeSent:
                    line = f"deleted {deleted} of {len(ids)} messages; the rest {MAYBE}"
                    return ActionOutcome("unknown", line)
                except Refused as exc:
                    if not deleted:
                        raise
                    return ActionOutcome("failed", f"deleted {deleted} of {len(ids)}; {exc.detail}")
                deleted += len(ids[i : i + 100])
            return ActionOutcome(
                "done", f"deleted {deleted} messages (any already gone were skipped)"
            )
        if a == "timeout":
            until = self.until(call)
            if until is None:
                perms = {p: True for p in EVERY}
                await self.api(a, "restrictChatMember", {**who, "permissions": perms})
                return ActionOutcome("done", f"mute of {name} lifted")
            perms = {p: False for p in SEND}
            params = {**who, "permissions": perms, "use_independent_chat_permissions": True}
            await self.api(a, "restrictChatMember", {**params, "until_date": until})
            assert call.until is not None
            line = f"muted {name} until {call.until:%Y-%m-%d %H:%M} UTC"
            return ActionOutcome("done", line, lifts_itself=True)
        if a == "ban":
            until = self.until(call)
            params = {**who, "revoke_messages": bool(call.delete_history)}
            if until is not None:
                params["until_date"] = until
            await self.api(a, "banChatMember", params)
            span = f" until {call.until:%Y-%m-%d %H:%M} UTC" if call.until else ""
            wiped = ", their messages deleted" if call.delete_history else ""
            return ActionOutcome(
                "done", f"banned {name}{span}{wiped}", lifts_itself=until is not None
            )
        if a == "kick":
            await self.api(a, "banChatMember", who)
            try:
                await self.api(a, "unbanChatMember", {**who, "only_if_banned": True})
            except Refused as exc:
                return ActionOutcome("failed", f"{name} is banned, not only removed: {exc.detail}")
            except MaybeSent:
                return ActionOutcome("unknown", f"{name} was banned; lifting it: {MAYBE}")
            return ActionOutcome("done", f"removed {name} (they may join again)")
        if a == "unban":
            await self.api(a, "unbanChatMember", {**who, "only_if_banned": True})
            return ActionOutcome("done", f"unbanned {name}")
        if a == "lock":
            before = await self.permissions(a, chat)
            locked = {p: (False if p in SEND else bool(before.get(p, False))) for p in EVERY}
            await self.api(
                a,
                "setChatPermissions",
                {**chat, "permissions": locked, "use_independent_chat_permissions": True},
            )
            return ActionOutcome(
                "done", f"locked {name} (members may not send)", restore={"permissions": before}
            )
        if a == "unlock":
            saved = call.restore.get("permissions") if call.restore else None
            if isinstance(saved, Mapping):
                perms = {p: bool(saved.get(p, False)) for p in EVERY}
                line = f"unlocked {name} (permissions as before the lock)"
            else:
                now = await self.permissions(a, chat)
                perms = {p: (True if p in SEND else bool(now.get(p, False))) for p in EVERY}
                line = f"unlocked {name} (members may send again)"
            await self.api(
                a,
                "setChatPermissions",
                {**chat, "permissions": perms, "use_independent_chat_permissions": True},
            )
            return ActionOutcome("done", line)
        # say, warn
        text = call.text or ""
        if not text.strip():
            return ActionOutcome("failed", f"{a} needs a text to post")
        if len(text) > 4096:
            return ActionOutcome(
                "failed", f"Telegram messages are at most 4096 characters ({len(text)})"
            )
        params = {**chat, "text": text}
        if t.message_ids:
            params["reply_parameters"] = {
                "message_id": _int(t.message_ids[0], "message id"),
                "allow_sending_without_reply": True,
            }
        result = await self.api(a, "sendMessage", params)
        ref = result.get("message_id") if isinstance(result, dict) else None
        return ActionOutcome("done", f"posted in {name}", ref=str(ref) if ref is not None else None)

    async def permissions(self, action: str, chat: Mapping[str, Any]) -> dict[str, bool]:
        result = await self.api(action, "getChat", chat)
        perms = result.get("permissions") if isinstance(result, dict) else None
        if not isinstance(perms, dict):
            raise Refused("Telegram did not show this chat's permissions (is it a group?)")
        return {p: bool(perms.get(p, False)) for p in EVERY}

    async def verify(self, call: ActionCall) -> ActionOutcome | None:
        t, a = call.target, call.action
        name = t.label or t.user_id or t.channel_id or "?"
        chat = {"chat_id": t.channel_id}
        try:
            if a in ("ban", "unban", "timeout", "kick"):
                member = await self.api(
                    a, "getChatMember", {**chat, "user_id": _int(t.user_id or "0", "member id")}
                )
                status = member.get("status") if isinstance(member, dict) else None
                if a == "ban":
                    ok = status == "kicked"
                elif a == "unban":
                    ok = status != "kicked"
                elif a == "kick":
                    ok = status in ("left", "kicked")
                elif call.until is None:
                    ok = status != "restricted" or bool(member.get("can_send_messages"))
                else:
                    ok = status == "restricted" and not member.get("can_send_messages")
                line = f"checked on Telegram: {name} is {status}"
                return ActionOutcome(
                    "done" if ok else "failed",
                    line,
                    lifts_itself=ok and a != "unban" and call.until is not None,
                )
            if a in ("lock", "unlock"):
                perms = await self.permissions(a, chat)
                if (
                    a == "unlock"
                    and call.restore
                    and isinstance(call.restore.get("permissions"), Mapping)
                ):
                    saved = call.restore["permissions"]
                    ok = all(perms[p] == bool(saved.get(p, False)) for p in EVERY)
                else:
                    ok = (not perms["can_send_messages"]) == (a == "lock")
                line = f"checked on Telegram: members {'may not' if not perms['can_send_messages'] else 'may'} send"
                return ActionOutcome("done" if ok else "failed", line)
        except Refused as exc:
            return ActionOutcome("unknown", f"cannot check on Telegram: {exc.detail}")
        except ApiError as exc:
            return ActionOutcome("unknown", f"cannot check on Telegram: {str(exc)[:200]}")
        return None  # the Bot API cannot read a message back: a human checks


def _int(value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Refused(f"Telegram {what}s are numbers, not {value[:40]!r}") from None


def create_actor(settings: TelegramBotSettings, ctx: SourceContext) -> TelegramActor:
    return TelegramActor(settings, ctx)
