"""WhatsApp Cloud API webhook deliveries as records.

Every entry and every change of a delivery is read; a malformed message or change is
quarantined alone and the rest kept. Ids: source_id is the message's `wamid` (unique across
WhatsApp), author_id "+" + wa_id, the phone number as the export importer writes it for a
sender it shows by number. Channel is the business phone number the message reached
(phone_number_id). Exports carry no message ids, so live and exported messages cannot dedupe.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_kit import Malformed, epoch_seconds, obj, raw_json, reason_for, string

log = logging.getLogger(__name__)

PLATFORM = "whatsapp"
OBJECT = "whatsapp_business_account"
_MEDIA = ("image", "video", "audio", "document", "sticker")


def _phone(wa_id: str) -> str:
    return wa_id if wa_id.startswith("+") else f"+{wa_id}"


def _epoch(value: object, what: str) -> datetime:
    """Meta writes Unix seconds as a string."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        value = int(value)
    return epoch_seconds(value, what)


class _Change:
    """One `changes[].value`: the number it reached and the names of its contacts."""

    def __init__(self, value: dict[str, Any], community: str) -> None:
        meta = obj(value.get("metadata"), "metadata")
        self.channel_id = string(meta.get("phone_number_id"), "metadata.phone_number_id")
        shown = meta.get("display_phone_number")
        self.channel = shown if isinstance(shown, str) and shown else self.channel_id
        self.community = community
        self.names: dict[str, str] = {}
        for contact in value.get("contacts") or ():
            if isinstance(contact, dict) and isinstance(contact.get("wa_id"), str):
                profile = contact.get("profile")
                name = profile.get("name") if isinstance(profile, dict) else None
                if isinstance(name, str) and name:
                    self.names[contact["wa_id"]] = name

    def activity(self, source_id: str, kind: Kind, ts: datetime, sender: str) -> Activity:
        author_id = _phone(sender) if sender != "system" else sender
        return Activity(
            platform=PLATFORM,
            source_id=source_id,
            kind=kind,
            ts=ts,
            channel=self.channel,
            author=self.names.get(sender, author_id),
            author_id=author_id,
            community=self.community,
            channel_id=self.channel_id,
        )

    def message(self, msg: dict[str, Any]) -> Activity | None:
        """A received message as an activity; None for a reaction being taken back."""
        kind_name = msg.get("type")
        record = self.activity(
            string(msg.get("id"), "message id"),
            Kind.MESSAGE,
            _epoch(msg.get("timestamp"), "timestamp"),
            string(msg.get("from"), "from"),
        )
        record.extras["type"] = kind_name
        context = msg.get("context")
        if isinstance(context, dict):
            if isinstance(context.get("id"), str):
                record.reply_to = context["id"]
            if context.get("forwarded") or context.get("frequently_forwarded"):
                record.extras["forwarded"] = True
        if kind_name == "text":
            record.text = string(obj(msg.get("text"), "text").get("body"), "text.body")
        elif kind_name in _MEDIA:
            media = obj(msg.get(kind_name), str(kind_name))
            caption = media.get("caption")
            record.text = caption if isinstance(caption, str) else ""
            record.attachments = 1
            if isinstance(media.get("filename"), str):
                record.extras["media"] = media["filename"]
        elif kind_name == "reaction":
            reaction = obj(msg.get("reaction"), "reaction")
            emoji = reaction.get("emoji")
            if not emoji:
                return None  # the sender removed their reaction
            record.kind, record.text = Kind.REACTION, string(emoji, "reaction.emoji")
            record.reply_to = string(reaction.get("message_id"), "reaction.message_id")
        elif kind_name == "interactive":
            answer = obj(msg.get("interactive"), "interactive")
            reply = obj(answer.get(str(answer.get("type"))), "interactive reply")
            record.text = string(reply.get("title"), "interactive reply title")
            record.extras["reply_id"] = reply.get("id")
        elif kind_name == "button":
            button = obj(msg.get("button"), "button")
            record.text = string(button.get("text"), "button.text")
            record.extras["payload"] = button.get("payload")
        elif kind_name == "location":
            place = obj(msg.get("location"), "location")
            parts = (place.get("name"), place.get("address"))
            record.text = ", ".join(p for p in parts if isinstance(p, str) and p)
            record.extras["location"] = [place.get("latitude"), place.get("longitude")]
        elif kind_name == "system":
            system = obj(msg.get("system"), "system")
            record.kind, record.text = Kind.SYSTEM, string(system.get("body"), "system.body")
        if isinstance(msg.get("errors"), list):  # "unsupported" and friends say why
            titles = [e.get("title") for e in msg["errors"] if isinstance(e, dict)]
            record.extras["errors"] = [t for t in titles if isinstance(t, str)]
        return record

    def status(self, status: dict[str, Any]) -> Activity:
        """A delivery status of a message the business sent, kept as a system record."""
        wamid = string(status.get("id"), "status id")
        state = string(status.get("status"), "status")
        record = self.activity(
            f"{wamid}:{state}", Kind.SYSTEM, _epoch(status.get("timestamp"), "timestamp"), "system"
        )
        record.text = f"message {state}"
        record.extras = {"status": state, "message": wamid}
        if isinstance(status.get("recipient_id"), str):
            record.extras["recipient"] = _phone(status["recipient_id"])
        errors = [e for e in status.get("errors") or () if isinstance(e, dict)]
        if errors:
            title = errors[0].get("title") or errors[0].get("message")
            record.text += f": {title}" if isinstance(title, str) else ""
            record.extras["error_code"] = errors[0].get("code")
        return record


