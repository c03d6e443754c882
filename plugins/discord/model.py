"""Discord messages in the shape DiscordChatExporter (DCE) writes them, as activities.

`normalize_message` turns one DCE message dict into activities; it knows nothing of files,
so the export importer (plugins/discord/export.py) and the live connector, which rewrites
API messages into this shape (plugins/discord/payloads.py), make the same records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from cockpit.model import Activity, Kind
from cockpit.plugin_kit import Malformed, localize

PLATFORM = "discord"

_THREAD_TYPES = frozenset({"GuildPublicThread", "GuildPrivateThread", "GuildNewsThread"})
_THREAD_TYPES |= {"10", "11", "12"}  # the same, as DCE writes enum values it has no name for
_JOIN_TYPES = frozenset({"GuildMemberJoin", "RecipientAdd"})
_SYSTEM_TYPES = frozenset(
    {
        "Call",
        "ChannelNameChange",
        "ChannelIconChange",
        "ChannelPinnedMessage",
        "ThreadCreated",
    }
)
_USER_NUMERIC_TYPES = frozenset({"0", "19", "20", "23"})  # default, reply, command replies
# Errors a wrongly shaped field raises inside normalize_message; they quarantine one message.
SHAPE_ERRORS = (AttributeError, KeyError, TypeError, ValueError, OverflowError, IndexError)


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """Where messages were posted: what every activity from one export shares."""

    community: str
    channel_id: str
    channel: str
    thread: str | None = None
    guild_id: str | None = None
    guild: str | None = None
    parent_id: str | None = None
    parent: str | None = None
    tz: tzinfo | None = None
    extras: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pairs = (
            ("guild_id", self.guild_id),
            ("guild", self.guild),
            ("parent_channel_id", self.parent_id),
            ("parent_channel", self.parent),
        )
        object.__setattr__(self, "extras", {k: v for k, v in pairs if v is not None})


def as_str(value: object) -> str:
    """Any JSON scalar as text (ids arrive as strings or numbers); None as \"\"."""
    if type(value) is str:
        return value
    return "" if value is None else str(value)


def _opt(value: object) -> str | None:
    return None if value is None else as_str(value)


def channel_info(head: dict[str, Any], community: str, tz: tzinfo | None = None) -> ChannelInfo:
    """The shared channel facts from an export's `guild` and `channel` objects."""
    channel = head.get("channel")
    if not isinstance(channel, dict):
        raise ValueError("the export has no `channel` object before its messages")
    guild = head.get("guild")
    guild = guild if isinstance(guild, dict) else {}
    cid = as_str(channel.get("id"))
    name = as_str(channel.get("name"))
    is_thread = as_str(channel.get("type")) in _THREAD_TYPES
    return ChannelInfo(
        community=community,
        channel_id=cid or name,
        channel=name or cid,
        thread=(cid or None) if is_thread else None,
        guild_id=_opt(guild.get("id")),
        guild=_opt(guild.get("name")),
        parent_id=_opt(channel.get("categoryId")) if is_thread else None,
        parent=_opt(channel.get("category")) if is_thread else None,
        tz=tz,
    )


def message_kind(type_: str, content: str) -> Kind:
    """DCE message type to activity kind; unknown types count as messages when they say something."""
    if type_ == "Default" or type_ == "Reply":
        return _MESSAGE
    if type_ in _JOIN_TYPES:
        return Kind.JOIN
    if type_ == "RecipientRemove":
        return Kind.LEAVE
    if type_ in _SYSTEM_TYPES:
        return Kind.SYSTEM
    if type_.isdigit() and type_ not in _USER_NUMERIC_TYPES:
        return Kind.SYSTEM
    return _MESSAGE if content else Kind.SYSTEM


_MESSAGE = Kind.MESSAGE
_REACTION = Kind.REACTION


def _time(value: object, tz: tzinfo | None, what: str) -> datetime:
    """A DCE time in UTC; naive times (never seen from DCE) need the export's zone."""
    if type(value) is not str:
        raise Malformed(f"{what} is {type(value).__name__}, not a time")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise Malformed(f"{what} {value[:60]!r} is not an ISO 8601 time") from None
    if ts.tzinfo is None:
        if tz is None:
            raise Malformed(f"{what} {value[:60]!r} has no zone offset (give the time zone)")
        return localize(ts, tz)
    return ts if ts.tzinfo is UTC else ts.astimezone(UTC)


