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
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cockpit.model import Quarantined, Record
from cockpit.plugin_api import ImportContext
from cockpit.plugin_kit import RAW_LIMIT, ImportRefused, Malformed, optional_string

from .model import PLATFORM, Conversation, User, message_activity

_CHUNK = 1 << 16
_DAY_FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.json")
_WS = re.compile(r"[ \t\n\r]*")
_META_FILES = ("channels.json", "groups.json", "mpims.json", "dms.json")
_REQUIRED = ("channels.json", "users.json")


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


def _safe_name(name: str) -> bool:
    """One plain path component: no separator, no `.` or `..`, nothing absolute."""
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\0")


def _safe_member(rel: str) -> bool:
    """A zip member path made of plain components only (no `..`, not absolute)."""
    return not rel.startswith("/") and all(_safe_name(part) for part in rel.split("/"))


class _DirTree(_Tree):
    """A folder export, read only through regular files inside its own tree.

    Symlinks are never followed (a day file or channel folder linked elsewhere would import
    files from outside the export) and a conversation name from the metadata must be one
    plain path component; anything else is skipped with a warning naming the path.
    """

    def __init__(self, root: Path, warn: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.warn = warn or (lambda _message: None)
        self._warned: set[str] = set()

    def _skip(self, rel: str, why: str) -> None:
        if rel not in self._warned:
            self._warned.add(rel)
            self.warn(f"skipped {str(self.root / rel)!r}: {why}")

    def _kind(self, rel: str) -> int | None:
        """The file type of root/rel without following a link (None when absent)."""
        try:
            return (self.root / rel).lstat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None

    def exists(self, rel: str) -> bool:
        mode = self._kind(rel)
        if mode is None:
            return False
        if stat.S_ISLNK(mode):
            self._skip(rel, "a symbolic link (only files inside the export are read)")
            return False
        return stat.S_ISREG(mode)

    def open(self, rel: str) -> AbstractContextManager[IO[bytes]]:
        self.current = rel
        mode = self._kind(rel)
        if mode is None or not stat.S_ISREG(mode):
            why = "a symbolic link" if mode is not None and stat.S_ISLNK(mode) else "not a file"
            raise ImportRefused(
                f"{why}, not a regular file inside the export", str(self.root / rel)
            )
        return (self.root / rel).open("rb")

    def days(self, folder: str) -> list[str]:
        if not _safe_name(folder):
            self._skip(folder, "a conversation name that is not a plain folder name")
            return []
        mode = self._kind(folder)
        if mode is None:
            return []
        if stat.S_ISLNK(mode):
            self._skip(folder, "a symbolic link (only folders inside the export are read)")
            return []
        if not stat.S_ISDIR(mode):
            return []
        names: list[str] = []
        for p in (self.root / folder).iterdir():
            if not _DAY_FILE.fullmatch(p.name):
                continue
            mode = p.lstat().st_mode
            if stat.S_ISLNK(mode):
                self._skip(
                    f"{folder}/{p.name}", "a symbolic link (only files inside the export are read)"
                )
            elif stat.S_ISREG(mode):
                names.append(p.name)
        return [f"{folder}/{n}" for n in sorted(names)]

    def folders(self) -> set[str]:
        return {p.name for p in self.root.iterdir() if not p.is_symlink() and p.is_dir()}


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
    """A zip export. Members are read from the archive, never extracted, but a member
    named with `..`, an absolute path or stored as a symlink is a crafted archive's mark:
    such members are skipped with a warning naming them."""

    def __init__(
        self, archive: zipfile.ZipFile, prefix: str, warn: Callable[[str], None] | None = None
    ) -> None:
        self.archive = archive
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.by_folder: dict[str, list[str]] = {}
        say = warn or (lambda _message: None)
        for info in archive.infolist():
            name = _member_name(info)
            if not name.startswith(prefix) or info.is_dir():
                continue
            rel = name[len(prefix) :]
            if not _safe_member(rel):
                say(f"skipped zip member {name!r}: a path that leaves the export")
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                say(f"skipped zip member {name!r}: a symbolic link, not a file")
                continue
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


def _regular(path: Path) -> bool:
    """A regular file, not a symlink to one."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _plain_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def _dir_root(path: Path) -> Path | None:
    if all(_regular(path / r) for r in _REQUIRED):
        return path
    found = [d for d in path.iterdir() if _plain_dir(d) and all(_regular(d / r) for r in _REQUIRED)]
    return found[0] if len(found) == 1 else None


def _open_tree(path: Path, warn: Callable[[str], None] | None = None) -> _Tree:
    if path.is_dir():
        root = _dir_root(path)
        if root is None:
            raise ImportRefused(
                "not a Slack export: no users.json and channels.json (as regular files)",
                str(path),
            )
        return _DirTree(root, warn)
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
    return _ZipTree(archive, prefix, warn)


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


@dataclass(slots=True)
class _Workspace:
    users: dict[str, User] = field(default_factory=dict)
    conversations: list[Conversation] = field(default_factory=list)


def _entries(tree: _Tree, rel: str) -> Iterator[dict[str, Any]]:
    """The objects of users.json, channels.json and friends, streamed like day files."""
    with tree.open(rel) as stream:
        for el in _ArrayStream(stream, rel, noun="entry"):
            if isinstance(el.value, dict):
                yield el.value


def _read_users(tree: _Tree) -> dict[str, User]:
    users: dict[str, User] = {}
    for entry in _entries(tree, "users.json"):
        if not optional_string(entry.get("id")):
            continue
        profile: dict[str, Any] = entry.get("profile") or {}
        if not isinstance(profile, dict):
            profile = {}
        handle = optional_string(entry.get("name"))
        author = (
            optional_string(profile.get("display_name"))
            or optional_string(profile.get("real_name"))
            or optional_string(entry.get("real_name"))
            or handle
            or entry["id"]
        )
        users[entry["id"]] = User(author, handle, entry.get("is_bot") is True)
    return users


def _dm_name(members: Any, users: dict[str, User]) -> str | None:
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
            cid = optional_string(entry.get("id"))
            if cid is None:
                ctx.warn(f"{meta}: skipped an entry without an id")
                continue
            name = optional_string(entry.get("name"))
            if meta == "dms.json":
                name = name or _dm_name(entry.get("members"), ws.users)
            name = name or cid
            folder = name if tree.days(name) or not tree.days(cid) else cid
            ws.conversations.append(Conversation(cid, name, folder))
    known = {c.folder for c in ws.conversations}
    for folder in sorted(tree.folders() - known):
        if tree.days(folder):
            ctx.warn(f"folder {folder!r} is in no metadata file; its id is unknown")
            ws.conversations.append(Conversation(folder, folder, folder))
    return ws


# --- one message -> one Activity -----------------------------------------------------------


# --- the importer --------------------------------------------------------------------------


def _read_day(
    tree: _Tree, rel: str, conv: Conversation, ws: _Workspace, ctx: ImportContext, origin: str
) -> Iterator[Record]:
    with tree.open(rel) as stream:
        for el in _ArrayStream(stream, rel):
            position = f"{rel} message #{el.index}"
            if not isinstance(el.value, dict):
                reason = f"message is a JSON {type(el.value).__name__}, not an object"
                yield Quarantined(PLATFORM, origin, position, reason, el.raw)
                continue
            try:
                yield message_activity(el.value, conv, ws.users, ctx.community)
            except Malformed as exc:
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
            tree = _open_tree(path, ctx.warn)
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
