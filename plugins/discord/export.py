"""Discord: imports DiscordChatExporter (DCE) JSON exports.

An export is one JSON object: a small head (`guild`, `channel`, ...), one `messages` array
that may hold millions of messages, then `messageCount`. DCE pretty-prints it, so every
message ends with a `}` on its own line at the array's item indentation. The fast path cuts
the array there and parses each cut with orjson: about 1.4x the speed of ijson, with exact
byte offsets for quarantined messages. Whatever it does not recognise (a minified file, an
odd layout, a syntax error) hands the rest of the array to ijson, whose verdict is final.
Memory stays bounded by the largest single message on either path.

Each message becomes activities in plugins/discord/model.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ijson
import orjson

from cockpit.model import Quarantined, Record
from cockpit.plugin_api import ImportContext
from cockpit.plugin_kit import RAW_LIMIT, ImportRefused, Malformed

from .model import PLATFORM, SHAPE_ERRORS, ChannelInfo, channel_info, normalize_message

_CHUNK = 1 << 20
_HEAD_MAX = 4 << 20  # the head is a few KB; give up looking for `messages` after this
_MESSAGE_MAX = 64 << 20  # a longer "message" means the layout is not what we think
_TAIL_MAX = 1 << 20
_WS = b" \t\r\n"
_SNIFF_KEYS = (
    re.compile(rb'"guild"\s*:\s*\{'),
    re.compile(rb'"channel"\s*:\s*\{'),
    re.compile(rb'"messages"\s*:\s*\['),
)
_MESSAGES_KEY = re.compile(rb'"messages"\s*:\s*\[')
_COUNT_KEY = re.compile(rb'"messageCount"\s*:\s*(\d+)')


def _where(k: int, byte: int) -> str:
    return f"byte {byte}, after message #{k}" if k else f"byte {byte}, before the first message"


def _raw(data: object) -> str:
    """A quarantined message's raw text: the bytes cut from the file (fast path) or the value
    ijson parsed; unlike the kit's `raw_json`, lone surrogates from broken escapes are replaced
    so the text can be stored."""
    if isinstance(data, bytes | bytearray | memoryview):
        text = bytes(data[: RAW_LIMIT * 4]).decode("utf-8", "replace").strip()
    else:
        text = json.dumps(data, ensure_ascii=False, default=str)
    return text[:RAW_LIMIT].encode("utf-8", "replace").decode("utf-8")


class _Resumed:
    """A file read from `offset` on, behind a synthetic `{"messages": [` so ijson can pick up
    mid-array; `position` is the file offset the parser has read up to."""

    _PREFIX = b'{"messages": ['

    def __init__(self, fh: BinaryIO, offset: int) -> None:
        self._fh = fh
        self._pending = self._PREFIX
        fh.seek(offset)
        self.position = offset

    def read(self, size: int = -1) -> bytes:
        if self._pending and size != 0:  # ijson probes with read(0)
            cut = len(self._pending) if size < 0 else size
            data, self._pending = self._pending[:cut], self._pending[cut:]
            return data
        data = self._fh.read(size)
        self.position += len(data)
        return data


@dataclass(slots=True)
class _Head:
    top: dict[str, Any]
    start: int  # file offset just after the `[` of the messages array
    unit: bytes  # indentation unit of the pretty-printed layout; empty when there is none


class DiscordChatExporterImporter:
    """Reads the JSON that DiscordChatExporter writes for one channel, thread or DM."""

    name = "discord-chat-exporter"
    platform = PLATFORM
    description = "DiscordChatExporter JSON"

    def sniff(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() != ".json":
            return False
        if not head.lstrip(b"\xef\xbb\xbf" + _WS).startswith(b"{"):
            return False
        return all(key.search(head) for key in _SNIFF_KEYS)

    def read(self, path: Path, ctx: ImportContext) -> Iterator[Record]:
        with path.open("rb") as fh:
            head = _read_head(fh)
            try:
                chan = channel_info(head.top, ctx.community, ctx.tz)
            except ValueError as exc:
                raise ImportRefused(str(exc), _where(0, head.start)) from None
            reader = _Reader(fh, path.name, chan)
            if head.unit:
                yield from reader.fast(head.start, b"\n" + head.unit * 2 + b"}")
            else:
                yield from reader.slow(head.start)
            declared = reader.declared
            if declared is None and reader.tail_unknown:
                declared = _count_from_tail(fh)
        if declared is not None and declared != reader.count:
            # the caller prefixes the file name
            ctx.warn(f"messageCount says {declared} but the file holds {reader.count} messages")


def _read_head(fh: BinaryIO) -> _Head:
    """Find the top-level `messages` array and parse everything before it.

    The prefix up to the key, closed with an empty array, must parse as an object: that
    proves the key is the top-level one and not text inside a string.
    """
    buf = b""
    searched = 0
    bad = ""  # why the last candidate key was not the top-level one
    while True:
        chunk = fh.read(64 * 1024)
        buf += chunk
        body = 3 if buf.startswith(b"\xef\xbb\xbf") else 0
        for match in _MESSAGES_KEY.finditer(buf, max(body, searched - 64)):
            try:
                top = orjson.loads(buf[body : match.start()] + b'"messages": []}')
            except orjson.JSONDecodeError as exc:
                bad = str(exc)
                continue
            if not isinstance(top, dict):
                continue
            line = buf.rfind(b"\n", 0, match.start()) + 1
            unit = buf[line : match.start()]
            if not unit or unit.strip(unit[:1]) or unit[:1] not in (b" ", b"\t"):
                unit = b""
            return _Head(top, match.end(), unit)
        searched = len(buf)
        if chunk and len(buf) <= _HEAD_MAX:
            continue
        if bad:
            reason = f"corrupt JSON before the messages array: {bad}"
        elif not chunk:
            reason = "file ends before its messages array (truncated, or not a DCE export)"
        else:
            reason = "no messages array in the first 4 MB (not a DiscordChatExporter export)"
        raise ImportRefused(reason, _where(0, len(buf)))


def _count_from_tail(fh: BinaryIO) -> int | None:
    """`messageCount` from the file's end; only used after ijson has validated the whole file."""
    end = fh.seek(0, 2)
    fh.seek(max(0, end - 64 * 1024))
    tail = fh.read()
    matches = list(_COUNT_KEY.finditer(tail))
    return int(matches[-1].group(1)) if matches else None