def _user(user: Any, what: str) -> tuple[str, str, str]:
    """(id, display name, handle) of a DCE user object: nickname wins, `#discriminator` kept."""
    if type(user) is not dict:
        raise Malformed(f"{what} is not an object")
    uid = user.get("id")
    if type(uid) is not str:
        uid = as_str(uid)
    if not uid:
        raise Malformed(f"{what} has no id")
    name = user.get("name")
    if type(name) is not str:
        name = as_str(name)
    nick = user.get("nickname")
    if type(nick) is not str:
        nick = as_str(nick)
    disc = user.get("discriminator")
    handle = f"{name}#{disc}" if disc and disc != "0000" and disc != "0" else name
    return uid, nick or name or uid, handle


def normalize_message(msg: dict[str, Any], chan: ChannelInfo) -> list[Activity]:
    """One DCE message as activities: the message itself, then one per listed reactor.

    Raises `Malformed` (or one of `SHAPE_ERRORS` on a wrongly shaped field) when the
    message cannot be kept; the caller quarantines it. Hot path: keep it lean.
    """
    get = msg.get
    mid = get("id")
    if type(mid) is not str:
        mid = as_str(mid)
    if not mid:
        raise Malformed("message has no id")
    author = get("author")
    if author is None:
        raise Malformed("message has no author")
    author_id, author_name, handle = _user(author, "message author")
    stamp = get("timestamp")
    if stamp is None:
        raise Malformed("message has no timestamp")
    ts = _time(stamp, chan.tz, "timestamp")
    edited = get("timestampEdited")
    edited_ts = None if edited is None else _time(edited, chan.tz, "timestampEdited")

    type_ = get("type") or "Default"
    if type(type_) is not str:
        type_ = as_str(type_)
    content = get("content")
    if type(content) is not str:
        content = as_str(content)
    extras = chan.extras.copy()
    if type_ == "Default" or type_ == "Reply":
        kind = _MESSAGE
        if type_ == "Reply":
            extras["type"] = type_
    else:
        kind = message_kind(type_, content)
        extras["type"] = type_

    reply_to = None
    thread = chan.thread
    ref = get("reference")
    if ref:
        reply_to = _opt(ref.get("messageId"))
        if type_ == "ThreadCreated":
            thread = _opt(ref.get("channelId")) or thread
    mentions = get("mentions")
    stickers = get("stickers")
    attachments = get("attachments")
    reactions: Any = get("reactions")
    count = 0
    reactors = False
    if reactions:
        for reaction in reactions:
            count += int(reaction.get("count") or 0)
            if reaction.get("users"):
                reactors = True

    activity = Activity(
        platform=PLATFORM,
        source_id=mid,
        kind=kind,
        ts=ts,
        channel=chan.channel,
        author=author_name,
        author_id=author_id,
        text=content,
        community=chan.community,
        channel_id=chan.channel_id,
        author_handle=handle,
        reply_to=reply_to,
        thread=thread,
        mentions=tuple(as_str(m.get("id")) for m in mentions if m.get("id")) if mentions else (),
        attachments=(len(attachments) if attachments else 0) + (len(stickers) if stickers else 0),
        reactions=count,
        edited_ts=edited_ts,
        is_bot=bool(author.get("isBot")),
        extras=extras,
    )
    if not reactors:
        return [activity]
    return [activity, *reaction_activities(mid, ts, reactions, chan)]


def reaction_activities(
    mid: str, ts: datetime, reactions: list[Any], chan: ChannelInfo
) -> list[Activity]:
    """One REACTION activity per user DCE lists under a reaction (newer exports do)."""
    out = []
    for reaction in reactions:
        users = reaction.get("users")
        if not users:
            continue
        emoji = reaction.get("emoji") or {}
        emoji_name = as_str(emoji.get("name"))
        key = as_str(emoji.get("id")) or emoji_name
        if not key:
            raise Malformed("reaction emoji has neither id nor name")
        for user in users:
            uid, name, handle = _user(user, f"a user reacting with {emoji_name!r}")
            out.append(
                Activity(
                    platform=PLATFORM,
                    source_id=f"{mid}:{key}:{uid}",
                    kind=_REACTION,
                    ts=ts,
                    channel=chan.channel,
                    author=name,
                    author_id=uid,
                    text=emoji_name,
                    community=chan.community,
                    channel_id=chan.channel_id,
                    author_handle=handle,
                    reply_to=mid,
                    thread=chan.thread,
                    is_bot=bool(user.get("isBot")),
                    extras=chan.extras.copy(),
                )
            )
    return out
