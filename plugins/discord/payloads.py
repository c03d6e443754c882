"""Discord API objects (REST answers, Gateway dispatches) as records.

A message is rewritten into the shape DiscordChatExporter writes and handed to
`normalize_message` (plugins/discord/model.py), as the export importer does, so a live
message and the same message imported from an export are one record (same source_id, channel_id, author_id, kind, text). Reactions use
the importer's `message:emoji:user` id; joins and leaves, which exports only know as
system messages, get ids from the guild, the user and the time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_kit import Malformed, obj, raw_json, reason_for

from .model import (
    PLATFORM,
    SHAPE_ERRORS,
    ChannelInfo,
    channel_info,
    normalize_message,
    reaction_activities,
)

DISCORD_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
# message types DCE writes by name; the others it writes as their number
_TYPE_NAMES = {
    0: "Default",
    1: "RecipientAdd",
    2: "RecipientRemove",
    3: "Call",
    4: "ChannelNameChange",
    5: "ChannelIconChange",
    6: "ChannelPinnedMessage",
    7: "GuildMemberJoin",
    18: "ThreadCreated",
    19: "Reply",
}
_CHANNEL_TYPES = {
    0: "GuildTextChat",
    5: "GuildNews",
    10: "GuildNewsThread",
    11: "GuildPublicThread",
    12: "GuildPrivateThread",
}
THREAD_TYPES = frozenset({10, 11, 12})
TEXT_TYPES = frozenset({0, 5})  # the channels a backfill reads when none are configured
UNKNOWN_AUTHOR = "unknown"


def snowflake(value: object, what: str) -> str:
    """A Discord id as its decimal string; ids arrive as strings, tests and old bots send ints."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return value
    raise Malformed(f"{what} is not a snowflake id")


def snowflake_time(sid: str) -> datetime:
    """When a snowflake was made: the creation time of a message, exact to the millisecond."""
    return DISCORD_EPOCH + timedelta(milliseconds=int(sid) >> 22)


def time_snowflake(ts: datetime) -> int:
    """The smallest snowflake of `ts`: `after=` it reads every message from that time on."""
    ms = int((ts - DISCORD_EPOCH) / timedelta(milliseconds=1))
    return max(0, ms) << 22


def display_name(user: dict[str, Any], member: object = None) -> str:
    """As DCE shows an author: guild nickname, then global display name, then username."""
    nick = member.get("nick") if isinstance(member, dict) else None
    for name in (nick, user.get("global_name"), user.get("username")):
        if isinstance(name, str) and name:
            return name
    return str(user.get("id") or "")


def channel_from_api(
    channel: dict[str, Any], guild: dict[str, Any], parent_name: str | None, community: str
) -> ChannelInfo:
    """A Channel object as the importer's ChannelInfo, via the head DCE would have written."""
    kind = channel.get("type")
    cid = snowflake(channel.get("id"), "channel id")
    head = {
        "guild": {"id": guild.get("id"), "name": guild.get("name")},
        "channel": {
            "id": cid,
            "type": _CHANNEL_TYPES.get(kind, str(kind)) if isinstance(kind, int) else "",
            "categoryId": channel.get("parent_id"),
            "category": parent_name,
            "name": channel.get("name") if isinstance(channel.get("name"), str) else cid,
        },
    }
    return channel_info(head, community)


def _user(user: object, member: object, what: str) -> dict[str, Any]:
    u = obj(user, what)
    return {
        "id": snowflake(u.get("id"), f"{what} id"),
        "name": u.get("username") if isinstance(u.get("username"), str) else "",
        "discriminator": u.get("discriminator") if isinstance(u.get("discriminator"), str) else "0",
        "nickname": display_name(u, member),
        "isBot": u.get("bot") is True,
    }


