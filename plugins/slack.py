"""Slack workspace export ("Export data"): a folder or a .zip of JSON day files.

Layout: users.json, channels.json (public), optional groups.json (private), mpims.json
and dms.json at the root (possibly one folder down inside a zip), then one folder per
conversation (named by channel name, or by id for DMs) holding `YYYY-MM-DD.json` day files,
each a JSON array of messages. Day files are streamed one element at a time so a huge day
of a busy channel never sits in memory whole.
"""

from __future__ import annotations

import abc
import codecs
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from cockpit.errors import ImportRefused
from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_api import ImportContext, Plugin

from .slack_events import SOURCE as EVENTS_SOURCE

PLATFORM = "slack"
RAW_LIMIT = 4096
_CHUNK = 1 << 16
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TS = re.compile(r"\d{1,10}(?:\.\d{1,6})?")  # epoch seconds up to the year 2286
_DAY_FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.json")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_WS = re.compile(r"[ \t\n\r]*")
_META_FILES = ("channels.json", "groups.json", "mpims.json", "dms.json")
_REQUIRED = ("channels.json", "users.json")
_SLACKBOT = "USLACKBOT"  # posts tombstones and reminders; never listed in users.json

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
        )
    },
}


class _Malformed(Exception):
    """One message cannot be normalized; it goes to quarantine, reading goes on."""


# --- the export as a tree of files: a folder or a zip --------------------------------------


class _Tree(abc.ABC):
    """Read-only view of the export root, so folder and zip share one reading path."""

    current = ""  # the file last opened, for error messages

    @abc.abstractmethod
    def exists(self, rel: str) -> bool: ...

    @abc.abstractmethod
    def open(self, rel: str) -> AbstractContextManager[IO[bytes]]: ...

    @abc.abstractmethod
    def days(self, folder: str) -> list[str]:
        """The folder's day files, oldest first, as paths relative to the root."""

    @abc.abstractmethod
    def folders(self) -> set[str]: ...

    def close(self) -> None:  # noqa: B027 - a folder holds nothing open; a zip overrides this
        pass


class _DirTree(_Tree):
    def __init__(self, root: Path) -> None:
        self.root = root

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def open(self, rel: str) -> AbstractContextManager[IO[bytes]]:
        self.current = rel
        return (self.root / rel).open("rb")

    def days(self, folder: str) -> list[str]:
        base = self.root / folder
        if not base.is_dir():
            return []
        names = (p.name for p in base.iterdir() if p.is_file())
        return [f"{folder}/{n}" for n in sorted(names) if _DAY_FILE.fullmatch(n)]

    def folders(self) -> set[str]:
        return {p.name for p in self.root.iterdir() if p.is_dir()}


def _member_name(info: zipfile.ZipInfo) -> str:
    """Undo zipfile's cp437 reading of UTF-8 names stored without the UTF-8 flag."""
    name = info.filename
    if not info.flag_bits & 0x800:
        with suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("utf-8")
    return name


def _zip_root(names: set[str]) -> str | None:
    """The prefix under which users.json and channels.json live: "" or one folder."""
    if all(r in names for r in _REQUIRED):
        return ""
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    found = [t for t in sorted(tops) if all(f"{t}/{r}" in names for r in _REQUIRED)]
    found = [t for t in found if t != "__MACOSX"]
    return f"{found[0]}/" if len(found) == 1 else None


class _ZipTree(_Tree):
    def __init__(self, archive: zipfile.ZipFile, prefix: str) -> None:
        self.archive = archive
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.by_folder: dict[str, list[str]] = {}
        for info in archive.infolist():
            name = _member_name(info)
            if not name.startswith(prefix) or info.is_dir():
                continue
            rel = name[len(prefix) :]
            self.members[rel] = info
            folder, _, base = rel.rpartition("/")
            if folder and "/" not in folder and _DAY_FILE.fullmatch(base):
                self.by_folder.setdefault(folder, []).append(rel)

    def exists(self, rel: str) -> bool:
        return rel in self.members

    def open(self, rel: str) -> AbstractContextManager[IO[bytes]]:
        self.current = rel
        return self.archive.open(self.members[rel])

    def days(self, folder: str) -> list[str]:
        return sorted(self.by_folder.get(folder, ()))

    def folders(self) -> set[str]:
        return set(self.by_folder)

    def close(self) -> None:
        self.archive.close()


def _dir_root(path: Path) -> Path | None:
    if all((path / r).is_file() for r in _REQUIRED):
        return path
    found = [d for d in path.iterdir() if d.is_dir() and all((d / r).is_file() for r in _REQUIRED)]
    return found[0] if len(found) == 1 else None


