"""`cockpit import`: detect each file's format, stream it into the store, report per file.

Records are committed in batches, each with the file's import cursor (how many records are
stored), so a crash mid-file resumes where it stopped. A file found truncated or corrupt
is refused as a whole: what it had already added is taken back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import itertools
import multiprocessing
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import tzinfo
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError, ImportRefused
from cockpit.model import Record
from cockpit.plugin_api import ImportContext, Importer
from cockpit.registry import Registry, registry
from cockpit.store.base import Store, StoreFull, WriteResult

BATCH = 10000
CHILD_MIN_BYTES = 16 * 1024 * 1024  # smaller files parse in-process: a child costs ~0.3 s to start
_CHUNK = 1024 * 1024


# Hostile-file limits, checked here before any plugin sniffs or reads the file.
MAX_DEPTH = 128  # JSON nesting; exports nest under 10 deep, a parser's memory grows with depth²
MAX_STRING = 1024 * 1024  # one JSON string (a message is at most tens of kB on any platform)
ZIP_MAX_RATIO = 100  # expanded / compressed, per member over 1 MB (chat text deflates ~5-10x)
ZIP_MAX_EXPANDED = 16 * 1024**3  # the whole archive, expanded
ZIP_MAX_MEMBERS = 200_000
_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
_SCAN_CHUNK = 4 * 1024 * 1024
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[{]}')


def guard(path: Path) -> None:
    """Refuse a hostile file quickly, with a line saying why, before any parser sees it.

    JSON (and JSON lines) is scanned once, streaming, for nesting depth and string length;
    a zip's directory is checked for expanded size and compression ratio.
    """
    if not path.is_file():
        return
    with path.open("rb") as fh:
        head = fh.read(64)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        _guard_zip(path)
        return
    first = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")[:1]
    # an iOS WhatsApp chat starts with "[" too: JSON is a .json name or a leading "{"
    if first == b"{" or (first == b"[" and path.suffix.lower() in _JSON_SUFFIXES):
        with path.open("rb") as fh:
            json_limits(fh.read, str(path))


def json_limits(read: Callable[[int], bytes], what: str) -> None:
    """Stream JSON text through `read` and refuse nesting past MAX_DEPTH or a string
    longer than about MAX_STRING. Brackets inside strings do not count.

    All in bytes operations at C speed: escaped backslashes and quotes are dropped, so
    quotes strictly alternate and splitting on them separates strings (odd pieces) from
    structure (even pieces), carried across chunks. A string longer than MAX_STRING holds
    a whole aligned block of MAX_STRING / 2 bytes without a quote, which is cheap to find.
    """
    in_string = False
    depth = 0
    offset = 0
    carry = b""  # an odd trailing backslash: it escapes the next chunk's first byte
    block = MAX_STRING // 2
    while chunk := read(_SCAN_CHUNK):
        buf = carry + chunk
        trailing = len(buf) - len(buf.rstrip(b"\\"))
        carry, buf = (b"\\", buf[:-1]) if trailing % 2 else (b"", buf)
        plain = buf.replace(b"\\\\", b"").replace(b'\\"', b"")
        for i in range(0, len(plain) - block + 1, block):
            if plain.find(b'"', i, i + block) < 0:
                raise ImportRefused(
                    f"{what}: a string longer than about {MAX_STRING // 1024} kB "
                    "(no chat message is that long): not an export cockpit reads",
                    f"about byte {offset + i}",
                )
        pieces = plain.translate(None, _NOT_STRUCTURE).split(b'"')
        outside = pieces[1::2] if in_string else pieces[0::2]
        in_string = in_string != bool((len(pieces) - 1) % 2)
        brackets = b"".join(outside).translate(_BRACKETS)
        if brackets:
            deepest = max(itertools.accumulate(memoryview(brackets).cast("b"), initial=depth))
            if deepest > MAX_DEPTH:
                raise ImportRefused(
                    f"{what}: JSON nested more than {MAX_DEPTH} levels deep "
                    "(exports nest a few levels): not an export cockpit reads",
                    f"bytes {offset}-{offset + len(buf)}",
                )
            depth += brackets.count(1) - brackets.count(255)
        offset += len(buf)


def _guard_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportRefused(f"{path}: not a readable zip ({exc})") from None
    if len(members) > ZIP_MAX_MEMBERS:
        raise ImportRefused(f"{path}: {len(members)} files in the zip (at most {ZIP_MAX_MEMBERS})")
    total = sum(m.file_size for m in members)
    if total > ZIP_MAX_EXPANDED:
        raise ImportRefused(
            f"{path}: the zip expands to {total / 1e9:.1f} GB "
            f"(at most {ZIP_MAX_EXPANDED / 1e9:.0f} GB)"
        )
    for m in members:
        if m.file_size > 1024 * 1024 and m.file_size > ZIP_MAX_RATIO * max(1, m.compress_size):
            raise ImportRefused(
                f"{path}: {m.filename!r} expands {m.file_size // max(1, m.compress_size)}x "
                f"({m.compress_size} bytes to {m.file_size / 1e6:.0f} MB; at most "
                f"{ZIP_MAX_RATIO}x): a zip bomb, not an export"
            )


@dataclass(frozen=True)
class FileReport:
    path: Path
    format: str
    status: str  # imported | resumed | already imported | refused
    counts: WriteResult
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "refused"


def _export_files(folder: Path) -> list[Path]:
    """The regular files of a folder export, in name order; symlinks are not followed (an
    importer never reads through one, so neither does the export's identity)."""
    return sorted(p for p in folder.rglob("*") if not p.is_symlink() and p.is_file())


def fingerprint(path: Path) -> str:
    """An export's identity: SHA-256 over every byte (of every file, by name, for a folder).

    Streamed in 1 MiB reads, so it costs a fraction of the parse (about 1 GB/s here);
    sampling only the edges missed a file changed in its middle.
    """
    h = hashlib.sha256()
    files = _export_files(path) if path.is_dir() else [path]
    for f in files:
        size = f.stat().st_size
        h.update(f"{f.relative_to(path) if path.is_dir() else ''}\0{size}\0".encode())
        with f.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    return h.hexdigest()


def _batches(records: Iterator[Record], skip: int) -> Iterator[tuple[list[Record], int]]:
    """Batches of records with the count read so far; the first `skip` are already stored."""
    batch: list[Record] = []
    count = 0
    for rec in records:
        count += 1
        if count <= skip:
            continue
        batch.append(rec)
        if len(batch) >= BATCH:
            yield batch, count
            batch = []
    if batch or count <= skip:
        yield batch, count


async def import_file(
    store: Store,
    importer: Importer,
    path: Path,
    ctx: ImportContext,
    progress: Callable[[int], None] | None = None,
) -> FileReport:
    """Import one file; `progress` hears the count of records read after each batch."""
    rec = await store.begin_import(
        await asyncio.to_thread(fingerprint, path), str(path), importer.name
    )
    if rec.state == "done":
        c = rec.counts
        seen = WriteResult(duplicate=c.new + c.duplicate + c.updated, quarantined=c.quarantined)
        return FileReport(path, importer.name, "already imported", seen, "nothing new")
    resumed = rec.position > 0
    totals = rec.counts
    pending: asyncio.Task[WriteResult] | None = None
    try:
        # the next batch is parsed while the store writes the previous one
        async for prepared, position in _prepared_batches(store, importer, path, ctx, rec.position):
            if pending is not None:
                totals = totals + await pending
            pending = asyncio.create_task(
                store.write_prepared(prepared, import_id=rec.id, import_position=position)
            )
            await asyncio.sleep(0)  # let the write reach the writer thread
            if progress is not None:
                progress(position)
        if pending is not None:
            totals = totals + await pending
            pending = None
    except ImportRefused as exc:
        return await _refuse(store, rec.id, path, importer, pending, exc.reason, exc.position)
    except StoreFull as exc:
        return await _refuse(store, rec.id, path, importer, pending, _full(exc, path), None)
    except Exception as exc:
        # an importer or the disk failed in a way it should have named; refuse, never crash
        reason = f"{type(exc).__name__}: {exc}"
        return await _refuse(store, rec.id, path, importer, pending, reason, None)
    await store.finish_import(rec.id, totals)
    return FileReport(path, importer.name, "resumed" if resumed else "imported", totals)


async def _prepared_batches(
    store: Store, importer: Importer, path: Path, ctx: ImportContext, skip: int
) -> AsyncIterator[tuple[Any, int]]:
    """Prepared batches with the count of records read so far.

    A big file is parsed in a child process: parsing and the writer's inserts both need
    Python's GIL, so only two processes really run them side by side.
    """
    size = path.stat().st_size if path.is_file() else 0
    if size >= CHILD_MIN_BYTES and _loadable(importer):
        async for item in _from_child(store, importer, path, ctx, skip):
            yield item
        return
    for batch, position in _batches(importer.read(path, ctx), skip):
        yield store.prepare(batch), position


def _loadable(importer: Importer) -> bool:
    """Whether a child process can find this importer by its name."""
    try:
        return registry().importer_named(importer.name) is importer
    except CockpitError:
        return False


async def _from_child(
    store: Store, importer: Importer, path: Path, ctx: ImportContext, skip: int
) -> AsyncIterator[tuple[Any, int]]:
    mp = multiprocessing.get_context("spawn")  # never fork a process that runs threads
    receive, send = mp.Pipe(duplex=False)
    child = mp.Process(
        target=_child_main,
        args=(
            send,
            importer.name,
            str(path),
            ctx.community,
            ctx.tz,
            ctx.tz_name,
            ctx.platform,
            skip,
            type(store).prepare,
        ),
        name=f"cockpit-import-{path.name}",
        daemon=True,
    )
    child.start()
    send.close()
    try:
        while True:
            message = await asyncio.to_thread(_receive, receive)
            kind = message[0]
            if kind == "batch":
                yield message[1], message[2]
            elif kind == "warn":
                ctx.warn(message[1])
            elif kind == "note":
                ctx.note(message[1])
            elif kind == "refused":
                raise ImportRefused(message[1], message[2])
            elif kind == "error":
                raise RuntimeError(message[1])
            elif kind == "done":
                return
            else:  # EOF without "done"
                raise RuntimeError(
                    f"the parser process stopped unexpectedly (exit code {child.exitcode})"
                )
    finally:
        receive.close()
        await asyncio.to_thread(child.join, 5)
        if child.is_alive():
            child.terminate()


def _receive(conn: Connection) -> tuple[Any, ...]:
    try:
        message: tuple[Any, ...] = conn.recv()
    except (EOFError, OSError):
        return ("eof",)
    return message


def _child_main(
    conn: Connection,
    importer_name: str,
    path: str,
    community: str,
    tz: tzinfo | None,
    tz_name: str | None,
    platform: str | None,
    skip: int,
    prepare: Callable[[list[Record]], Any],
) -> None:
    """The parser process: read the file, prepare batches, hand them to the parent."""
    try:
        importer = registry().importer_named(importer_name)
        ctx = ImportContext(
            community=community,
            tz=tz,
            tz_name=tz_name,
            platform=platform,
            warn=lambda message: conn.send(("warn", message)),
            note=lambda message: conn.send(("note", message)),
        )
        for batch, position in _batches(importer.read(Path(path), ctx), skip):
            conn.send(("batch", prepare(batch), position))
        conn.send(("done",))
    except (BrokenPipeError, EOFError):
        pass  # the parent is gone; nothing to report to
    except ImportRefused as exc:
        with contextlib.suppress(OSError):
            conn.send(("refused", exc.reason, exc.position))
    except Exception as exc:
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


# what the store takes per byte of export, roughly (rows, indexes, full-text, WAL)
STORE_GROWTH = 1.5


def _full(exc: StoreFull, path: Path) -> str:
    """The disk-full refusal: where, what is free, and roughly what this file needs."""
    size = _size(path)
    free = "" if exc.free is None else f", {_mb(exc.free)} free"
    return (
        f"{exc}{free}; this file needs roughly {_mb(int(size * STORE_GROWTH))} "
        f"free beside the store"
    )


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in _export_files(path))
    return path.stat().st_size


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


