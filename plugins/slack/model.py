"""Slack messages (as exports and the Events API carry them) as activities.

One message shape for both: source_id `f"{channel}:{ts}"`, channel_id and author_id as the
export writes them, so live and imported messages dedupe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cockpit.model import Activity, Kind
from cockpit.plugin_kit import Malformed, optional_string

PLATFORM = "slack"
SLACKBOT = "USLACKBOT"  # posts tombstones and reminders; never listed in users.json
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TS = re.compile(r"\d{1,10}(?:\.\d{1,6})?")  # epoch seconds up to the year 2286
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")

_KIND_BY_SUBTYPE = {
    "channel_join": Kind.JOIN,
    "group_join": Kind.JOIN,
    "channel_leave": Kind.LEAVE,
    "group_leave": Kind.LEAVE,
    "tombstone": Kind.DELETE,
    **{
        sub: Kind.SYSTEM
        for sub in (
            "channel_topic",
            "channel_purpose",
            "channel_name",
            "channel_archive",
            "channel_unarchive",
            "channel_convert_to_private",
            "channel_convert_to_public",
            "group_topic",
            "group_purpose",
            "group_name",
            "group_archive",
            "group_unarchive",
            "pinned_item",
            "unpinned_item",
            "bot_add",  # "added an integration to this channel"
            "bot_remove",
        )
    },
}


_INTEGRATION_EVENTS = frozenset({"bot_add", "bot_remove"})


@dataclass(frozen=True, slots=True)
class User:
    name: str
    handle: str | None
    is_bot: bool


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    name: str
    folder: str  # channel name, or the id for DMs


def person_name(profile: Any) -> tuple[str | None, str | None]:
    """(author, handle) from a message's own user_profile, for users missing from users.json."""
    profile = profile if isinstance(profile, dict) else {}
    handle = optional_string(profile.get("name"))
    author = (
        optional_string(profile.get("display_name"))
        or optional_string(profile.get("real_name"))
        or handle
    )
    return author, handle


def parse_ts(value: Any, what: str) -> datetime:
    if not isinstance(value, str) or not _TS.fullmatch(value):
        raise Malformed(f"{what} {value!r} is not a Slack timestamp")
    secs, _, frac = value.partition(".")
    return _EPOCH + timedelta(seconds=int(secs), microseconds=int(frac.ljust(6, "0")))


def _count_reactions(reactions: Any) -> int:
    if reactions is None:
        return 0
    if not isinstance(reactions, list):
        raise Malformed("reactions is not a list")
    total = 0
    for r in reactions:
        if not isinstance(r, dict):
            raise Malformed("a reaction is not an object")
        count = r.get("count")
        if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            total += count
        elif isinstance(r.get("users"), list):
            total += len(r["users"])
        else:
            total += 1
    return total


def _author(
    msg: dict[str, Any], subtype: str | None, users: dict[str, User]
) -> tuple[str, str, str | None, bool]:
    """(author_id, author, handle, is_bot) for a message.

    users.json says who is a bot. A `bot_id` on a person's message (bot_add, bot_remove)
    names the integration they added or removed, not them.
    """
    user = optional_string(msg.get("user"))
    comment = msg.get("comment")
    if user is None and subtype == "file_comment" and isinstance(comment, dict):
        user = optional_string(comment.get("user"))  # older exports: the author is inside
    bot_id = optional_string(msg.get("bot_id"))
    if subtype in _INTEGRATION_EVENTS:
        bot_id = None
    bot_name = optional_string(msg.get("username"))
    if isinstance(msg.get("bot_profile"), dict):
        bot_name = bot_name or optional_string(msg["bot_profile"].get("name"))
    if subtype == "bot_message" or (user is None and bot_id):
        author_id = bot_id or user or (f"name:{bot_name}" if bot_name else None)
        if author_id is None:
            raise Malformed("bot message with neither bot_id, user nor username")
        known = users.get(user) if user else None
        return author_id, bot_name or (known.name if known else author_id), None, True
    if user is None:
        if bot_name:
            return f"name:{bot_name}", bot_name, None, False
        raise Malformed("message has no user")
    known = users.get(user)
    if known is not None:
        return user, known.name, known.handle, known.is_bot
    if user == SLACKBOT:
        return user, "Slackbot", "slackbot", True
    author, handle = person_name(msg.get("user_profile"))
    return user, author or user, handle, bool(bot_id)


def message_activity(
    msg: dict[str, Any], conv: Conversation, users: dict[str, User], community: str
) -> Activity:
    """One message as an activity; `Malformed` says why it cannot be one."""
    if msg.get("type", "message") != "message":
        raise Malformed(f"type {msg.get('type')!r} is not a message")
    ts_raw = msg.get("ts")
    if ts_raw is None:
        raise Malformed("message has no ts")
    ts = parse_ts(ts_raw, "ts")
    subtype = msg.get("subtype")
    if subtype is not None and not isinstance(subtype, str):
        raise Malformed("subtype is not a string")
    text = msg.get("text")
    if text is None:
        text = ""
    elif not isinstance(text, str):
        raise Malformed("text is not a string")
    thread_ts = msg.get("thread_ts")
    if thread_ts is not None:
        parse_ts(thread_ts, "thread_ts")
    edited = msg.get("edited")
    edited_ts = None
    if isinstance(edited, dict) and edited.get("ts") is not None:
        edited_ts = parse_ts(edited["ts"], "edited.ts")
    files = msg.get("files")
    if files is not None and not isinstance(files, list):
        raise Malformed("files is not a list")
    author_id, author, handle, is_bot = _author(msg, subtype, users)
    extras: dict[str, Any] = {}
    if subtype:
        extras["subtype"] = subtype
    team = optional_string(msg.get("team")) or optional_string(msg.get("user_team"))
    if team:
        extras["team"] = team
    reply_count = msg.get("reply_count")
    if isinstance(reply_count, int) and not isinstance(reply_count, bool):
        extras["reply_count"] = reply_count
    return Activity(
        platform=PLATFORM,
        source_id=f"{conv.id}:{ts_raw}",
        kind=_KIND_BY_SUBTYPE.get(subtype or "", Kind.MESSAGE),
        ts=ts,
        channel=conv.name,
        author=author,
        author_id=author_id,
        text=text,
        community=community,
        channel_id=conv.id,
        author_handle=handle,
        reply_to=f"{conv.id}:{thread_ts}" if thread_ts and thread_ts != ts_raw else None,
        thread=thread_ts,
        mentions=tuple(dict.fromkeys(_MENTION.findall(text))),
        attachments=len(files or ()),
        reactions=_count_reactions(msg.get("reactions")),
        edited_ts=edited_ts,
        is_bot=is_bot,
        extras=extras,
    ).normalized()
