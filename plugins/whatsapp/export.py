"""WhatsApp "Export chat" files (.txt, or the .zip the phone shares) as records.

The export is text written for people: no ids, no time zone, and a date layout that
follows the phone's locale. So a first pass infers the date order from the whole file,
times are read in the zone the user names, and ids are hashes of what the file says.
Both passes stream the file line by line with bounded memory.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_api import ImportContext
from cockpit.plugin_kit import RAW_LIMIT, ImportRefused, localize

from .payloads import PLATFORM

_CHUNK = 64 * 1024
# WhatsApp caps a message at 65,536 characters; anything far beyond is not a real message.
_MAX_LINE = 128 * 1024  # characters kept of one physical line
_MAX_BODY = 256 * 1024  # characters of one message, continuation lines included
_SCAN_KEEP = 160  # the first pass only needs the start of each line
_SNIFF_LINES = 20

# Invisible marks the exporter wraps around line starts, names and attachments.
_MARKS = "\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_LRM = "\u200e"

_SP = "[ \u00a0\u202f]"
_DATE = (
    r"(?P<date>(?P<y4>\d{4})(?P<s1>[/.\-])(?P<ym>\d{1,2})(?P=s1)(?P<yd>\d{1,2})"
    r"|(?P<a>\d{1,2})(?P<s2>[/.\-])(?P<b>\d{1,2})(?P=s2)(?P<y>\d{4}|\d{2}))"
)
_TIME = (
    r"(?P<time>(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?:[:.](?P<sec>\d{2}))?"
    rf"(?:{_SP}?(?P<ampm>[AaPp]\.?{_SP}?[Mm]\.?))?)"
)
_STAMP = rf"{_DATE},?{_SP}{_TIME}"
_ANDROID = re.compile(rf"{_STAMP}\.?{_SP}?[-–](?:{_SP}(?P<rest>.*))?\Z")
_IOS = re.compile(rf"\[{_STAMP}\.?\](?:{_SP}(?P<rest>.*))?\Z")
# exports of about 2012-2015: "09/12/2012 17:02:35: Name: text" (day/month dates only)
_OLD = re.compile(rf"{_STAMP}:{_SP}(?P<rest>.*)\Z")

# "Author: text"; authors never contain a colon. "Name:." is a real (if odd) export line.
_AUTHOR = re.compile(r"(?P<author>[^:]{1,100}):(?:[ \u00a0](?P<text>.*)|(?P<bare>[^\s\d]\S*))?\Z")
# System lines whose quoted part may contain ": " and so look like "Author: text".
_SYSTEM_BEFORE_COLON = re.compile(
    r"\b(?:created (?:group|community)|changed (?:the subject|the group name|"
    r"the group description|this group['’]s|the settings)|pinned a message)\b"
)
# iOS writes system lines as "[stamp] Group name: \u200e<system text>".
_IOS_SYSTEM = re.compile(
    r"end-to-end encrypt|created (?:group|community)|changed (?:the subject|the group|"
    r"this group|their phone number|the settings)|security code|now an admin|"
    r"no longer an admin|disappearing messages|Missed (?:voice|video|group) call|"
    r"pinned a message|"
    # WhatsApp Business notices, written under the business's (the chat's) name
    r"this business (?:uses|is now using|works with) |this chat is with (?:a|an official) business",
    re.IGNORECASE,
)
_MEMBERSHIP: tuple[tuple[re.Pattern[str], Kind], ...] = (
    (
        re.compile(
            r"(?P<who>.+?) joined(?: using this (?:group|community)['’]s invite link"
            r"| from the community| via invite link| using a group link)?\Z"
        ),
        Kind.JOIN,
    ),
    (re.compile(r"(?P<who>.+?) (?:was|were) added\Z"), Kind.JOIN),
    (re.compile(r"(?P<by>.+?) added (?P<who>.+)\Z"), Kind.JOIN),
    (re.compile(r"(?P<who>.+?) left\Z"), Kind.LEAVE),
    (re.compile(r"(?P<who>.+?) (?:was|were) removed\Z"), Kind.LEAVE),
    (re.compile(r"(?P<by>.+?) removed (?P<who>.+)\Z"), Kind.LEAVE),
)
_PEOPLE_SPLIT = re.compile(r",\s+|\s+and\s+")
_EDITED = re.compile(r"[\s\u200e]*<This message was edited>\Z")
_DELETED = re.compile(r"\u200e?(?:This message was deleted|You deleted this message)\.?")
_MEDIA = re.compile(
    r"<Media omitted>"
    r"|(?:image|video|audio|sticker|GIF|document|Contact card|voice message|video note) omitted"
    r"|<attached: (?P<attached>[^>]+)>"
    r"|(?P<doc>.+?)\s*\u200e?document omitted"
    r"|(?P<file>\S.*?\.\w{1,5}) \(file attached\)",
    re.IGNORECASE,
)
_PHONE = re.compile(r"\+?[\d \u00a0\u202f\-()]{5,}")
_PHONE_NOISE = re.compile(r"[\s\-\u202a\u202c()]")
_CHAT_NAME = re.compile(
    r"(?:WhatsApp Chat(?: with| mit| -| –)|WhatsApp-Chat mit|Chat de WhatsApp con"
    r"|Conversa do WhatsApp com|Discussion WhatsApp avec)\s+(?P<name>.+?)(?: \(\d+\))?",
    re.IGNORECASE,
)
_ORDERS = ("dmy", "mdy")
_ORDER_WORDS = {"dmy": "day/month/year", "mdy": "month/day/year"}


class _Undecodable(Exception):
    def __init__(self, byte: int, line: int) -> None:
        self.byte = byte
        self.line = line
        super().__init__(f"byte {byte}")


@dataclass(slots=True)
class _Line:
    number: int
    text: str
    overlong: bool


class _LineReader:
    """UTF-8 lines with bounded memory that still know where a bad byte sits.

    A character cut off by the end of the file is dropped (a truncated export is
    normal); `dropped` counts its bytes. Any other invalid byte raises `_Undecodable`.
    """

    def __init__(self, stream: IO[bytes], keep: int) -> None:
        self._stream = stream
        self._keep = keep
        self.dropped = 0

    def __iter__(self) -> Iterator[_Line]:
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        offset = 0
        number = 1
        parts: list[str] = []
        kept = 0
        overlong = False
        while chunk := self._stream.read(_CHUNK):
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                data = exc.object if isinstance(exc.object, bytes) else b""
                line = number + data[: exc.start].count(b"\n")
                raise _Undecodable(offset - pending + exc.start, line) from None
            offset += len(chunk)
            pieces = text.split("\n")
            for index, piece in enumerate(pieces):
                room = self._keep - kept
                if len(piece) > room:
                    overlong = True
                    piece = piece[:room]
                if piece:
                    parts.append(piece)
                    kept += len(piece)
                if index < len(pieces) - 1:
                    yield self._line(number, parts, overlong)
                    number += 1
                    parts, kept, overlong = [], 0, False
        self.dropped = len(decoder.getstate()[0])
        if parts or overlong:
            yield self._line(number, parts, overlong)

    @staticmethod
    def _line(number: int, parts: list[str], overlong: bool) -> _Line:
        text = "".join(parts).rstrip("\r")  # CR LF, and CR CR LF in some older exports
        if number == 1:
            text = text.removeprefix("\ufeff")
        return _Line(number, text, overlong)


def _header(text: str) -> re.Match[str] | None:
    """The date/time header that starts a message, or None for a continuation line."""
    line = text.lstrip(_MARKS)
    if line.startswith("["):  # iOS may put a byte-order mark inside the bracket
        return _IOS.match("[" + line[1:].lstrip(_MARKS))
    if not line[:1].isdigit():
        return None
    found = _ANDROID.match(line)
    if found is None:
        found = _OLD.match(line)
        if found is not None and found["y4"]:  # an ISO date and a colon: a log, not a chat
            return None
    return found


def _ymd(m: re.Match[str], order: str) -> tuple[int, int, int]:
    if m["y4"]:
        return int(m["y4"]), int(m["ym"]), int(m["yd"])
    year = int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
    a, b = int(m["a"]), int(m["b"])
    return (year, b, a) if order == "dmy" else (year, a, b)


def _naive(m: re.Match[str], order: str) -> datetime:
    """The wall-clock time a header says; ValueError if it is not a real date."""
    year, month, day = _ymd(m, order)
    hour, minute, second = int(m["h"]), int(m["mi"]), int(m["sec"] or 0)
    ampm = m["ampm"]
    if ampm and hour <= 12:  # some exports write "13:37 p.m.": the hour already wins
        pm = ampm[0] in "pP"
        if hour == 12:
            hour = 12 if pm else 0
        elif pm:
            hour += 12
    return datetime(year, month, day, hour, minute, second)


def _plausible(m: re.Match[str]) -> bool:
    for order in _ORDERS:
        try:
            _naive(m, order)
        except ValueError:
            continue
        return True
    return False


def _looks_like_chat(head: bytes) -> bool:
    """The first non-blank line of `head` is a WhatsApp message header."""
    if b"\x00" in head:
        return False
    lines = head.decode("utf-8", "replace").split("\n")[:_SNIFF_LINES]
    for line in lines:
        line = line.removeprefix("\ufeff").rstrip("\r")
        if not line.strip(_MARKS + " \t"):
            continue
        m = _header(line)
        return m is not None and _plausible(m)
    return False


def chat_name(file_name: str) -> str | None:
    """The chat's name in an export's file name, e.g. "Family" in "WhatsApp Chat with Family.txt"."""
    stem = Path(file_name).stem
    m = _CHAT_NAME.fullmatch(stem.strip())
    return m["name"].strip() if m else None


@lru_cache(maxsize=4096)
def _author_id(author: str) -> str:
    """A phone number without its formatting, else the name as shown."""
    if _PHONE.fullmatch(author.strip(_MARKS)) and sum(c.isdigit() for c in author) >= 5:
        return _PHONE_NOISE.sub("", author).strip(_MARKS)
    return author


def _clean_name(name: str) -> str:
    name = name.replace(_LRM, "").strip(_MARKS + " ")
    return "You" if name in ("you", "You") else name


@dataclass
class _Scan:
    """What the first pass learns: how many headers, and which date order fits."""

    headers: int = 0
    non_iso: int = 0
    votes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_ORDERS, 0))
    ordered: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(_ORDERS, True))
    last: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    last_date: str = ""

    def add(self, m: re.Match[str]) -> None:
        self.headers += 1
        if m["y4"] or m["date"] == self.last_date:  # runs of one day teach nothing new
            return
        self.last_date = m["date"]
        a, b = int(m["a"]), int(m["b"])
        if a > 12 >= b:
            self.votes["dmy"] += 1
        elif b > 12 >= a:
            self.votes["mdy"] += 1
        self.non_iso += 1
        for order in _ORDERS:
            try:
                day = _ymd(m, order)
                datetime(*day)
            except ValueError:
                self.ordered[order] = False
                continue
            if day < self.last.get(order, day):
                self.ordered[order] = False
            self.last[order] = day

    def order(self, origin: str, warn: Callable[[str], None]) -> str:
        dmy, mdy = self.votes["dmy"], self.votes["mdy"]
        if dmy and not mdy:
            return "dmy"
        if mdy and not dmy:
            return "mdy"
        if dmy and mdy:
            chosen = "mdy" if mdy > dmy else "dmy"
            warn(
                f"{origin}: dates are written both day-first and month-first; read them as "
                f"{_ORDER_WORDS[chosen]} and quarantined the lines that do not fit"
            )
            return chosen
        if not self.non_iso:
            return "dmy"
        forward = [order for order in _ORDERS if self.ordered[order]]
        chosen = forward[0] if len(forward) == 1 else "dmy"
        why = "the only order in which they run forward" if len(forward) == 1 else "the default"
        warn(
            f"{origin}: no date in the file shows whether the day or the month comes first; "
            f"assumed {_ORDER_WORDS[chosen]} ({why})"
        )
        return chosen


@dataclass
class _Entry:
    """One message being collected: its header line and continuation lines."""

    number: int
    match: re.Match[str] | None
    lines: list[str]
    size: int = 0
    too_long: str | None = None

    def append(self, line: _Line) -> None:
        self.size += len(line.text) + 1
        if line.overlong:
            self.too_long = f"line {line.number} is longer than {_MAX_LINE} characters"
        elif self.size > _MAX_BODY and self.too_long is None:
            self.too_long = f"message longer than {_MAX_BODY} characters"
        if self.size <= _MAX_BODY:
            self.lines.append(line.text)

    def raw(self) -> str:
        return "\n".join(self.lines)[:RAW_LIMIT]


class _Builder:
    """Turns collected entries into records for one file."""

    def __init__(self, origin: str, channel: str, ctx: ImportContext, tz: tzinfo, order: str):
        self.origin = origin
        self.channel = channel
        self.channel_id = f"chat:{channel}"
        self.ctx = ctx
        self.tz = tz
        self.order = order
        self._once: set[int] = set()
        self._more: dict[int, int] = {}
        self._last_stamp = ""
        self._last_ts = datetime.min.replace(tzinfo=UTC)

    def quarantine(self, entry: _Entry, reason: str) -> Quarantined:
        return Quarantined(PLATFORM, self.origin, f"line {entry.number}", reason, entry.raw())

    def records(self, entry: _Entry) -> Iterator[Record]:
        m = entry.match
        if m is None:
            yield self.quarantine(entry, "text before the first message line")
            return
        if entry.too_long:
            yield self.quarantine(entry, entry.too_long)
            return
        stamp = m.string[m.start("date") : m.end("time")]
        try:
            ts = self._time(stamp, m)
        except (ValueError, OverflowError):
            shown = f"{m['date']} {m['time']}"
            yield self.quarantine(
                entry, f"invalid date or time {shown!r} (read as {_ORDER_WORDS[self.order]})"
            )
            return
        more = list(entry.lines[1:])
        while more and not more[-1].strip():
            more.pop()
        rest = m["rest"] or ""
        author = _AUTHOR.match(rest)
        if author and not _SYSTEM_BEFORE_COLON.search(author["author"]):
            name = author["author"].strip(_MARKS)
            body = author["text"] if author["text"] is not None else author["bare"] or ""
            if name and not (body.startswith(_LRM) and self._is_system(body)):
                yield self._message(stamp, ts, name, "\n".join([body, *more]))
                return
            if name:
                rest = body
        yield from self._system(stamp, ts, rest, more)

    @staticmethod
    def _is_system(body: str) -> bool:
        line = body.replace(_LRM, "").strip()
        if _IOS_SYSTEM.search(line):
            return True
        return any(pattern.fullmatch(line) for pattern, _ in _MEMBERSHIP)

    def _message(self, stamp: str, ts: datetime, author: str, body: str) -> Activity:
        source_id = self._source_id(stamp, author, body)
        text = body.lstrip(_LRM)
        extras: dict[str, Any] = {}
        kind = Kind.MESSAGE
        attachments = 0
        if _EDITED.search(text):
            text = _EDITED.sub("", text)
            extras["edited"] = True
        if _DELETED.fullmatch(text):
            kind = Kind.DELETE
        else:
            first, _, caption = text.partition("\n")
            media = _MEDIA.fullmatch(first.strip(_MARKS + " "))
            if media:
                attachments = 1
                text = caption
                name = media["attached"] or media["file"] or media["doc"]
                if name:
                    extras["media"] = name.strip(_MARKS + " ")
        return self._activity(source_id, kind, ts, author, text, attachments, extras)

    def _system(self, stamp: str, ts: datetime, first: str, more: list[str]) -> Iterator[Activity]:
        text = "\n".join([first, *more]).replace(_LRM, "")  # app text; LRMs are iOS noise
        line = first.replace(_LRM, "").strip()
        for pattern, kind in _MEMBERSHIP:
            m = pattern.fullmatch(line)
            if not m:
                continue
            extras: dict[str, Any] = {"system": True}
            if "by" in m.groupdict() and m["by"]:
                extras["by"] = _clean_name(m["by"])
            people = [_clean_name(p) for p in _PEOPLE_SPLIT.split(m["who"])]
            for person in filter(None, people):
                sid = self._source_id(stamp, person, text)
                yield self._activity(sid, kind, ts, person, text, 0, dict(extras))
            return
        sid = self._source_id(stamp, "system", text)
        yield self._activity(sid, Kind.SYSTEM, ts, "system", text, 0, {})

    def _activity(
        self,
        source_id: str,
        kind: Kind,
        ts: datetime,
        author: str,
        text: str,
        attachments: int,
        extras: dict[str, Any],
    ) -> Activity:
        return Activity(
            platform=PLATFORM,
            source_id=source_id,
            kind=kind,
            ts=ts,
            channel=self.channel,
            author=author,
            author_id="system" if kind is Kind.SYSTEM else _author_id(author),
            text=text,
            community=self.ctx.community,
            channel_id=self.channel_id,
            attachments=attachments,
            extras=extras,
        )

    def _time(self, stamp: str, m: re.Match[str]) -> datetime:
        """UTC time of a header; messages come in runs that share one stamp."""
        if stamp != self._last_stamp:
            self._last_ts = localize(_naive(m, self.order), self.tz)
            self._last_stamp = stamp
        return self._last_ts

    def _source_id(self, stamp: str, author: str, text: str) -> str:
        """Hash of what the file says, numbered among identical lines so far.

        Fields are length-prefixed so no text can imitate another split of the fields.
        Memory grows by one small int per message: the price of telling two identical
        messages apart.
        """
        fields = (self.channel_id, stamp, author, text)
        key = "".join(f"{len(f)}:{f}" for f in fields).encode()
        digest = hashlib.blake2b(key, digest_size=16)
        probe = int.from_bytes(digest.digest()[:8], "big")
        if probe not in self._once:
            self._once.add(probe)
            return digest.hexdigest()
        n = self._more.get(probe, 1)
        self._more[probe] = n + 1
        return hashlib.blake2b(key + f"#{n}".encode(), digest_size=16).hexdigest()


def _inside(name: str) -> bool:
    """A member path of plain components: not absolute, no `..`, no drive or backslash."""
    parts = name.split("/")
    return (
        not name.startswith("/") and "\\" not in name and ":" not in parts[0] and ".." not in parts
    )


def _pick_member(zf: zipfile.ZipFile, warn: Callable[[str], None] | None = None) -> str:
    """The chat text member. A member whose name leaves the export (a crafted archive's
    mark; it is read from the archive, never extracted) is skipped with a warning."""
    texts: list[str] = []
    for info in zf.infolist():
        if info.is_dir():
            continue
        if not _inside(info.filename):
            if warn is not None:
                warn(f"skipped zip member {info.filename!r}: a path that leaves the export")
            continue
        texts.append(info.filename)
    texts = [name for name in texts if name.lower().endswith(".txt")]
    for name in texts:
        base = name.rsplit("/", 1)[-1]
        if base == "_chat.txt" or chat_name(base):
            return name
    if len(texts) == 1:
        return texts[0]
    raise ImportRefused(
        "zip archive holds no WhatsApp chat (_chat.txt or 'WhatsApp Chat with NAME.txt')",
        "member list",
    )


def _is_zip(path: Path) -> bool:
    if path.is_dir():
        raise ImportRefused("a directory, not a WhatsApp chat export", str(path))
    with path.open("rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


class _Source:
    """The chat text of a .txt file or of the text member of a .zip export."""

    def __init__(self, path: Path, warn: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.member: str | None = None
        self.dropped = 0
        if _is_zip(path):
            try:
                with zipfile.ZipFile(path) as zf:
                    self.member = _pick_member(zf, warn)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ImportRefused(f"corrupt zip archive: {exc}", "central directory") from None

    def channel(self) -> str:
        name = chat_name(self.path.name)
        if name is None and self.member is not None:
            name = chat_name(self.member.rsplit("/", 1)[-1])
        return name or self.path.stem

    @contextmanager
    def _open(self) -> Iterator[IO[bytes]]:
        if self.member is None:
            with self.path.open("rb") as fh:
                yield fh
        else:
            with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as fh:
                yield fh

    def lines(self, keep: int) -> Iterator[_Line]:
        try:
            with self._open() as fh:
                reader = _LineReader(fh, keep)
                yield from reader
                self.dropped = reader.dropped
        except _Undecodable as exc:
            raise ImportRefused(
                "not valid UTF-8 text", f"line {exc.line} (byte {exc.byte})"
            ) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
            raise ImportRefused(f"corrupt zip archive: {exc}", f"member {self.member}") from None


class WhatsAppImporter:
    """Reads Android and iOS "Export chat" text, plain or zipped."""

    name = "whatsapp-txt"
    platform = PLATFORM
    description = "WhatsApp chat export (.txt or .zip)"

    def sniff(self, path: Path, head: bytes) -> bool:
        if head.startswith(b"PK\x03\x04"):
            return _sniff_zip(path)
        return _looks_like_chat(head)

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        origin = path.name
        source = _Source(path, ctx.warn)
        scan = _Scan()
        for line in source.lines(_SCAN_KEEP):
            m = _header(line.text)
            if m:
                scan.add(m)
        if not scan.headers:
            raise ImportRefused("not a WhatsApp chat export: no line starts with a date", "line 1")
        if source.dropped:
            ctx.warn(
                f"{origin}: the file ends in the middle of a character; "
                f"its last {source.dropped} byte(s) were ignored"
            )
        order = scan.order(origin, ctx.warn)
        tz = ctx.tz
        if tz is None:
            tz = UTC
            ctx.warn(
                f"{origin}: WhatsApp exports carry no time zone; times were read as UTC "
                "(pass --tz with the zone of the phone that exported the chat)"
            )
        else:
            ctx.note(
                f"{origin}: WhatsApp exports carry no time zone; times were read as {ctx.tz_name or tz}"
            )
        builder = _Builder(origin, source.channel(), ctx, tz, order)
        entry: _Entry | None = None
        for line in source.lines(_MAX_LINE):
            m = _header(line.text)
            if m is not None:
                if entry is not None:
                    yield from builder.records(entry)
                entry = _Entry(line.number, m, [])
            elif entry is None:
                if not line.text.strip(_MARKS + " \t"):
                    continue
                entry = _Entry(line.number, None, [])
            entry.append(line)
        if entry is not None:
            yield from builder.records(entry)


def _sniff_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            member = _pick_member(zf)
            with zf.open(member) as fh:
                return _looks_like_chat(fh.read(_CHUNK))
    except (ImportRefused, zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError):
        return False  # NotImplementedError (unknown compression) is a RuntimeError
