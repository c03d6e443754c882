"""Telegram: the Telegram Desktop JSON export importer.

Ids are written in the Bot API's form (supergroups and channels "-100<id>", basic groups
"-<id>", users "<id>") so that messages a live Bot API connector fetches later dedupe
against imported ones: source_id is f"{channel_id}:{message_id}" in both.

Streaming: the file is read as parser events (ijson), one message object is built at a
time. A chat's channel id must be known before its messages are turned into records.
Telegram Desktop always writes name/type/id before "messages"; for a chat that does not,
its messages are skipped on the first pass and read on a second pass over the file,
once its metadata is complete (two passes instead of unbounded buffering). The order of
records is deterministic, which the importer's resume-by-count relies on.

Exports without ids (chat-miner's minimal files): a chat without an id is identified by
"name:<chat name>" (or "file:<file name>" when it has no name either, so overlapping
exports of one named chat still dedupe), a message without an id by a hash of chat, date,
sender, text and how many identical messages came before it in that chat.

Positions: "byte N" is how far the parser had read, so the place is at most one read
(16 KiB) before N; a truncated file is reported at its end.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from hashlib import blake2b
from pathlib import Path
from typing import IO, Any

import ijson

from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_api import ImportContext
from cockpit.plugin_kit import RAW_LIMIT, ImportRefused, localize, raw_json

from .payloads import PLATFORM

_BUF_SIZE = 16 * 1024  # small reads keep the reported byte positions close
_BOM = b"\xef\xbb\xbf"

_CHANNEL_TYPES = frozenset(
    {"private_supergroup", "public_supergroup", "private_channel", "public_channel"}
)
_BROADCAST_TYPES = frozenset({"private_channel", "public_channel"})
_CHAT_TYPES = _CHANNEL_TYPES | {
    "private_group",
    "personal_chat",
    "bot_chat",
    "saved_messages",
    "replies",
    "verification_codes",
}
_UNNAMED = {
    "saved_messages": "Saved Messages",
    "replies": "Replies",
    "verification_codes": "Verification Codes",
}
_PEER_PREFIXES = (("user", ""), ("channel", "-100"), ("chat", "-"))
_ACCOUNT_KEYS = frozenset({"personal_information", "chats", "left_chats"})
_FOREIGN_KEYS = frozenset({"guild", "channel"})  # DiscordChatExporter
_JOIN_ACTIONS = frozenset({"join_group_by_link", "join_group_by_request"})
_ADD_ACTIONS = frozenset({"invite_members", "add_members"})
_MEDIA_KEYS = ("photo", "file", "media_type", "sticker_emoji")
_EXTRA_KEYS = ("forwarded_from", "saved_from", "via_bot", "media_type", "sticker_emoji")
_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})
_SCALARS = frozenset({"string", "number", "boolean", "null"})
DELETED = "Deleted Account"
NO_ZONE_WARNING = (
    "some times carry no zone (no date_unixtime) and no time zone was given; "
    "reading them as UTC (set --tz to fix)"
)

# Where chats live: a single-chat export is itself the chat; an account export lists them.
_ROOTS = ("", "chats.list.item", "left_chats.list.item")


def _join(root: str, key: str) -> str:
    return f"{root}.{key}" if root else key


_ROLES: dict[str, tuple[str, str]] = {}
for _root in _ROOTS:
    _ROLES[_root] = (_root, "chat")
    for _key in ("name", "type", "id", "messages"):
        _ROLES[_join(_root, _key)] = (_root, _key)
    _ROLES[_join(_root, "messages.item")] = (_root, "item")


class _CountingReader:
    """File wrapper that counts bytes handed to the parser (for error positions)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.pos = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if self.pos == 0 and data.startswith(_BOM):
            self.pos = len(_BOM)
            return data[len(_BOM) :]
        self.pos += len(data)
        return data