def _open_tree(path: Path) -> _Tree:
    if path.is_dir():
        root = _dir_root(path)
        if root is None:
            raise ImportRefused("not a Slack export: no users.json and channels.json", str(path))
        return _DirTree(root)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ImportRefused(
            f"not a readable zip archive ({exc})", "zip central directory"
        ) from None
    prefix = _zip_root({_member_name(i) for i in archive.infolist()})
    if prefix is None:
        archive.close()
        raise ImportRefused("not a Slack export: no users.json and channels.json", "zip members")
    return _ZipTree(archive, prefix)


# --- streaming a JSON array with exact byte positions --------------------------------------


@dataclass(slots=True)
class _Element:
    index: int  # 1-based
    byte: int
    value: Any
    raw: str


class _ArrayStream:
    """Yields the elements of one top-level JSON array, reading the file in chunks.

    Positions are byte offsets into the file, so a refusal can say exactly where the file
    went wrong. Built on json.JSONDecoder.raw_decode: one element is decoded at a time.
    """

    def __init__(self, stream: IO[bytes], rel: str, noun: str = "message") -> None:
        self.stream = stream
        self.rel = rel
        self.noun = noun
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.json = json.JSONDecoder()
        self.buf = ""
        self.pos = 0  # next unread character of buf
        self.byte = 0  # byte offset in the file of buf[pos]
        self.fed = 0  # bytes handed to the UTF-8 decoder so far
        self.eof = False
        self.first = True

    def _refuse(self, reason: str, byte: int) -> ImportRefused:
        return ImportRefused(reason, f"{self.rel} byte {byte}")

    def _fill(self, want: int = 0) -> None:
        """Read more text, dropping what has been consumed."""
        data = self.stream.read(max(want, _CHUNK))
        self.eof = not data
        pending = len(self.decoder.getstate()[0])
        try:
            text = self.decoder.decode(data, final=self.eof)
        except UnicodeDecodeError as exc:
            raise self._refuse("not valid UTF-8", self.fed - pending + exc.start) from None
        self.fed += len(data)
        if self.first:
            self.first = False
            if text.startswith("\ufeff"):
                text = text[1:]
                self.byte += 3
        self.buf = self.buf[self.pos :] + text
        self.pos = 0

    def _bytes_to(self, pos: int) -> int:
        """Byte offset in the file of buf[pos] (pos >= self.pos)."""
        part = self.buf[self.pos : pos]
        return self.byte + (len(part) if part.isascii() else len(part.encode("utf-8")))

    def _advance(self, pos: int) -> None:
        self.byte = self._bytes_to(pos)
        self.pos = pos

    def _skip_ws(self) -> None:
        """Move past whitespace, reading on until a non-space character or the end."""
        while True:
            match = _WS.match(self.buf, self.pos)
            pos = match.end() if match else self.pos
            self._advance(pos)
            if pos < len(self.buf) or self.eof:
                return
            self._fill()

    def _peek(self) -> str:
        return self.buf[self.pos : self.pos + 1]

    def __iter__(self) -> Iterator[_Element]:
        self._skip_ws()
        if not self._peek():
            raise self._refuse("empty file (truncated?)", self.byte)
        if self._peek() != "[":
            raise self._refuse("not a JSON array", self.byte)
        self._advance(self.pos + 1)
        index = 0
        self._skip_ws()
        if self._peek() == "]":
            self._advance(self.pos + 1)
            self._finish()
            return
        while True:
            if not self._peek():
                after = f"{self.noun} #{index}" if index else "'['"
                raise self._refuse(f"file ends after {after} (truncated)", self.byte)
            value, end = self._decode(index + 1)
            index += 1
            start, raw = self.byte, self.buf[self.pos : min(end, self.pos + RAW_LIMIT)]
            self._advance(end)
            yield _Element(index, start, value, raw)
            self._skip_ws()
            sep = self._peek()
            if sep == "]":
                self._advance(self.pos + 1)
                self._finish()
                return
            if sep != ",":
                if not sep:
                    raise self._refuse(
                        f"file ends after {self.noun} #{index} (truncated)", self.byte
                    )
                raise self._refuse(f"expected ',' or ']' after {self.noun} #{index}", self.byte)
            self._advance(self.pos + 1)
            self._skip_ws()

    def _decode(self, number: int) -> tuple[Any, int]:
        """Decode the element at buf[pos], reading more until it is whole (or cannot be)."""
        while True:
            try:
                value, end = self.json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                near_end = exc.pos >= len(self.buf) - 32 or exc.msg.startswith("Unterminated")
                if not self.eof and near_end:
                    self._fill(len(self.buf) - self.pos)
                    continue
                if exc.msg.startswith("Unterminated") or exc.pos >= len(self.buf):
                    at = self._bytes_to(len(self.buf))
                    raise self._refuse(
                        f"file ends inside {self.noun} #{number} (truncated)", at
                    ) from None
                at = self._bytes_to(exc.pos)
                reason = f"invalid JSON in {self.noun} #{number}: {exc.msg}"
                raise self._refuse(reason, at) from None
            except RecursionError:
                raise self._refuse(
                    f"{self.noun} #{number} is nested too deeply", self.byte
                ) from None
            # A number or literal at the very end may continue in the next chunk.
            if not self.eof and len(self.buf) - end < 32:
                self._fill(len(self.buf) - self.pos)
                continue
            return value, end

    def _finish(self) -> None:
        self._skip_ws()
        if self._peek():
            raise self._refuse("unexpected data after the closing ']'", self.byte)


