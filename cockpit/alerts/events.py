"""The engine's view of an activity, and what a detector reports back.

Times are integer ms UTC throughout the engine: cheap to compare, the store's own unit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from cockpit.model import Activity, Kind
from cockpit.store.base import ActivityRow
from cockpit.timeutil import to_ms

MAX_IDS = 50  # triggering activity ids kept per alert: enough for the operator, bounded


@dataclass(slots=True)
class Event:
    """One activity as the rules see it (`id` is the store row id, 0 when not stored)."""

    id: int
    community: str
    platform: str
    source_id: str
    kind: Kind
    ts: int
    channel_id: str
    channel: str
    author_id: str
    author: str
    text: str = ""
    reply_to: str | None = None
    thread: str | None = None
    mentions: tuple[str, ...] = ()
    is_bot: bool = False
    handle: str | None = None
    # derived once per event by the engine's batch (cockpit/alerts/batch.py), shared by rules:
    norm: str = ""  # the text folded: NFKC, whitespace collapsed, casefolded
    links: tuple[str, ...] = ()  # the links in it, casefolded
    extras: dict[str, Any] | None = None  # the platform's extras (a link, the guild), as stored

    @classmethod
    def from_row(cls, r: ActivityRow) -> Event:
        return cls(
            r.id,
            r.community,
            r.platform,
            r.source_id,
            r.kind,
            to_ms(r.ts),
            r.channel_id,
            r.channel,
            r.author_id,
            r.author,
            r.text,
            r.reply_to,
            r.thread,
            r.mentions,
            r.is_bot,
            r.author_handle,
            extras=r.extras or None,
        )

    @classmethod
    def from_activity(cls, a: Activity, row_id: int = 0) -> Event:
        return cls(
            row_id,
            a.community or "default",
            a.platform,
            a.source_id,
            a.kind,
            to_ms(a.ts),
            a.channel_id or a.channel,
            a.channel,
            a.author_id,
            a.author or a.author_handle or a.author_id,
            a.text,
            a.reply_to,
            a.thread,
            a.mentions,
            a.is_bot,
            a.author_handle,
            extras=a.extras or None,
        )


@dataclass(slots=True)
class Condition:
    """Evidence that a rule's condition holds for one label set, until `until`."""

    labels: dict[str, str]
    first: int
    last: int
    until: int
    ids: list[int] = field(default_factory=list)
    value: float = 0.0
    summary: str = ""
    count: int = 0
    fingerprint: str = ""  # of the alert it makes, once the engine has named it
    notes: dict[str, str] = field(default_factory=dict)  # annotations from the detector

    def add(self, ts: int, until: int, activity_id: int, summary: str | None = None) -> None:
        self.last = max(self.last, ts)
        self.until = max(self.until, until)
        self.count += 1
        if activity_id and activity_id not in self.ids:
            self.ids.append(activity_id)
            if len(self.ids) > MAX_IDS:
                del self.ids[0]
        if summary is not None:
            self.summary = summary


@dataclass(frozen=True, slots=True)
class SourceState:
    """A source's health as the rules see it (the rows `cockpit collect` stores)."""

    name: str
    platform: str
    community: str
    state: str  # starting | connected | lagging | failing | stopped
    detail: str | None = None
    last_event: int | None = None  # the newest activity received (ms UTC)


def fingerprint(labels: dict[str, str]) -> str:
    """One alert per rule and label set: this names the set (Alertmanager's fingerprint)."""
    raw = orjson.dumps(labels, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()[:16]


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


def message_link(ev: Event) -> str | None:
    """The platform's web link to a message, where one can be made: a plugin's own `url`
    extra, else Discord's (guild, channel, message) and Telegram's supergroup/channel links."""
    extras = ev.extras or {}
    url = extras.get("url") or extras.get("permalink")
    if isinstance(url, str) and url.startswith("https://"):
        return url
    if ev.platform == "discord" and ev.source_id.isdigit() and extras.get("guild_id"):
        return f"https://discord.com/channels/{extras['guild_id']}/{ev.channel_id}/{ev.source_id}"
    if ev.platform == "telegram":
        chat, _, message = ev.source_id.partition(":")
        if chat.startswith("-100") and chat[4:].isdigit() and message.isdigit():
            return f"https://t.me/c/{chat[4:]}/{message}"
    return None