def _quarantine(origin: str, position: str, exc: Exception, raw: object) -> Quarantined:
    return Quarantined(PLATFORM, origin, position, reason_for(exc), raw_json(raw))


_ITEM_ERRORS = (Malformed, TypeError, KeyError, AttributeError, ValueError)


def change_records(
    value: object, community: str, origin: str, position: str, statuses: bool
) -> list[Record]:
    """One change's messages (and statuses when recorded); each bad one quarantined alone."""
    try:
        change = _Change(obj(value, "value"), community)
    except _ITEM_ERRORS as exc:
        return [_quarantine(origin, position, exc, value)]
    assert isinstance(value, dict)
    out: list[Record] = []
    items = [("message", m) for m in value.get("messages") or ()]
    if statuses:
        items += [("status", s) for s in value.get("statuses") or ()]
    for index, (noun, item) in enumerate(items):
        try:
            data = obj(item, noun)
            record = change.message(data) if noun == "message" else change.status(data)
            if record is None:
                continue
            problem = record.validate()
            if problem:
                raise Malformed(problem)
            out.append(record)
        except _ITEM_ERRORS as exc:
            out.append(_quarantine(origin, f"{position} {noun} {index}", exc, item))
    return out


def delivery_tag(raw: bytes) -> str:
    """Names a delivery in quarantine positions: the same delivery re-sent gets the same name
    (so it is not quarantined twice), another one its own (so it is not taken for a copy)."""
    return f"delivery {hashlib.sha256(raw).hexdigest()[:16]}"


def delivery_records(
    body: object, community: str, origin: str, statuses: bool, tag: str = "delivery"
) -> list[Record]:
    """Every entry and change of one delivery; [] for objects other than WhatsApp's."""
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        why = Malformed("delivery is not an object with an entry list")
        return [_quarantine(origin, tag, why, body)]
    if body.get("object") != OBJECT:
        log.info("%s: a delivery for object %r ignored", origin, body.get("object"))
        return []
    out: list[Record] = []
    for i, entry in enumerate(body["entry"]):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            why = Malformed("entry has no changes list")
            out.append(_quarantine(origin, f"{tag} entry {i}", why, entry))
            continue
        for j, change in enumerate(changes):
            if isinstance(change, dict) and change.get("field", "messages") != "messages":
                continue  # account and template updates are not community activity
            value = change.get("value") if isinstance(change, dict) else change
            where = f"{tag} entry {i} change {j}"
            out.extend(change_records(value, community, origin, where, statuses))
    return out
