"""Bounded work on hostile files (issue 18): the core's guard runs before any plugin sniffs
or reads a file, and refuses deep nesting, giant strings and zip bombs with one line."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from test_importing import run_import

from cockpit.importing import MAX_DEPTH, MAX_STRING, guard, json_limits
from cockpit.plugin_api import ImportContext, Plugin
from cockpit.registry import Registry
from cockpit.store.sqlite import SQLiteStore

FIXTURES = Path(__file__).parent / "fixtures"


class _Spy:
    """An importer that records every file a sniff was asked about."""

    name = "spy"
    platform = "test"
    description = "spy format"

    def __init__(self) -> None:
        self.sniffed: list[Path] = []

    def sniff(self, path: Path, head: bytes) -> bool:
        self.sniffed.append(path)
        return False

    def read(self, path: Path, ctx: ImportContext):  # type: ignore[no-untyped-def]
        raise AssertionError("never read")


def _dce(text: str, extra: str = "") -> bytes:
    message = {"id": "1", "type": "Default", "timestamp": "2024-05-01T12:00:00+00:00"}
    body = json.dumps({**message, "content": text})
    return (
        '{"guild": {"id": "1", "name": "g"}, "channel": {"id": "2", "name": "c"}, '
        f'"messages": [{body}{extra}]}}'
    ).encode()


async def test_deep_nesting_is_refused_before_any_sniff(store: SQLiteStore, tmp_path: Path) -> None:
    spy = _Spy()
    reg = Registry(plugins={"s": Plugin(name="s", description="s", importers=[spy])})
    nested = tmp_path / "nested.json"
    nested.write_bytes(b"[" * 10_000 + b"]" * 10_000)  # 20 KB: 0.3 GB in the old sniff
    [r] = await run_import(store, nested, reg=reg)
    assert r.status == "refused" and f"nested more than {MAX_DEPTH} levels" in r.message
    assert str(nested) in r.message and spy.sniffed == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_dce("hi", ", " + "[" * 100_000 + "]" * 100_000), "nested more than"),
        (_dce("x" * (MAX_STRING + 100)), "a string longer than"),
        (_dce("y" * (3 * MAX_STRING)), "a string longer than"),
    ],
    ids=["100k-deep array in a message", "a 1 MB message", "a 3 MB message"],
)
def test_hostile_json_is_refused_with_a_line(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(data)
    with pytest.raises(Exception, match=message) as info:
        guard(path)
    assert type(info.value).__name__ == "ImportRefused" and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "data",
    [
        _dce("[[[[ {{{{ " * 2000),  # brackets inside strings do not nest
        _dce('quoted \\" ]]]] \\\\' * 2000),  # nor do escaped quotes end strings
        _dce("é" * 20_000),
        (FIXTURES / "discord" / "guild_channel.json").read_bytes(),
    ],
    ids=["brackets in text", "escapes", "long honest text", "fixture"],
)
def test_honest_json_passes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(data)
    guard(path)


def test_the_scan_is_the_same_whatever_the_chunking() -> None:
    """Strings, escapes and brackets split across reads are followed correctly."""
    data = _dce('a \\\\" b [ \\" ] ' * 5000, ", " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))

    def chunked(size: int):  # type: ignore[no-untyped-def]
        stream = io.BytesIO(data)
        return lambda _n: stream.read(size)

    for size in (1, 2, 3, 7, 64, 4096):
        with pytest.raises(Exception, match="nested more than"):
            json_limits(chunked(size), "x")


def test_an_ios_whatsapp_chat_starting_with_a_bracket_is_not_taken_for_json(
    tmp_path: Path,
) -> None:
    chat = tmp_path / "chat.txt"
    lines = (FIXTURES / "whatsapp" / "ios_chat.txt").read_text(encoding="utf-8")
    chat.write_text(lines + '[31/03/2024, 10:00:00] Jo: an open " quote\n' * 3, encoding="utf-8")
    guard(chat)


@pytest.mark.timeout(60)
async def test_a_zip_bomb_is_refused_fast(store: SQLiteStore, tmp_path: Path) -> None:
    bomb = tmp_path / "WhatsApp Chat with Bomb.zip"
    line = "[31/03/2024, 09:15:00] Maria: the same line again and again\n"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("_chat.txt", line * (64 * 1024 * 1024 // len(line)))  # 64 MB in ~100 kB
    assert bomb.stat().st_size < 1_000_000
    [r] = await run_import(store, bomb)
    assert r.status == "refused" and "zip bomb" in r.message and "_chat.txt" in r.message
    assert (await store.stats()).activities == 0


async def test_an_honest_zip_still_imports(store: SQLiteStore, tmp_path: Path) -> None:
    honest = tmp_path / "WhatsApp Chat with Family.zip"
    with zipfile.ZipFile(honest, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(FIXTURES / "whatsapp" / "WhatsApp Chat with Family.txt", "_chat.txt")
    [r] = await run_import(store, honest)
    assert r.status == "imported" and r.counts.new > 0