def _digits(value: object) -> str | None:
    """A non-negative integer id as text, whether written as a number or a string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return str(value)
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return str(int(value))
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    return None


def peer_id(raw: object) -> str | None:
    """Bot API id of an export peer reference: "user1" → "1", "channel1" → "-1001"."""
    bare = _digits(raw)
    if bare is not None:
        return bare
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if not isinstance(raw, str) or not raw:
        return None
    for prefix, form in _PEER_PREFIXES:
        if raw.startswith(prefix) and (bare := _digits(raw[len(prefix) :])) is not None:
            return form + bare
    return raw


def channel_id_for(chat_type: str | None, raw_id: object) -> str | None:
    """Bot API chat id for an export chat (type, bare id), or None without an id."""
    bare = _digits(raw_id)
    if bare is None:
        if isinstance(raw_id, int | str) and not isinstance(raw_id, bool) and raw_id != "":
            return str(raw_id)
        return None
    if chat_type in _CHANNEL_TYPES:
        return f"-100{bare}"
    if chat_type == "private_group":
        return f"-{bare}"
    return bare


def plain_text(value: object) -> str:
    """Export text (a string, or strings mixed with entity objects) as plain text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts: list[str] = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "".join(parts)
    return ""


def _mentions(msg: dict[str, Any]) -> tuple[str, ...]:
    """User ids of mention_name entities (the ones that carry an id)."""
    found: list[str] = []
    for source in (msg.get("text_entities"), msg.get("text")):
        if not isinstance(source, list):
            continue
        for ent in source:
            if isinstance(ent, dict) and ent.get("type") == "mention_name":
                uid = peer_id(ent.get("user_id"))
                if uid and uid not in found:
                    found.append(uid)
    return tuple(found)


def _reaction_count(value: object) -> int:
    if not isinstance(value, list):
        return 0
    return sum(
        r["count"]
        for r in value
        if isinstance(r, dict) and isinstance(r.get("count"), int) and r["count"] > 0
    )


def _error_text(exc: BaseException) -> str:
    """First line of a parser error (yajl's messages span several lines)."""
    arg = exc.args[0] if exc.args else exc
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


@dataclass(slots=True)
class _Chat:
    """A chat's metadata as read so far, and what it maps to."""

    key: tuple[str, int]
    origin: str
    name: str | None = None
    type: str | None = None
    raw_id: object = None
    has_id: bool = False
    seen: Counter[bytes] = field(default_factory=Counter)

    @property
    def channel_id(self) -> str:
        # Without an id (chat-miner style exports) the name, or else the file, stands in.
        cid = channel_id_for(self.type, self.raw_id) if self.has_id else None
        if cid is not None:
            return cid
        return f"name:{self.name}" if self.name else f"file:{self.origin}"

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.type in _UNNAMED:
            return _UNNAMED[self.type]
        return self.channel_id if self.has_id else Path(self.origin).stem