# --- metadata: users and conversations -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _User:
    name: str
    handle: str | None
    is_bot: bool


@dataclass(frozen=True, slots=True)
class _Conversation:
    id: str
    name: str
    folder: str  # channel name, or the id for DMs


@dataclass(slots=True)
class _Workspace:
    users: dict[str, _User] = field(default_factory=dict)
    conversations: list[_Conversation] = field(default_factory=list)


def _entries(tree: _Tree, rel: str) -> Iterator[dict[str, Any]]:
    """The objects of users.json, channels.json and friends, streamed like day files."""
    with tree.open(rel) as stream:
        for el in _ArrayStream(stream, rel, noun="entry"):
            if isinstance(el.value, dict):
                yield el.value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _person_name(profile: Any) -> tuple[str | None, str | None]:
    """(author, handle) from a message's own user_profile, for users missing from users.json."""
    profile = profile if isinstance(profile, dict) else {}
    handle = _str(profile.get("name"))
    author = _str(profile.get("display_name")) or _str(profile.get("real_name")) or handle
    return author, handle


def _read_users(tree: _Tree) -> dict[str, _User]:
    users: dict[str, _User] = {}
    for entry in _entries(tree, "users.json"):
        if not _str(entry.get("id")):
            continue
        profile: dict[str, Any] = entry.get("profile") or {}
        if not isinstance(profile, dict):
            profile = {}
        handle = _str(entry.get("name"))
        author = (
            _str(profile.get("display_name"))
            or _str(profile.get("real_name"))
            or _str(entry.get("real_name"))
            or handle
            or entry["id"]
        )
        users[entry["id"]] = _User(author, handle, entry.get("is_bot") is True)
    return users


def _dm_name(members: Any, users: dict[str, _User]) -> str | None:
    if not isinstance(members, list):
        return None
    ids = [m for m in members if isinstance(m, str)]
    names = [(users[m].handle or m) if m in users else m for m in ids]
    return "dm-" + "--".join(names) if names else None


def _read_workspace(tree: _Tree, ctx: ImportContext) -> _Workspace:
    ws = _Workspace(users=_read_users(tree))
    for meta in _META_FILES:
        if not tree.exists(meta):
            continue
        for entry in _entries(tree, meta):
            cid = _str(entry.get("id"))
            if cid is None:
                ctx.warn(f"{meta}: skipped an entry without an id")
                continue
            name = _str(entry.get("name"))
            if meta == "dms.json":
                name = name or _dm_name(entry.get("members"), ws.users)
            name = name or cid
            folder = name if tree.days(name) or not tree.days(cid) else cid
            ws.conversations.append(_Conversation(cid, name, folder))
    known = {c.folder for c in ws.conversations}
    for folder in sorted(tree.folders() - known):
        if tree.days(folder):
            ctx.warn(f"folder {folder!r} is in no metadata file; its id is unknown")
            ws.conversations.append(_Conversation(folder, folder, folder))
    return ws


# --- one message -> one Activity -----------------------------------------------------------


def _parse_ts(value: Any, what: str) -> datetime:
    if not isinstance(value, str) or not _TS.fullmatch(value):
        raise _Malformed(f"{what} {value!r} is not a Slack timestamp")
    secs, _, frac = value.partition(".")
    return _EPOCH + timedelta(seconds=int(secs), microseconds=int(frac.ljust(6, "0")))


def _count_reactions(reactions: Any) -> int:
    if reactions is None:
        return 0
    if not isinstance(reactions, list):
        raise _Malformed("reactions is not a list")
    total = 0
    for r in reactions:
        if not isinstance(r, dict):
            raise _Malformed("a reaction is not an object")
        count = r.get("count")
        if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            total += count
        elif isinstance(r.get("users"), list):
            total += len(r["users"])
        else:
            total += 1
    return total