async def _refuse(
    store: Store,
    import_id: int,
    path: Path,
    importer: Importer,
    pending: asyncio.Task[WriteResult] | None,
    reason: str,
    position: str | None,
) -> FileReport:
    if pending is not None:
        with contextlib.suppress(Exception):  # the refusal below takes back whatever it did
            await pending
    where = f" at {position}" if position else ""
    try:
        await store.refuse_import(import_id, reason)
    except Exception as exc:
        # even the take-back failed (the disk is still full): the import stays "running",
        # so importing the file again once there is room resumes and completes it
        message = (
            f"{path}: refused ({importer.description}): {reason}{where}; what it stored could "
            f"not be taken back ({type(exc).__name__}: {exc}): import it again once there is room"
        )
        return FileReport(path, importer.name, "refused", WriteResult(), message)
    message = (
        f"{path}: refused ({importer.description}): {reason}{where}; nothing from it was stored"
    )
    return FileReport(path, importer.name, "refused", WriteResult(), message)


async def import_paths(
    store: Store,
    registry: Registry,
    paths: list[Path],
    *,
    community: str,
    tz: tzinfo | None,
    tz_name: str | None,
    platform: str | None,
    warn: Callable[[str], None],
    note: Callable[[str], None] | None = None,
    on_report: Callable[[FileReport], None] | None = None,
    progress: Callable[[Path, int], None] | None = None,
) -> list[FileReport]:
    reports: list[FileReport] = []
    for path in paths:
        try:
            await asyncio.to_thread(guard, path)  # before any plugin sniffs or reads it
            importer = registry.importer_named(platform) if platform else registry.detect(path)
        except CockpitError as exc:
            report = FileReport(path, "?", "refused", WriteResult(), str(exc))
        else:

            def file_warn(message: str, _path: Path = path) -> None:
                named = message.startswith((str(_path), _path.name))
                warn(message if named else f"{_path}: {message}")

            def file_note(message: str, _path: Path = path) -> None:
                if note is not None:
                    named = message.startswith((str(_path), _path.name))
                    note(message if named else f"{_path}: {message}")

            ctx = ImportContext(
                community=community,
                tz=tz,
                tz_name=tz_name,
                platform=platform,
                warn=file_warn,
                note=file_note,
            )
            hear = None if progress is None else functools.partial(progress, path)
            report = await import_file(store, importer, path, ctx, hear)
        reports.append(report)
        if on_report:
            on_report(report)
    return reports