class _Reader:
    """Reads the messages array of one open export, counting messages as it goes."""

    def __init__(self, fh: BinaryIO, origin: str, chan: ChannelInfo) -> None:
        self.fh = fh
        self.origin = origin
        self.chan = chan
        self.count = 0
        self.declared: int | None = None
        self.tail_unknown = False

    def _quarantine(self, why: Exception | str, byte: int, raw: object) -> Quarantined:
        if isinstance(why, Malformed):
            reason = str(why)
        elif isinstance(why, Exception):
            reason = f"malformed message: {type(why).__name__}: {why}"
        else:
            reason = why
        position = f"message #{self.count} (byte {byte})"
        return Quarantined(PLATFORM, self.origin, position, reason[:300], _raw(raw))

    def fast(self, start: int, close: bytes) -> Iterator[Record]:
        """Cut the array at `close` (newline, item indentation, `}`) and parse each cut."""
        fh, chan, normalize = self.fh, self.chan, normalize_message
        fh.seek(start)
        buf = b""
        base = start  # file offset of buf[0]
        i = 0  # where the next item (or separator) starts in buf
        eof = False
        first = True  # right after `[`
        width = len(close)
        while True:
            k, n = i, len(buf)
            while k < n and buf[k] in _WS:
                k += 1
            if k == n:  # need more bytes to see what comes next
                if eof:
                    break
                chunk = fh.read(_CHUNK)
                eof = not chunk
                buf, base, i = buf[i:] + chunk, base + i, 0
                continue
            c = buf[k]
            if c == 0x5D:  # `]`
                if not first:
                    raise ImportRefused(
                        "corrupt JSON: a comma before the end of the messages array",
                        _where(self.count, base + k),
                    )
                self._tail(buf[k + 1 :], base + k + 1)
                return
            if c == 0x7B:  # `{`: a message runs to the next `close`
                j = buf.find(close, k)
                while j < 0 and not eof and len(buf) - k <= _MESSAGE_MAX:
                    searched = len(buf) - k - width
                    chunk = fh.read(_CHUNK)
                    eof = not chunk
                    buf, base, i, k = buf[k:] + chunk, base + k, 0, 0
                    j = buf.find(close, max(0, searched))
                if j < 0:
                    break
                end = j + width
            else:  # not an object: fine if it is one value on its own line
                j = buf.find(b"\n", k)
                if j < 0:
                    break
                end = k + len(buf[k:j].rstrip(b" \t\r,"))
            try:
                msg = orjson.loads(buf[k:end])
            except orjson.JSONDecodeError:
                break  # ijson will tell a layout surprise from a corrupt file
            self.count += 1
            if type(msg) is not dict:
                why = f"message is {type(msg).__name__}, not an object"
                yield self._quarantine(why, base + k, buf[k:end])
            else:
                try:
                    activities = normalize(msg, chan)
                except SHAPE_ERRORS as exc:
                    yield self._quarantine(exc, base + k, buf[k:end])
                else:
                    yield from activities
            i = end
            # after an item: whitespace, then `,` or `]`
            while True:
                k, n = i, len(buf)
                while k < n and buf[k] in _WS:
                    k += 1
                if k < n:
                    break
                chunk = fh.read(_CHUNK)
                if not chunk:
                    raise ImportRefused(
                        "file is truncated inside the messages array", _where(self.count, base + n)
                    )
                buf, base, i = buf[i:] + chunk, base + i, 0
            c = buf[k]
            if c == 0x2C:  # `,`
                i, first = k + 1, False
            elif c == 0x5D:
                self._tail(buf[k + 1 :], base + k + 1)
                return
            else:
                raise ImportRefused(
                    f"corrupt JSON: unexpected {bytes([c])!r} after a message",
                    _where(self.count, base + k),
                )
        yield from self.slow(base + i)  # ijson knows what went wrong, or reads on

    def _tail(self, rest: bytes, offset: int) -> None:
        """Check what follows the array (`, "messageCount": N }`) and note the count."""
        rest += self.fh.read(_TAIL_MAX)
        if self.fh.read(1):
            raise ImportRefused(
                "unexpected data after the messages array", _where(self.count, offset)
            )
        body = rest.strip(_WS)
        if body == b"}":
            return
        where = _where(self.count, offset)
        if not body:
            raise ImportRefused("file is truncated after the messages array", where)
        if body[:1] != b",":
            raise ImportRefused("file is corrupt after the messages array", where)
        try:
            tail = orjson.loads(b"{" + body[1:])
        except orjson.JSONDecodeError as exc:
            why = "corrupt" if body.endswith(b"}") else "truncated"
            raise ImportRefused(f"file is {why} after the messages array: {exc}", where) from None
        if not isinstance(tail, dict):  # pragma: no cover - `{...}` always loads as a dict
            raise ImportRefused("file is corrupt after the messages array", where)
        declared = tail.get("messageCount")
        self.declared = declared if type(declared) is int else None

    def slow(self, offset: int) -> Iterator[Record]:
        """ijson from `offset` (the start of an item, or just after `[`) to the end of the file."""
        reader = _Resumed(self.fh, offset)
        items = ijson.items(reader, "messages.item", use_float=True, buf_size=16 * 1024)
        while True:
            try:
                msg = next(items)
            except StopIteration:
                break
            except Exception as exc:  # the parser is a black box: any failure refuses the file
                raise ImportRefused(
                    _parse_error(exc), _where(self.count, reader.position)
                ) from None
            self.count += 1
            if not isinstance(msg, dict):
                why = f"message is {type(msg).__name__}, not an object"
                yield self._quarantine(why, reader.position, msg)
                continue
            try:
                activities = normalize_message(msg, self.chan)
            except SHAPE_ERRORS as exc:
                yield self._quarantine(exc, reader.position, msg)
            else:
                yield from activities
        self.tail_unknown = True


def _parse_error(exc: Exception) -> str:
    """One line from ijson's verdict (yajl's message carries a multi-line excerpt)."""
    if isinstance(exc, UnicodeDecodeError):
        return f"corrupt JSON: text that is not valid UTF-8 ({exc.reason})"
    detail = exc.args[0] if exc.args else ""
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    lines = str(detail).strip().splitlines()
    first = lines[0].strip() if lines else type(exc).__name__
    if "premature EOF" in first:
        return "file is truncated (the JSON ends early)"
    return f"corrupt JSON: {first[:200]}"