def _author(
    msg: dict[str, Any], subtype: str | None, users: dict[str, _User]
) -> tuple[str, str, str | None, bool]:
    """(author_id, author, handle, is_bot) for a message."""
    user = _str(msg.get("user"))
    bot_id = _str(msg.get("bot_id"))
    bot_name = _str(msg.get("username"))
    if isinstance(msg.get("bot_profile"), dict):
        bot_name = bot_name or _str(msg["bot_profile"].get("name"))
    if subtype == "bot_message" or (user is None and bot_id):
        author_id = bot_id or user or (f"name:{bot_name}" if bot_name else None)
        if author_id is None:
            raise _Malformed("bot message with neither bot_id, user nor username")
        known = users.get(user) if user else None
        return author_id, bot_name or (known.name if known else author_id), None, True
    if user is None:
        if bot_name:
            return f"name:{bot_name}", bot_name, None, False
        raise _Malformed("message has no user")
    known = users.get(user)
    if known is not None:
        return user, known.name, known.handle, known.is_bot or bool(bot_id)
    if user == _SLACKBOT:
        return user, "Slackbot", "slackbot", True
    author, handle = _person_name(msg.get("user_profile"))
    return user, author or user, handle, bool(bot_id)


def _activity(
    msg: dict[str, Any], conv: _Conversation, users: dict[str, _User], ctx: ImportContext
) -> Activity:
    if msg.get("type", "message") != "message":
        raise _Malformed(f"type {msg.get('type')!r} is not a message")
    ts_raw = msg.get("ts")
    if ts_raw is None:
        raise _Malformed("message has no ts")
    ts = _parse_ts(ts_raw, "ts")
    subtype = msg.get("subtype")
    if subtype is not None and not isinstance(subtype, str):
        raise _Malformed("subtype is not a string")
    text = msg.get("text")
    if text is None:
        text = ""
    elif not isinstance(text, str):
        raise _Malformed("text is not a string")
    thread_ts = msg.get("thread_ts")
    if thread_ts is not None:
        _parse_ts(thread_ts, "thread_ts")
    edited = msg.get("edited")
    edited_ts = None
    if isinstance(edited, dict) and edited.get("ts") is not None:
        edited_ts = _parse_ts(edited["ts"], "edited.ts")
    files = msg.get("files")
    if files is not None and not isinstance(files, list):
        raise _Malformed("files is not a list")
    author_id, author, handle, is_bot = _author(msg, subtype, users)
    extras: dict[str, Any] = {}
    if subtype:
        extras["subtype"] = subtype
    team = _str(msg.get("team")) or _str(msg.get("user_team"))
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
        community=ctx.community,
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


# --- the importer --------------------------------------------------------------------------


def _read_day(
    tree: _Tree, rel: str, conv: _Conversation, ws: _Workspace, ctx: ImportContext, origin: str
) -> Iterator[Record]:
    with tree.open(rel) as stream:
        for el in _ArrayStream(stream, rel):
            position = f"{rel} message #{el.index}"
            if not isinstance(el.value, dict):
                reason = f"message is a JSON {type(el.value).__name__}, not an object"
                yield Quarantined(PLATFORM, origin, position, reason, el.raw)
                continue
            try:
                yield _activity(el.value, conv, ws.users, ctx)
            except _Malformed as exc:
                yield Quarantined(PLATFORM, origin, position, str(exc), el.raw)


class SlackExportImporter:
    """Reads a Slack workspace export, conversation by conversation, day by day."""

    name = "slack-export"
    platform = PLATFORM
    description = "Slack workspace export (folder or .zip)"

    def sniff(self, path: Path, head: bytes) -> bool:
        try:
            if path.is_dir():
                return _dir_root(path) is not None
            if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
                return False
            with zipfile.ZipFile(path) as archive:
                return _zip_root({_member_name(i) for i in archive.infolist()}) is not None
        except (OSError, zipfile.BadZipFile, EOFError, ValueError):
            return False

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        try:
            tree = _open_tree(path)
        except OSError as exc:
            raise ImportRefused(f"cannot read ({exc.strerror or exc})", str(path)) from None
        try:
            ws = _read_workspace(tree, ctx)
            for conv in ws.conversations:
                for rel in tree.days(conv.folder):
                    yield from _read_day(tree, rel, conv, ws, ctx, path.name or str(path))
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            rel = tree.current
            raise ImportRefused(f"corrupt archive member ({exc})", rel) from None
        except RuntimeError as exc:  # encrypted member, unsupported compression
            rel = tree.current
            raise ImportRefused(f"cannot read archive member ({exc})", rel) from None
        except OSError as exc:
            rel = tree.current
            raise ImportRefused(f"cannot read ({exc.strerror or exc})", rel) from None
        finally:
            tree.close()


plugin = Plugin(
    name="slack",
    platform=PLATFORM,
    description="Slack: workspace export importer (folder or .zip), Events API connector",
    importers=[SlackExportImporter()],
    sources={"slack": EVENTS_SOURCE},
)

__all__ = ["PLATFORM", "SlackExportImporter", "plugin"]
