"""Telegram Bot API payloads (Updates, Messages, ChatMemberUpdated) as records.

Ids are the importer's (plugins/telegram/export.py): channel_id is the Bot API chat id and
source_id `f"{chat_id}:{message_id}"`, so live and imported messages dedupe.

Joins and leaves come from the service messages (`new_chat_members`, `left_chat_member`),
as in exports, and from `chat_member` updates: channels have no such messages, and Telegram
hides them in large groups, so there the updates are the only word of a join. Where both
arrive for one join, `MemberEvents` keeps the first (the service message's id is the
export's, so it usually wins, arriving first).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_kit import Malformed, epoch_seconds, integer, obj, raw_json, reason_for

PLATFORM = "telegram"
_MESSAGE_KEYS = {
    "message": Kind.MESSAGE,
    "channel_post": Kind.MESSAGE,
    "edited_message": Kind.EDIT,
    "edited_channel_post": Kind.EDIT,
}
_MEDIA_KEYS = ("photo", "document", "video", "audio", "voice", "sticker", "animation", "video_note")
_MEMBER = frozenset({"member", "administrator", "creator"})


def _user(user: dict[str, Any]) -> tuple[str, str, str | None, bool]:
    """(id, display name as Telegram Desktop writes it, @handle, is_bot)."""
    uid = str(integer(user.get("id"), "user id"))
    first = user.get("first_name") if isinstance(user.get("first_name"), str) else ""
    last = user.get("last_name") if isinstance(user.get("last_name"), str) else ""
    handle = user.get("username") if isinstance(user.get("username"), str) else None
    name = " ".join(p for p in (first, last) if p) or handle or uid
    return uid, name, handle, bool(user.get("is_bot"))


def _chat_label(chat: dict[str, Any], chat_id: str) -> str:
    for key in ("title", "username"):
        if isinstance(chat.get(key), str) and chat[key]:
            return str(chat[key])
    first, last = chat.get("first_name"), chat.get("last_name")
    name = " ".join(p for p in (first, last) if isinstance(p, str) and p)
    return name or chat_id


def _mentions(msg: dict[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for key in ("entities", "caption_entities"):
        for ent in msg.get(key) or ():
            if isinstance(ent, dict) and ent.get("type") == "text_mention":
                user = ent.get("user")
                if isinstance(user, dict) and isinstance(user.get("id"), int):
                    uid = str(user["id"])
                    if uid not in found:
                        found.append(uid)
    return tuple(found)


def message_records(msg: dict[str, Any], kind: Kind, community: str) -> list[Activity]:
    """A Bot API Message as activities (a service message may give one per member)."""
    chat = obj(msg.get("chat"), "chat")
    chat_id = str(integer(chat.get("id"), "chat id"))
    label = _chat_label(chat, chat_id)
    mid = integer(msg.get("message_id"), "message_id")
    sid = f"{chat_id}:{mid}"
    ts = epoch_seconds(msg.get("date"), "date")
    edited = epoch_seconds(msg["edit_date"], "edit_date") if "edit_date" in msg else None
    if kind is Kind.EDIT and edited is None:
        edited = ts
    if isinstance(msg.get("from"), dict):
        author_id, author, handle, is_bot = _user(msg["from"])
    elif isinstance(msg.get("sender_chat"), dict):
        sender = msg["sender_chat"]
        author_id = str(integer(sender.get("id"), "sender_chat id"))
        author, handle, is_bot = _chat_label(sender, author_id), sender.get("username"), False
    elif chat.get("type") == "channel":  # a channel post without a sender is the channel's
        author_id, author, handle, is_bot = chat_id, label, chat.get("username"), False
    else:
        raise Malformed("message has neither from nor sender_chat")
    base = Activity(
        platform=PLATFORM,
        source_id=sid,
        kind=kind,
        ts=ts,
        channel=label,
        author=author,
        author_id=author_id,
        community=community,
        channel_id=chat_id,
        author_handle=handle if isinstance(handle, str) else None,
        edited_ts=edited,
        is_bot=is_bot,
    )
    joined = msg.get("new_chat_members")
    if isinstance(joined, list) and joined:
        out = []
        for i, member in enumerate(joined):
            uid, name, mhandle, mbot = _user(obj(member, "a new chat member"))
            out.append(
                Activity(
                    platform=PLATFORM,
                    source_id=sid if i == 0 else f"{sid}/{i}",
                    kind=Kind.JOIN,
                    ts=ts,
                    channel=label,
                    author=name,
                    author_id=uid,
                    community=community,
                    channel_id=chat_id,
                    author_handle=mhandle,
                    is_bot=mbot,
                    extras={"by": author} if uid != author_id else {},
                )
            )
        return out
    if isinstance(msg.get("left_chat_member"), dict):
        uid, name, mhandle, mbot = _user(msg["left_chat_member"])
        base.kind, base.author, base.author_id = Kind.LEAVE, name, uid
        base.author_handle, base.is_bot = mhandle, mbot
        return [base]
    text = msg.get("text", msg.get("caption", ""))
    if not isinstance(text, str):
        raise Malformed("text is not a string")
    base.text = text
    reply = msg.get("reply_to_message")
    if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
        rchat = reply.get("chat")
        rid = rchat.get("id") if isinstance(rchat, dict) else None
        base.reply_to = f"{rid if isinstance(rid, int) else chat_id}:{reply['message_id']}"
    base.mentions = _mentions(msg)
    base.attachments = 1 if any(k in msg for k in _MEDIA_KEYS) else 0
    if isinstance(msg.get("author_signature"), str):
        base.extras["signature"] = msg["author_signature"]
    if not text and not base.attachments and kind is Kind.MESSAGE:
        service = next((k for k in msg if k.startswith(("new_chat_", "pinned", "group_"))), None)
        if service:
            base.kind, base.text = Kind.SYSTEM, service.replace("_", " ")
    return [base]


def _is_member(member: dict[str, Any]) -> bool:
    status = member.get("status")
    return status in _MEMBER or (status == "restricted" and member.get("is_member") is True)


def member_records(update: dict[str, Any], community: str) -> list[Activity]:
    """A `chat_member` update as a join or leave, in channels, groups and supergroups."""
    chat = obj(update.get("chat"), "chat")
    chat_id = str(integer(chat.get("id"), "chat id"))
    old = obj(update.get("old_chat_member"), "old_chat_member")
    new = obj(update.get("new_chat_member"), "new_chat_member")
    was, now = _is_member(old), _is_member(new)
    if was == now:
        return []
    uid, name, handle, is_bot = _user(obj(new.get("user"), "new_chat_member.user"))
    ts = epoch_seconds(update.get("date"), "date")
    return [
        Activity(
            platform=PLATFORM,
            source_id=f"{chat_id}:member:{uid}:{int(ts.timestamp())}:{new.get('status')}",
            kind=Kind.JOIN if now else Kind.LEAVE,
            ts=ts,
            channel=_chat_label(chat, chat_id),
            author=name,
            author_id=uid,
            community=community,
            channel_id=chat_id,
            author_handle=handle,
            is_bot=is_bot,
        )
    ]


def update_records(update: object, community: str, origin: str) -> list[Record]:
    """One Update as records: its activities, nothing for kinds we do not follow, or a quarantine."""
    uid = update.get("update_id") if isinstance(update, dict) else None
    position = f"update {uid}" if isinstance(uid, int) else "update without update_id"
    try:
        upd = obj(update, "update")
        for key, kind in _MESSAGE_KEYS.items():
            if key in upd:
                records: list[Activity] = message_records(obj(upd[key], key), kind, community)
                break
        else:
            if "chat_member" in upd:
                records = member_records(obj(upd["chat_member"], "chat_member"), community)
            else:
                return []
        for record in records:
            problem = record.validate()
            if problem:
                raise Malformed(problem)
        return list(records)
    except (Malformed, TypeError, KeyError, AttributeError) as exc:
        return [Quarantined(PLATFORM, origin, position, reason_for(exc), raw_json(update))]


_MEMBERSHIP = (Kind.JOIN, Kind.LEAVE)
SAME_EVENT = timedelta(minutes=2)  # a service message and its chat_member update lie this close


class MemberEvents:
    """Recent joins and leaves by chat and member, so one told twice is stored once.

    A join (or leave) reported by a service message and by a `chat_member` update is one
    event: the second report within `SAME_EVENT`, by the other route, is dropped. Reports by
    the same route are never dropped here (their ids already dedupe in the store), so a
    member who leaves and comes back is counted every time.
    """

    def __init__(self, limit: int = 8192) -> None:
        self.limit = limit
        self.last: OrderedDict[tuple[str, str], tuple[Kind, datetime, bool]] = OrderedDict()

    def fresh(self, record: Activity) -> bool:
        if record.kind not in _MEMBERSHIP:
            return True
        key = (record.channel_id, record.author_id)
        by_update = ":member:" in record.source_id
        seen = self.last.get(key)
        if seen is not None:
            kind, ts, seen_by_update = seen
            same = kind is record.kind and seen_by_update != by_update
            if same and abs(record.ts - ts) <= SAME_EVENT:
                return False
        self.last[key] = (record.kind, record.ts, by_update)
        self.last.move_to_end(key)
        if len(self.last) > self.limit:
            self.last.popitem(last=False)
        return True

    def keep(self, records: Sequence[Record]) -> list[Record]:
        return [r for r in records if not isinstance(r, Activity) or self.fresh(r)]
