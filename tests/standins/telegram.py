"""A loopback Telegram Bot API for the moderation methods: `POST /bot<token>/<method>` with
a JSON body, answers `{"ok": true, "result": ...}` or `{"ok": false, "error_code",
"description"}` as documented (400 "not enough rights...", 401 Unauthorized, 403 kicked,
429 with `parameters.retry_after`)."""

from __future__ import annotations

from typing import Any

from .server import Reply, Seen, StandIn

TOKEN = "123456:telegram-SECRET-token"
CHAT = "-1001234567890"
PERMISSIONS = (
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
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)


def fail(code: int, description: str, **extra: Any) -> Reply:
    return Reply(code, {"ok": False, "error_code": code, "description": description, **extra})


def ok(result: Any) -> Reply:
    return Reply(200, {"ok": True, "result": result})


class TelegramStandIn(StandIn):
    def __init__(self) -> None:
        super().__init__()
        self.rights = {"can_delete_messages", "can_restrict_members"}
        self.permissions: dict[str, bool] = {p: p != "can_change_info" for p in PERMISSIONS}
        self.members: dict[str, dict[str, Any]] = {}
        self.messages: set[int] = set()
        self.sent = 0
        self.started: set[str] = set()  # members who started a private chat with the bot
        self.private: list[tuple[str, str]] = []  # (user id, text) sent in private chats
        self.route("POST", "/bot{token}/{method}", self._method)

    def add_member(self, uid: str) -> None:
        self.members[uid] = {"user": {"id": int(uid), "is_bot": False}, "status": "member"}

    def _method(self, q: Seen, a: dict[str, str]) -> Reply:
        if a["token"] != TOKEN:
            return fail(401, "Unauthorized")
        body = q.json or {}
        chat = str(body.get("chat_id"))
        if a["method"] == "sendMessage" and chat in self.members:  # a private chat
            if chat not in self.started:
                return fail(403, "Forbidden: bot can't initiate conversation with a user")
            self.private.append((chat, str(body.get("text", ""))))
            self.sent += 1
            return ok(
                {"message_id": 9000 + self.sent, "chat": {"id": int(chat), "type": "private"}}
            )
        if chat != CHAT:
            return fail(400, "Bad Request: chat not found")
        handler = getattr(self, "m_" + a["method"], None)
        if handler is None:
            return fail(404, "Not Found")
        answer: Reply = handler(body)
        return answer

    def _member(self, body: dict[str, Any]) -> dict[str, Any] | None:
        return self.members.get(str(body.get("user_id")))

    def m_getChat(self, body: dict[str, Any]) -> Reply:
        return ok({"id": int(CHAT), "type": "supergroup", "permissions": dict(self.permissions)})

    def m_getChatMember(self, body: dict[str, Any]) -> Reply:
        member = self._member(body)
        if member is None:
            return fail(400, "Bad Request: user not found")
        return ok(member)

    def m_setChatPermissions(self, body: dict[str, Any]) -> Reply:
        if "can_restrict_members" not in self.rights:
            return fail(400, "Bad Request: not enough rights to change chat permissions")
        given = body.get("permissions") or {}
        if body.get("use_independent_chat_permissions"):
            self.permissions = {p: bool(given.get(p, False)) for p in PERMISSIONS}
        else:
            self.permissions.update({k: bool(v) for k, v in given.items()})
        return ok(True)

    def m_restrictChatMember(self, body: dict[str, Any]) -> Reply:
        if "can_restrict_members" not in self.rights:
            return fail(400, "Bad Request: not enough rights to restrict/unrestrict chat member")
        member = self._member(body)
        if member is None:
            return fail(400, "Bad Request: user not found")
        perms = body.get("permissions") or {}
        if all(perms.get(p) for p in PERMISSIONS):
            member.update(status="member")
            member.pop("until_date", None)
            member.pop("can_send_messages", None)
        else:
            member.update(status="restricted", until_date=body.get("until_date", 0), **perms)
        return ok(True)

    def m_banChatMember(self, body: dict[str, Any]) -> Reply:
        if "can_restrict_members" not in self.rights:
            return fail(400, "Bad Request: not enough rights to restrict/unrestrict chat member")
        member = self._member(body)
        if member is None:
            return fail(400, "Bad Request: user not found")
        member.update(status="kicked", until_date=body.get("until_date", 0))
        return ok(True)

    def m_unbanChatMember(self, body: dict[str, Any]) -> Reply:
        if "can_restrict_members" not in self.rights:
            return fail(400, "Bad Request: not enough rights to restrict/unrestrict chat member")
        member = self._member(body)
        if member is None:
            return fail(400, "Bad Request: user not found")
        if member["status"] == "kicked":
            member.update(status="left")
        elif not body.get("only_if_banned"):
            member.update(status="left")  # as documented: without only_if_banned it removes
        return ok(True)

    def m_deleteMessage(self, body: dict[str, Any]) -> Reply:
        mid = body.get("message_id")
        if mid not in self.messages:
            return fail(400, "Bad Request: message to delete not found")
        if "can_delete_messages" not in self.rights:
            return fail(400, "Bad Request: message can't be deleted")
        self.messages.discard(mid)
        return ok(True)

    def m_deleteMessages(self, body: dict[str, Any]) -> Reply:
        ids = body.get("message_ids") or []
        if not 1 <= len(ids) <= 100:
            return fail(400, "Bad Request: too many messages to delete")
        if "can_delete_messages" not in self.rights:
            return fail(400, "Bad Request: message can't be deleted")
        self.messages.difference_update(ids)
        return ok(True)

    def m_sendMessage(self, body: dict[str, Any]) -> Reply:
        if not body.get("text"):
            return fail(400, "Bad Request: message text is empty")
        self.sent += 1
        mid = 9000 + self.sent
        self.messages.add(mid)
        return ok({"message_id": mid, "chat": {"id": int(CHAT)}, "text": body["text"]})