def _list(value: object, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{what} is not a list")
    return value


def to_dce(msg: dict[str, Any]) -> dict[str, Any]:
    """An API Message in the shape DCE exports it (only the fields the importer reads)."""
    kind = msg.get("type", 0)
    if isinstance(kind, bool) or not isinstance(kind, int):
        raise Malformed("message type is not an integer")
    content = msg.get("content", "")
    if not isinstance(content, str):
        raise Malformed("message content is not a string")
    out: dict[str, Any] = {
        "id": snowflake(msg.get("id"), "message id"),
        "type": _TYPE_NAMES.get(kind, str(kind)),
        "timestamp": msg.get("timestamp"),
        "timestampEdited": msg.get("edited_timestamp"),
        "content": content,
        "author": _user(msg.get("author"), msg.get("member"), "message author"),
        "attachments": _list(msg.get("attachments"), "attachments"),
        "stickers": _list(msg.get("sticker_items"), "sticker_items"),
        "mentions": [
            {"id": snowflake(obj(m, "a mention").get("id"), "mention id")}
            for m in _list(msg.get("mentions"), "mentions")
        ],
        "reactions": [
            {"emoji": obj(r, "a reaction").get("emoji"), "count": r.get("count")}
            for r in _list(msg.get("reactions"), "reactions")
        ],
    }
    ref = msg.get("message_reference")
    if isinstance(ref, dict) and ref.get("message_id") is not None:
        out["reference"] = {"messageId": ref.get("message_id"), "channelId": ref.get("channel_id")}
    return out


def message_records(
    msg: object, chan: ChannelInfo, origin: str, kind: Kind = Kind.MESSAGE
) -> list[Record]:
    """A Message (REST, MESSAGE_CREATE, or MESSAGE_UPDATE as an edit), or its quarantine."""
    try:
        activities = normalize_message(to_dce(obj(msg, "message")), chan)
        if kind is Kind.EDIT:
            first = activities[0]
            first.kind = Kind.EDIT
            first.edited_ts = first.edited_ts or first.ts
            activities = [first]  # reactions ride on their own events
        for a in activities:
            problem = a.validate()
            if problem:
                raise Malformed(problem)
        return list(activities)
    except SHAPE_ERRORS as exc:
        return [quarantine(exc, msg, origin, chan.channel_id)]


def quarantine(exc: Exception, payload: object, origin: str, channel_id: str = "") -> Quarantined:
    reason = reason_for(exc)
    mid = payload.get("id") if isinstance(payload, dict) else None
    where = f"message {mid}" if isinstance(mid, str | int) else "a payload without id"
    if channel_id:
        where += f" in channel {channel_id}"
    return Quarantined(PLATFORM, origin, where, reason[:300], raw_json(payload))


def delete_record(d: dict[str, Any], chan: ChannelInfo, author: tuple[str, str] | None) -> Activity:
    """A deleted message as a tombstone; the author only when this process saw the message."""
    mid = snowflake(d.get("id"), "message id")
    author_id, name = author or (UNKNOWN_AUTHOR, "(unknown author)")
    return Activity(
        platform=PLATFORM,
        source_id=mid,
        kind=Kind.DELETE,
        ts=snowflake_time(mid),
        channel=chan.channel,
        author=name,
        author_id=author_id,
        community=chan.community,
        channel_id=chan.channel_id,
        thread=chan.thread,
        extras=chan.extras.copy(),
    )


def reaction_record(d: dict[str, Any], chan: ChannelInfo, now: datetime) -> Activity:
    """MESSAGE_REACTION_ADD as the importer makes a reactor entry, so the two dedupe."""
    mid = snowflake(d.get("message_id"), "message_id")
    uid = snowflake(d.get("user_id"), "user_id")
    emoji = obj(d.get("emoji"), "emoji")
    member = d.get("member")
    user = member.get("user") if isinstance(member, dict) else None
    user = user if isinstance(user, dict) and user.get("id") == uid else {"id": uid}
    reaction = {
        "emoji": {"id": emoji.get("id") or "", "name": emoji.get("name")},
        "users": [_user(user, member, "reacting user")],
    }
    [activity] = reaction_activities(mid, now, [reaction], chan)
    return activity


def member_record(
    kind: Kind, d: dict[str, Any], guild_name: str | None, community: str, now: datetime
) -> Activity:
    """GUILD_MEMBER_ADD / _REMOVE as a join or leave, placed in the guild as its channel."""
    gid = snowflake(d.get("guild_id"), "guild_id")
    user = obj(d.get("user"), "user")
    uid = snowflake(user.get("id"), "user id")
    ts = now
    if kind is Kind.JOIN and isinstance(d.get("joined_at"), str):
        ts = datetime.fromisoformat(d["joined_at"])
        if ts.tzinfo is None:
            raise Malformed("joined_at has no zone offset")
        ts = ts.astimezone(UTC)
    stamp = int(ts.timestamp() * 1000)
    extras: dict[str, Any] = {"guild_id": gid}
    if guild_name:
        extras["guild"] = guild_name
    return Activity(
        platform=PLATFORM,
        source_id=f"member:{gid}:{uid}:{kind.value}:{stamp}",
        kind=kind,
        ts=ts,
        channel=guild_name or gid,
        author=display_name(user, d),
        author_id=uid,
        community=community,
        channel_id=gid,
        author_handle=user.get("username") if isinstance(user.get("username"), str) else None,
        is_bot=user.get("bot") is True,
        extras=extras,
    )
