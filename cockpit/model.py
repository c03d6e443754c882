"""The normalized records every platform is reduced to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    MESSAGE = "message"
    EDIT = "edit"
    DELETE = "delete"
    REACTION = "reaction"
    JOIN = "join"
    LEAVE = "leave"
    SYSTEM = "system"


@dataclass(slots=True)
class Activity:
    """One thing that happened on a platform.

    Identity is (platform, source_id): the platform's own id, made unique within the
    platform (e.g. Telegram `chat_id:message_id`). For `edit` and `delete`, `source_id`
    names the message that was edited or deleted: the store updates or marks that row.
    For `reaction`, `reply_to` names the message reacted to and `text` holds the emoji.
    """

    platform: str
    source_id: str
    kind: Kind
    ts: datetime
    channel: str
    author: str
    author_id: str
    text: str = ""
    community: str = ""
    channel_id: str = ""
    author_handle: str | None = None
    reply_to: str | None = None
    thread: str | None = None
    mentions: tuple[str, ...] = ()
    attachments: int = 0
    reactions: int = 0
    edited_ts: datetime | None = None
    is_bot: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> str | None:
        """Why this record cannot be stored, or None when it can."""
        if not self.platform:
            return "no platform"
        if not self.source_id:
            return "no source id"
        if not isinstance(self.kind, Kind):
            return f"unknown kind {self.kind!r}"
        if not isinstance(self.ts, datetime) or self.ts.tzinfo is None:
            return "timestamp has no time zone"
        if not self.author_id:
            return "no author id"
        if not isinstance(self.text, str):
            return f"text is {type(self.text).__name__}, not a string"
        if self.kind is Kind.REACTION and not self.reply_to:
            return "reaction without the message it reacts to"
        return None

    def normalized(self) -> Activity:
        """Times in UTC, text as str, channel id defaulting to its name."""
        if self.ts.utcoffset():
            self.ts = self.ts.astimezone(UTC)
        if self.edited_ts is not None and self.edited_ts.utcoffset():
            self.edited_ts = self.edited_ts.astimezone(UTC)
        if not self.channel_id:
            self.channel_id = self.channel
        if not self.author:
            self.author = self.author_handle or self.author_id
        return self


@dataclass(slots=True)
class Quarantined:
    """A record that could not be normalized, kept with its reason and the raw text."""

    platform: str
    origin: str
    position: str
    reason: str
    raw: str


Record = Activity | Quarantined