@dataclass(slots=True)
class _Scan:
    """State of one read(): the time-zone warning and the chats left for a second pass."""

    path: Path
    ctx: ImportContext
    warned: bool = False
    deferred: dict[tuple[str, int], _Chat] = field(default_factory=dict)

    def run(self, replay: dict[tuple[str, int], _Chat] | None) -> Iterator[Record]:
        """One pass: all chats whose id is known in time, or only the `replay` chats."""
        try:
            fh = self.path.open("rb")
        except OSError as exc:
            raise ImportRefused(f"cannot open the file: {exc.strerror or exc}") from None
        with fh:
            reader = _CountingReader(fh)
            events = ijson.parse(reader, buf_size=_BUF_SIZE, use_float=True)
            try:
                yield from self._events(events, reader, replay)
            except ijson.JSONError as exc:
                raise ImportRefused(
                    f"not valid JSON (truncated or corrupt): {_error_text(exc)}",
                    f"byte {reader.pos}",
                ) from None
            except (UnicodeError, OSError, ValueError) as exc:
                raise ImportRefused(
                    f"cannot read the file: {_error_text(exc)}", f"byte {reader.pos}"
                ) from None

    def _events(
        self,
        events: Iterator[tuple[str, str, Any]],
        reader: _CountingReader,
        replay: dict[tuple[str, int], _Chat] | None,
    ) -> Iterator[Record]:
        first_pass = replay is None
        chats: dict[str, _Chat | None] = dict.fromkeys(_ROOTS)
        counts = dict.fromkeys(_ROOTS, 0)
        telegram_like = False
        depth = 0  # nesting of a value being skipped
        stack: list[Any] = []  # containers of the message being built (inlined: hot path)
        key: Any = None
        message: Any = None
        active: _Chat | None = None  # chat whose messages are being turned into records
        msg_no = 0
        msg_pos = 0

        for prefix, event, value in events:
            if stack:  # inside a message being built
                if event == "map_key":
                    key = value
                elif event == "end_map" or event == "end_array":
                    stack.pop()
                    if not stack and active is not None:
                        yield from self._message(message, active, msg_no, msg_pos)
                else:
                    item = {} if event == "start_map" else [] if event == "start_array" else value
                    top = stack[-1]
                    if type(top) is list:
                        top.append(item)
                    else:
                        top[key] = item
                    if event == "start_map" or event == "start_array":
                        stack.append(item)
                continue
            if depth:  # inside a value being skipped
                if event in _OPEN:
                    depth += 1
                elif event in _CLOSE:
                    depth -= 1
                continue
            role = _ROLES.get(prefix)
            if role is None:
                continue
            root, what = role
            chat = chats[root]
            if what == "chat" and root == "":
                if event == "start_map":
                    chats[root] = _Chat(("", 0), self.path.name)
                elif event == "map_key":
                    if first_pass and value in _FOREIGN_KEYS and not telegram_like:
                        raise ImportRefused(
                            f"not a Telegram export (top-level key {value!r}, as in "
                            "DiscordChatExporter files)",
                            f"byte {reader.pos}",
                        )
                    telegram_like = telegram_like or value in _ACCOUNT_KEYS
                elif event != "end_map":
                    raise ImportRefused(
                        "not a Telegram export: the top level is not a JSON object",
                        f"byte {reader.pos}",
                    )
                continue
            if what == "chat":  # an item of chats.list or left_chats.list
                if event == "start_map":
                    chats[root] = _Chat((root, counts[root]), self.path.name)
                    counts[root] += 1
                elif event == "end_map":
                    chats[root] = None
                elif event != "map_key":
                    counts[root] += 1
                    if event in _OPEN:
                        depth = 1
                    if first_pass:
                        yield self._quarantine(
                            f"{root.removesuffix('.item')} #{counts[root]} (byte {reader.pos})",
                            "a chat in the list is not a JSON object",
                            value if event in _SCALARS else f"<{event[6:]}>",
                        )
                continue
            if chat is None:
                continue
            if what in ("name", "type", "id"):
                if event in _SCALARS:
                    self._set_meta(chat, what, value)
                continue
            if what == "messages":
                if event == "start_array":
                    telegram_like = True
                    msg_no = 0
                    if replay is not None:
                        active = replay.get(chat.key)
                    elif chat.has_id:
                        active = chat
                    else:
                        active = None
                        self.deferred[chat.key] = chat
                elif event == "end_array":
                    active = None
                elif event in _OPEN or (event in _SCALARS and value is not None):
                    if event in _OPEN:
                        depth = 1
                    if first_pass:
                        yield self._quarantine(
                            f"chat {chat.label} (byte {reader.pos})",
                            '"messages" is not a list',
                            value if event in _SCALARS else f"<{event[6:]}>",
                        )
                continue
            # what == "item": one message starts
            msg_no += 1
            if active is None:
                if event in _OPEN:
                    depth = 1
                continue
            msg_pos = reader.pos
            if event in _OPEN:
                message = {} if event == "start_map" else []
                stack.append(message)
            else:
                yield from self._message(value, active, msg_no, msg_pos)

        if first_pass and not telegram_like:
            raise ImportRefused("no Telegram chats in this file", f"byte {reader.pos}")

    @staticmethod
    def _set_meta(chat: _Chat, what: str, value: object) -> None:
        if what == "name":
            chat.name = value if isinstance(value, str) else None
        elif what == "type":
            chat.type = value if isinstance(value, str) else None
        elif value is not None:
            chat.raw_id = value
            chat.has_id = True

    def _quarantine(self, position: str, reason: str, raw: object) -> Quarantined:
        text = raw if isinstance(raw, str) else raw_json(raw)
        return Quarantined(PLATFORM, self.path.name, position, reason, text[:RAW_LIMIT])

    def _message(self, msg: object, chat: _Chat, number: int, pos: int) -> Iterator[Record]:
        position = f"chat {chat.label} message #{number} (byte {pos})"
        if not isinstance(msg, dict):
            yield self._quarantine(position, "message is not a JSON object", msg)
            return
        try:
            records = _Converter(self, chat, msg).records()
        except (TypeError, ValueError, OverflowError, OSError) as exc:
            yield self._quarantine(position, f"cannot read message: {exc}", msg)
            return
        if isinstance(records, str):
            yield self._quarantine(position, records, msg)
            return
        for record in records:
            problem = record.validate()
            if problem:
                yield self._quarantine(position, problem, msg)
                return
        yield from records

    def local_time(self, text: str) -> datetime:
        """A `date` value: wall-clock time of the exporting machine, read in ctx.tz."""
        ts = datetime.fromisoformat(text.strip())
        if ts.tzinfo is not None:
            return ts.astimezone(UTC)
        if self.ctx.tz is not None:
            return localize(ts, self.ctx.tz)
        if not self.warned:
            self.warned = True
            self.ctx.warn(NO_ZONE_WARNING)
        return ts.replace(tzinfo=UTC)


