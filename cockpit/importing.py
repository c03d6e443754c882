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
import multiprocessing
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
from cockpit.store.base import Store, WriteResult

BATCH = 10000
CHILD_MIN_BYTES = 16 * 1024 * 1024  # smaller files parse in-process: a child costs ~0.3 s to start
_EDGE = 1024 * 1024


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


def fingerprint(path: Path) -> str:
    """A cheap identity for an export: size and hashes of its edges (every file, for a folder)."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        size = f.stat().st_size
        h.update(f"{f.relative_to(path) if path.is_dir() else ''}\0{size}\0".encode())
        with f.open("rb") as fh:
            h.update(fh.read(_EDGE))
            if size > 2 * _EDGE:
                fh.seek(size - _EDGE)
                h.update(fh.read(_EDGE))
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
    await store.refuse_import(import_id, reason)
    where = f" at {position}" if position else ""
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
