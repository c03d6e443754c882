"""Mastodon webhook deliveries (`{"event": ..., "created_at": ..., "object": {...}}`) as records.

`status.created` is a message and `status.updated` an edit of it (same source_id, the status
id); `account.created` is a join. Other events are not community activity and give nothing.
Status text arrives as HTML and is kept as plain text.
"""

from __future__ import annotations

from datetime import datetime
from html.parser import HTMLParser
from typing import Any

from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_kit import (
    Malformed,
    obj,
    optional_string,
    parse_iso,
    raw_json,
    reason_for,
    string,
)

PLATFORM = "mastodon"
FOLLOWED = ("status.created", "status.updated", "account.created")


class _Text(HTMLParser):
    """The visible text of a status: paragraphs and line breaks become newlines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


def _when(value: object, what: str) -> datetime:
    try:
        return parse_iso(string(value, what))
    except ValueError as exc:
        if isinstance(exc, Malformed):
            raise
        raise Malformed(f"{what} is not an ISO 8601 time") from None


def _account(value: object, what: str) -> tuple[str, str, str, bool]:
    """(id, display name, handle, is_bot) of an account object."""
    account = obj(value, what)
    aid = string(account.get("id"), f"{what}.id")
    handle = optional_string(account.get("acct")) or optional_string(account.get("username"))
    name = optional_string(account.get("display_name")) or handle or aid
    return aid, name, handle or aid, account.get("bot") is True


def status_record(status: dict[str, Any], kind: Kind, community: str) -> Activity:
    sid = string(status.get("id"), "status id")
    author_id, author, handle, is_bot = _account(status.get("account"), "account")
    content = status.get("content", "")
    if not isinstance(content, str):
        raise Malformed("content is not a string")
    text = plain_text(content)
    if status.get("spoiler_text"):
        text = f"[CW {status['spoiler_text']}] {text}"
    visibility = optional_string(status.get("visibility")) or "public"
    edited = _when(status["edited_at"], "edited_at") if status.get("edited_at") else None
    mentions = [obj(m, "a mention") for m in status.get("mentions") or ()]
    media = status.get("media_attachments") or []
    if not isinstance(media, list):
        raise Malformed("media_attachments is not a list")
    record = Activity(
        platform=PLATFORM,
        source_id=sid,
        kind=kind,
        ts=_when(status.get("created_at"), "created_at"),
        channel=visibility,
        author=author,
        author_id=author_id,
        text=text,
        community=community,
        channel_id=visibility,
        author_handle=handle,
        reply_to=optional_string(status.get("in_reply_to_id")),
        mentions=tuple(string(m.get("id"), "mention id") for m in mentions),
        attachments=len(media),
        edited_ts=edited if kind is Kind.EDIT else None,
        is_bot=is_bot,
    )
    if isinstance(status.get("url"), str):
        record.extras["url"] = status["url"]
    return record


def account_record(admin: dict[str, Any], community: str) -> Activity:
    """An admin account object (`account.created`) as a join."""
    aid, name, handle, is_bot = _account(admin.get("account") or admin, "account")
    ts = _when(admin.get("created_at"), "created_at")
    return Activity(
        platform=PLATFORM,
        source_id=f"join:{aid}",
        kind=Kind.JOIN,
        ts=ts,
        channel="server",
        author=name,
        author_id=aid,
        community=community,
        channel_id="server",
        author_handle=handle,
        is_bot=is_bot,
    )


def delivery_records(body: object, community: str, origin: str) -> list[Record]:
    """One delivery as records: its activity, nothing for other events, or a quarantine."""
    event = body.get("event") if isinstance(body, dict) else None
    position = f"event {event}" if isinstance(event, str) else "delivery without an event"
    try:
        delivery = obj(body, "delivery")
        kind = string(delivery.get("event"), "event")
        if kind not in FOLLOWED:
            return []
        item = obj(delivery.get("object"), "object")
        if kind == "account.created":
            record = account_record(item, community)
        else:
            edit = kind == "status.updated"
            record = status_record(item, Kind.EDIT if edit else Kind.MESSAGE, community)
        problem = record.validate()
        if problem:
            raise Malformed(problem)
        return [record]
    except (Malformed, TypeError, KeyError, AttributeError) as exc:
        return [Quarantined(PLATFORM, origin, position, reason_for(exc), raw_json(body))]