class _Converter:
    """Turns one message object into records (or a reason to quarantine it)."""

    def __init__(self, scan: _Scan, chat: _Chat, msg: dict[str, Any]) -> None:
        self.scan = scan
        self.chat = chat
        self.msg = msg
        self.channel_id = chat.channel_id

    def _time(self, unix_key: str, local_key: str) -> datetime | None:
        unix = self.msg.get(unix_key)
        if isinstance(unix, str | int) and not isinstance(unix, bool):
            try:
                return datetime.fromtimestamp(int(unix), UTC)
            except (ValueError, OverflowError, OSError):
                pass
        local = self.msg.get(local_key)
        if isinstance(local, str):
            try:
                return self.scan.local_time(local)
            except (ValueError, OverflowError):
                return None
        return None

    def _source_id(self) -> str:
        mid = self.msg.get("id")
        if isinstance(mid, int | str) and not isinstance(mid, bool) and mid != "":
            return f"{self.channel_id}:{mid}"
        # No id (chat-miner's minimal exports): hash of what identifies the message,
        # plus how many identical messages came before it in this chat.
        date = self.msg.get("date_unixtime", self.msg.get("date"))
        parts = [self.channel_id, date, self.msg.get("from"), plain_text(self.msg.get("text"))]
        base = json.dumps(parts, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")
        tally = blake2b(base, digest_size=16).digest()  # keeps the per-chat tally small
        n = self.chat.seen[tally]
        self.chat.seen[tally] += 1
        digest = blake2b(base + b"\0" + str(n).encode(), digest_size=16).hexdigest()
        return f"{self.channel_id}:h{digest}"

    def _person(self, name_key: str, id_key: str) -> tuple[str, str | None]:
        """(display name, Bot API id or None) of the sender or actor."""
        name = self.msg.get(name_key)
        author = name if isinstance(name, str) and name else DELETED
        return author, peer_id(self.msg.get(id_key))

    def _reply_to(self, key: str) -> str | None:
        target = self.msg.get(key)
        if not isinstance(target, int | str) or isinstance(target, bool) or target == "":
            return None
        peer = peer_id(self.msg.get("reply_to_peer_id")) or self.channel_id
        return f"{peer}:{target}"

    def records(self) -> list[Activity] | str:
        msg = self.msg
        if msg.get("type") == "unsupported":
            return "message Telegram Desktop could not export (type unsupported)"
        ts = self._time("date_unixtime", "date")
        if ts is None:
            return "message has no usable date (date_unixtime or date)"
        base = Activity(
            platform=PLATFORM,
            source_id=self._source_id(),
            kind=Kind.MESSAGE,
            ts=ts,
            channel=self.chat.label,
            author="",
            author_id="",
            community=self.scan.ctx.community,
            channel_id=self.channel_id,
            edited_ts=self._time("edited_unixtime", "edited"),
        )
        if msg.get("type") == "service":
            return self._service(base)
        author, author_id = self._person("from", "from_id")
        if author_id is None and self.chat.type in _BROADCAST_TYPES:
            # A channel post without a sender id is the channel's own.
            author_id = self.channel_id
            author = msg["from"] if isinstance(msg.get("from"), str) else self.chat.label
        base.author = author
        base.author_id = author_id or f"name:{author}"
        base.text = plain_text(msg.get("text"))
        base.reply_to = self._reply_to("reply_to_message_id")
        base.mentions = _mentions(msg)
        base.attachments = 1 if any(msg.get(k) for k in _MEDIA_KEYS) else 0
        base.reactions = _reaction_count(msg.get("reactions"))
        # In a bot's chat, the messages whose sender is the chat itself are the bot's.
        base.is_bot = self.chat.type == "bot_chat" and base.author_id == self.channel_id
        base.extras = {k: msg[k] for k in _EXTRA_KEYS if isinstance(msg.get(k), str)}
        if isinstance(msg.get("author"), str):
            base.extras["signature"] = msg["author"]
        return [base]

    def _service(self, base: Activity) -> list[Activity]:
        msg = self.msg
        action = msg.get("action") if isinstance(msg.get("action"), str) else None
        if "actor" in msg or "actor_id" in msg:
            actor, actor_id = self._person("actor", "actor_id")
        elif "from" in msg or "from_id" in msg:
            actor, actor_id = self._person("from", "from_id")
        else:
            actor, actor_id = "system", "system"
        base.extras = {"action": action} if action else {}
        members = msg.get("members")
        if action in _JOIN_ACTIONS:
            base.kind, base.author, base.author_id = Kind.JOIN, actor, actor_id or f"name:{actor}"
            if isinstance(msg.get("inviter"), str):
                base.extras["inviter"] = msg["inviter"]
            return [base]
        if action in _ADD_ACTIONS | {"remove_members"} and isinstance(members, list) and members:
            kind = Kind.LEAVE if action == "remove_members" else Kind.JOIN
            out: list[Activity] = []
            for i, member in enumerate(members):
                name = member if isinstance(member, str) and member else DELETED
                # Someone who adds or removes themselves is the actor, whose id we know.
                mid = actor_id if name == actor and actor_id else f"name:{name}"
                sid = base.source_id if i == 0 else f"{base.source_id}/{i}"
                extras = {**base.extras, "by": actor}
                out.append(
                    replace(
                        base, source_id=sid, kind=kind, author=name, author_id=mid, extras=extras
                    )
                )
            return out
        base.kind = Kind.SYSTEM
        base.author, base.author_id = actor, actor_id or f"name:{actor}"
        base.text = describe_service(action, msg, actor)
        if action in ("pin_message", "set_same_chat_wallpaper"):
            base.reply_to = self._reply_to("message_id")
        return [base]


def describe_service(action: str | None, msg: dict[str, Any], actor: str) -> str:
    """One line for a service message: who did what, with the details the export gives."""
    what = action.replace("_", " ") if action else "service message"
    details: list[str] = []
    for key in ("title", "new_title"):
        if isinstance(msg.get(key), str):
            details.append(f"“{msg[key]}”")
    members = msg.get("members")
    if isinstance(members, list) and members:
        details.append(", ".join(m if isinstance(m, str) and m else DELETED for m in members))
    for key in ("duration_seconds", "duration"):
        if isinstance(msg.get(key), int | float) and not isinstance(msg.get(key), bool):
            details.append(f"{msg[key]:g} s")
    for key in ("discard_reason", "inviter", "information_text", "emoticon"):
        if isinstance(msg.get(key), str) and msg[key]:
            details.append(msg[key])
    if isinstance(msg.get("message_id"), int):
        details.append(f"message {msg['message_id']}")
    text = plain_text(msg.get("text"))
    if text:
        details.append(text)
    line = f"{actor} {what}" if actor != "system" else what
    return f"{line}: {'; '.join(details)}" if details else line


def _looks_like_export(head: bytes) -> bool:
    """Decide from the first bytes: top-level keys, and the first message's keys."""
    keys: set[str] = set()
    first_msg: set[str] = set()
    chat_type: object = None
    try:
        for prefix, event, value in ijson.parse(io.BytesIO(head.removeprefix(_BOM))):
            if prefix == "" and event in _OPEN | _SCALARS and event != "start_map":
                return False
            if prefix == "" and event == "map_key":
                if value in _FOREIGN_KEYS:
                    return False
                keys.add(value)
                if "personal_information" in keys:
                    return True
            elif prefix == "type" and event == "string":
                chat_type = value
            elif prefix in ("chats.list", "left_chats.list") and event == "start_array":
                return True
            elif prefix == "messages.item" and event == "map_key":
                first_msg.add(value)
            elif prefix == "messages.item" and event == "end_map":
                break
    except Exception:  # the head is cut anywhere; judge what was seen
        pass
    if {"type", "id"} <= keys and chat_type in _CHAT_TYPES:
        return True
    if "messages" in keys and "date_unixtime" in first_msg:
        return True
    return "messages" in keys and {"date", "type"} <= first_msg and "timestamp" not in first_msg


class TelegramDesktopImporter:
    """Telegram Desktop "Export chat history" / "Export Telegram data" (JSON)."""

    name = "telegram-desktop"
    platform = PLATFORM
    description = "Telegram Desktop export (result.json)"

    def sniff(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() == ".json" and not path.is_dir() and _looks_like_export(head)

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        scan = _Scan(path, ctx)
        yield from scan.run(None)
        if scan.deferred:
            yield from scan.run(dict(scan.deferred))
