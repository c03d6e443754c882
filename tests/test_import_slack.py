"""Slack workspace export importer: folder and zip, mapping, refusals, quarantine, fuzz."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.errors import ImportRefused
from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_api import ImportContext
from cockpit.plugin_kit import RAW_LIMIT
from cockpit.plugins.slack import SlackExportImporter, plugin
from cockpit.plugins.slack import export as slack
from cockpit.store.sqlite import SQLiteStore

FIXTURE = Path(__file__).parent / "fixtures" / "slack" / "workspace"
IMPORTER = SlackExportImporter()


def ctx(warnings: list[str] | None = None) -> ImportContext:
    sink = warnings if warnings is not None else []
    return ImportContext(community="acme", warn=sink.append)


def read_all(path: Path, warnings: list[str] | None = None) -> list[Record]:
    return list(IMPORTER.read(path, ctx(warnings)))


def by_id(records: list[Record]) -> dict[str, Activity]:
    return {r.source_id: r for r in records if isinstance(r, Activity)}


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, prefix + file.relative_to(folder).as_posix())
    return target


def copy_workspace(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "export"))


# --- plugin and sniffing -------------------------------------------------------------------


def test_plugin_registration() -> None:
    assert plugin.name == "slack"
    assert plugin.platform == "slack"
    (importer,) = plugin.importers
    assert importer.name == "slack-export"
    assert importer.platform == "slack"
    assert importer.description == "Slack workspace export (folder or .zip)"


def test_sniff_folder_and_zips(tmp_path: Path) -> None:
    assert IMPORTER.sniff(FIXTURE, b"")
    flat = zip_folder(FIXTURE, tmp_path / "flat.zip")
    nested = zip_folder(FIXTURE, tmp_path / "nested.zip", "Acme Slack export Mar 1 2024/")
    assert IMPORTER.sniff(flat, flat.read_bytes()[:64])
    assert IMPORTER.sniff(nested, nested.read_bytes()[:64])


def test_sniff_folder_nested_one_level(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "outer" / "Acme Slack export")
    assert IMPORTER.sniff(tmp_path / "outer", b"")
    assert len(by_id(read_all(tmp_path / "outer"))) == 20


def test_sniff_rejects_what_is_not_an_export(tmp_path: Path) -> None:
    no_users = copy_workspace(tmp_path)
    (no_users / "users.json").unlink()
    assert not IMPORTER.sniff(no_users, b"")
    no_channels_zip = tmp_path / "no_channels.zip"
    with zipfile.ZipFile(no_channels_zip, "w") as archive:
        archive.writestr("users.json", "[]")
        archive.writestr("general/2024-03-01.json", "[]")
    assert not IMPORTER.sniff(no_channels_zip, no_channels_zip.read_bytes()[:64])
    too_deep = tmp_path / "deep.zip"
    with zipfile.ZipFile(too_deep, "w") as archive:
        archive.writestr("a/b/users.json", "[]")
        archive.writestr("a/b/channels.json", "[]")
    assert not IMPORTER.sniff(too_deep, too_deep.read_bytes()[:64])
    text = tmp_path / "chat.txt"
    text.write_text("12/03/2024, 10:00 - Alice: hi\n")
    assert not IMPORTER.sniff(text, text.read_bytes())
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(zip_folder(FIXTURE, tmp_path / "whole.zip").read_bytes()[:500])
    assert not IMPORTER.sniff(truncated, truncated.read_bytes()[:64])


# --- the fixture workspace, record by record -----------------------------------------------


def test_reads_whole_workspace_in_conversation_and_date_order() -> None:
    warnings: list[str] = []
    records = read_all(FIXTURE, warnings)
    assert warnings == []
    activities = [r for r in records if isinstance(r, Activity) and r.validate() is None]
    assert len(activities) == len(records)
    assert [r.source_id for r in activities] == [
        "C01GENERAL:1709283600.000100",
        "C01GENERAL:1709283900.000200",
        "C01GENERAL:1709283960.000300",
        "C01GENERAL:1709290000.001000",
        "C01GENERAL:1709300000.002000",
        "C01GENERAL:1709310000.003000",
        "C01GENERAL:1709337540.004000",
        "C01GENERAL:1709366400.000100",
        "C01GENERAL:1709366460.000200",
        "C01GENERAL:1709370000.000300",
        "C01GENERAL:1709370060.000400",
        "C01GENERAL:1709380800.000500",
        "C01GENERAL:1709380860.000600",
        "C01GENERAL:1709380920.000700",
        "C02RANDOM:1709283600.000001",
        "C02RANDOM:1709283700.000002",
        "G01MODS00:1709380800.000001",
        "G02MPIM00:1709460100.000001",
        "D01ALBOB0:1709460000.000001",
        "D01ALBOB0:1709460001.5",
    ]
    assert {r.community for r in activities} == {"acme"}


def test_thread_parent_with_mentions_and_reactions() -> None:
    parent = by_id(read_all(FIXTURE))["C01GENERAL:1709283900.000200"]
    assert parent == Activity(
        platform="slack",
        source_id="C01GENERAL:1709283900.000200",
        kind=Kind.MESSAGE,
        ts=datetime(2024, 3, 1, 9, 5, 0, 200, tzinfo=UTC),
        channel="general",
        author="Alice 🚀",
        author_id="U01ALICE0",
        text=(
            "Welcome <@U02BOB000> and <@W05ERIN00|erin>! Rules: "
            "<https://example.com/rules|here> — ping <@U02BOB000> again"
        ),
        community="acme",
        channel_id="C01GENERAL",
        author_handle="alice",
        reply_to=None,
        thread="1709283900.000200",
        mentions=("U02BOB000", "W05ERIN00"),
        attachments=0,
        reactions=3,
        edited_ts=None,
        is_bot=False,
        extras={"team": "T0COCKPIT", "reply_count": 2},
    )


def test_thread_reply_edited_and_markup_kept_verbatim() -> None:
    records = by_id(read_all(FIXTURE))
    reply = records["C01GENERAL:1709283960.000300"]
    assert reply.author == "Bob Ñúñez"  # no display_name: real_name
    assert reply.author_handle == "bob"
    assert reply.reply_to == "C01GENERAL:1709283900.000200"
    assert reply.thread == "1709283900.000200"
    assert reply.edited_ts == datetime(2024, 3, 1, 9, 7, tzinfo=UTC)
    assert reply.text == "Thanks! *bold* & <!channel> &lt;script&gt;"
    late = records["C01GENERAL:1709366400.000100"]  # a reply on the next day's file
    assert (late.author, late.author_id, late.text) == (
        "Erin 林",
        "W05ERIN00",
        "late to the party 林",
    )
    assert late.reply_to == "C01GENERAL:1709283900.000200"
    assert late.reactions == 1  # a reaction without "count" counts its users
    me = records["C01GENERAL:1709380860.000600"]
    assert me.text == "waves \x1b[31mred\x1b[0m"
    assert (me.kind, me.extras) == (Kind.MESSAGE, {"subtype": "me_message"})


def test_subtypes_map_to_kinds() -> None:
    records = by_id(read_all(FIXTURE))
    kinds = {sid.split(":")[1]: (r.kind, r.extras.get("subtype")) for sid, r in records.items()}
    assert kinds["1709283600.000100"] == (Kind.JOIN, "channel_join")
    assert kinds["1709380920.000700"] == (Kind.LEAVE, "channel_leave")
    assert kinds["1709290000.001000"] == (Kind.MESSAGE, "bot_message")
    assert kinds["1709370000.000300"] == (Kind.DELETE, "tombstone")
    assert kinds["1709380800.000500"] == (Kind.SYSTEM, "channel_topic")
    assert kinds["1709283700.000002"] == (Kind.SYSTEM, "pinned_item")
    assert kinds["1709300000.002000"] == (Kind.MESSAGE, "file_share")
    assert kinds["1709366460.000200"] == (Kind.MESSAGE, "thread_broadcast")
    join = records["C01GENERAL:1709283600.000100"]
    assert (join.author_id, join.mentions, join.reply_to) == ("U01ALICE0", ("U01ALICE0",), None)
    broadcast = records["C01GENERAL:1709366460.000200"]
    assert broadcast.reply_to == "C01GENERAL:1709283900.000200"


def test_tombstone_names_the_deleted_message() -> None:
    records = by_id(read_all(FIXTURE))
    tomb = records["C01GENERAL:1709370000.000300"]
    assert (tomb.kind, tomb.author, tomb.author_id, tomb.is_bot) == (
        Kind.DELETE,
        "Slackbot",
        "USLACKBOT",
        True,
    )
    orphan = records["C01GENERAL:1709370060.000400"]
    assert orphan.reply_to == "C01GENERAL:1709370000.000300"


def test_bots() -> None:
    records = by_id(read_all(FIXTURE))
    hook = records["C01GENERAL:1709290000.001000"]
    assert (hook.author, hook.author_id, hook.author_handle, hook.is_bot) == (
        "deploy-bot",
        "B09HOOK00",
        None,
        True,
    )
    assert hook.attachments == 0  # only "files" count; unfurls and legacy attachments do not
    app = records["C02RANDOM:1709283600.000001"]  # a bot user from users.json, no subtype
    assert (app.author, app.author_id, app.author_handle, app.is_bot) == (
        "Deploy Bot",
        "U04DEPLOY",
        "deploybot",
        True,
    )


def test_files_deleted_and_unknown_users() -> None:
    records = by_id(read_all(FIXTURE))
    share = records["C01GENERAL:1709300000.002000"]
    assert (share.author, share.author_id, share.attachments) == ("carol", "U03CAROL0", 2)
    assert share.text == "screenshots [red]not markup[/red]"
    guest = records["C01GENERAL:1709310000.003000"]
    assert (guest.author, guest.author_id, guest.author_handle) == (
        "Ghost Guest",
        "U09GHOST1",
        "ghost",
    )
    assert guest.extras == {"team": "T0OTHER00"}
    nobody = records["C01GENERAL:1709337540.004000"]
    assert (nobody.author, nobody.author_id, nobody.author_handle) == (
        "U08NOBODY",
        "U08NOBODY",
        None,
    )


def test_private_channel_mpim_and_dm() -> None:
    records = by_id(read_all(FIXTURE))
    mods = records["G01MODS00:1709380800.000001"]
    assert (mods.channel, mods.channel_id, mods.text) == (
        "mods",
        "G01MODS00",
        "ban the spammer? 🔨",
    )
    group = records["G02MPIM00:1709460100.000001"]
    assert (group.channel, group.text) == ("mpdm-alice--bob--carol-1", "group chat 👪🏽")
    assert group.edited_ts == datetime(2024, 3, 3, 10, 3, 20, 1, tzinfo=UTC)
    dm = records["D01ALBOB0:1709460000.000001"]
    assert (dm.channel, dm.channel_id, dm.mentions) == (
        "dm-alice--bob",
        "D01ALBOB0",
        ("U02BOB000",),
    )
    short = records["D01ALBOB0:1709460001.5"]
    assert short.ts == datetime(2024, 3, 3, 10, 0, 1, 500000, tzinfo=UTC)


@pytest.mark.parametrize("prefix", ["", "Acme Slack export Mar 1 2024 - Mar 3 2024/"])
def test_zip_reads_the_same_as_the_folder(tmp_path: Path, prefix: str) -> None:
    archive = zip_folder(FIXTURE, tmp_path / "acme.zip", prefix)
    assert read_all(archive) == read_all(FIXTURE)


def test_same_message_in_overlapping_exports_keeps_its_id(tmp_path: Path) -> None:
    later = copy_workspace(tmp_path)
    (later / "general" / "2024-03-01.json").unlink()
    first = by_id(read_all(FIXTURE))
    second = by_id(read_all(later))
    assert set(second) < set(first)
    for sid, record in second.items():
        assert record == first[sid]


def test_folder_not_in_metadata_is_imported_with_a_warning(tmp_path: Path) -> None:
    export = copy_workspace(tmp_path)
    (export / "orphan").mkdir()
    (export / "orphan" / "2024-03-05.json").write_text(
        '[{"type": "message", "user": "U01ALICE0", "text": "x", "ts": "1709600000.000001"}]'
    )
    warnings: list[str] = []
    records = by_id(read_all(export, warnings))
    assert warnings == ["folder 'orphan' is in no metadata file; its id is unknown"]
    assert records["orphan:1709600000.000001"].channel == "orphan"


def test_channel_folder_named_by_id(tmp_path: Path) -> None:
    export = copy_workspace(tmp_path)
    (export / "random").rename(export / "C02RANDOM")
    records = by_id(read_all(export))
    assert records["C02RANDOM:1709283600.000001"].channel == "random"


# --- refusals and quarantine ---------------------------------------------------------------


def write_day(export: Path, text: str | bytes, rel: str = "general/2024-03-01.json") -> Path:
    file = export / rel
    if isinstance(text, str):
        file.write_text(text, encoding="utf-8")
    else:
        file.write_bytes(text)
    return file


def test_truncated_day_file_is_refused_naming_file_and_byte(tmp_path: Path) -> None:
    export = copy_workspace(tmp_path)
    whole = (export / "general" / "2024-03-01.json").read_bytes()
    cut = whole[:1500]
    write_day(export, cut)
    with pytest.raises(ImportRefused) as info:
        read_all(export)
    assert info.value.position == f"general/2024-03-01.json byte {len(cut)}"
    assert info.value.reason == "file ends inside message #2 (truncated)"


def test_truncation_between_messages_is_refused(tmp_path: Path) -> None:
    export = copy_workspace(tmp_path)
    data = '[\n  {"type": "message", "user": "U01ALICE0", "ts": "1.000001", "text": "é"},\n  '
    write_day(export, data)
    with pytest.raises(ImportRefused) as info:
        read_all(export)
    assert info.value.position == f"general/2024-03-01.json byte {len(data.encode())}"
    assert info.value.reason == "file ends after message #1 (truncated)"


def test_corrupt_day_file_names_the_exact_byte(tmp_path: Path) -> None:
    export = copy_workspace(tmp_path)
    good = '[{"type": "message", "user": "U01ALICE0", "ts": "1.000001", "text": "naïve ☕"},\n'
    bad = '{"type": "message", "user": "U01ALICE0", "ts": "2.000001" "text": "x"}]'
    write_day(export, good + bad)
    with pytest.raises(ImportRefused) as info:
        read_all(export)
    expected = len((good + bad[: bad.index('"text"')]).encode())
    assert info.value.position == f"general/2024-03-01.json byte {expected}"
    assert "invalid JSON in message #2" in info.value.reason


@pytest.mark.parametrize(
    ("content", "position", "reason"),
    [
        (b"", "byte 0", "empty file"),
        (b"  \n", "byte 3", "empty file"),
        (b'{"messages": []}', "byte 0", "not a JSON array"),
        (b'[{"ts": "1.1"}] trailing', "byte 16", "unexpected data after"),
        (b'[{"ts": "1.1"} {"ts": "2.2"}]', "byte 15", "expected ',' or ']' after message #1"),
        (b'[{"ts": "1.1", "text": "caf\xe9"}]', "byte 27", "not valid UTF-8"),
        (b'[{"ts": "1.1"},', "byte 15", "file ends after message #1"),
    ],
)
def test_broken_day_files_are_refused(
    tmp_path: Path, content: bytes, position: str, reason: str
) -> None:
    export = copy_workspace(tmp_path)
    write_day(export, content)
    with pytest.raises(ImportRefused) as info:
        read_all(export)
    assert info.value.position == f"general/2024-03-01.json {position}"
    assert reason in info.value.reason


def test_bom_and_empty_day_file_are_fine(tmp_path: Path) -> None:
    export = copy_workspace(tmp_path)
    write_day(export, b'\xef\xbb\xbf[{"type":"message","user":"U02BOB000","ts":"5.000001"}]')
    write_day(export, b"[ ]", "general/2024-03-02.json")
    records = read_all(export)
    general = [sid for sid, r in by_id(records).items() if r.channel_id == "C01GENERAL"]
    assert general == ["C01GENERAL:5.000001"]
    assert not any(isinstance(r, Quarantined) for r in records)


def test_malformed_messages_are_quarantined_and_reading_goes_on(tmp_path: Path) -> None:
    export = copy_workspace(tmp_path)
    messages = [
        {"type": "message", "user": "U01ALICE0", "text": "ok", "ts": "1709283600.000001"},
        "just a string",
        {"type": "message", "user": "U01ALICE0", "text": "no ts"},
        {"type": "message", "user": "U01ALICE0", "ts": 1709283600.5},
        {"type": "message", "user": "U01ALICE0", "ts": "1709283601.000001", "thread_ts": "soon"},
        {"type": "message", "user": "U01ALICE0", "ts": "1709283602.000001", "text": ["x"]},
        {"type": "message", "ts": "1709283603.000001", "text": "nobody"},
        {"type": "message", "user": "U01ALICE0", "ts": "1709283604.000001", "reactions": 3},
        None,
        {"type": "file", "user": "U01ALICE0", "ts": "1709283604.500000"},
        {"type": "message", "user": "U01ALICE0", "ts": "99999999999999.000001"},
        {"type": "message", "user": "U02BOB000", "text": "still here", "ts": "1709283605.000001"},
    ]
    write_day(export, json.dumps(messages, indent=1))
    records = [
        r for r in read_all(export) if isinstance(r, Quarantined) or r.channel_id == "C01GENERAL"
    ]
    quarantined = [r for r in records if isinstance(r, Quarantined)]
    assert [(q.position, q.reason) for q in quarantined] == [
        ("general/2024-03-01.json message #2", "message is a JSON str, not an object"),
        ("general/2024-03-01.json message #3", "message has no ts"),
        ("general/2024-03-01.json message #4", "ts 1709283600.5 is not a Slack timestamp"),
        ("general/2024-03-01.json message #5", "thread_ts 'soon' is not a Slack timestamp"),
        ("general/2024-03-01.json message #6", "text is not a string"),
        ("general/2024-03-01.json message #7", "message has no user"),
        ("general/2024-03-01.json message #8", "reactions is not a list"),
        ("general/2024-03-01.json message #9", "message is a JSON NoneType, not an object"),
        ("general/2024-03-01.json message #10", "type 'file' is not a message"),
        (
            "general/2024-03-01.json message #11",
            "ts '99999999999999.000001' is not a Slack timestamp",
        ),
    ]
    assert {q.platform for q in quarantined} == {"slack"}
    assert {q.origin for q in quarantined} == {"export"}
    assert quarantined[0].raw == '"just a string"'
    assert quarantined[1].raw == json.dumps(messages[2], indent=1).replace("\n", "\n ")
    assert quarantined[7].raw == "null"
    kept = [r.source_id for r in records if isinstance(r, Activity)]
    assert kept[:2] == ["C01GENERAL:1709283600.000001", "C01GENERAL:1709283605.000001"]


def test_quarantined_raw_is_truncated(tmp_path: Path) -> None:
    export = copy_workspace(tmp_path)
    write_day(export, json.dumps([{"type": "message", "user": "U1", "text": "x" * 10_000}]))
    (q,) = [r for r in read_all(export) if isinstance(r, Quarantined)]
    assert len(q.raw) == RAW_LIMIT
    assert q.raw.startswith('{"type": "message", "user": "U1", "text": "xxx')


@pytest.mark.parametrize("meta", ["users.json", "channels.json", "dms.json"])
def test_corrupt_metadata_is_refused(tmp_path: Path, meta: str) -> None:
    export = copy_workspace(tmp_path)
    data = (export / meta).read_bytes()
    (export / meta).write_bytes(data[:40])
    with pytest.raises(ImportRefused) as info:
        read_all(export)
    assert info.value.position == f"{meta} byte 40"
    assert info.value.reason == "file ends inside entry #1 (truncated)"


def test_metadata_that_is_not_a_list_is_refused(tmp_path: Path) -> None:
    export = copy_workspace(tmp_path)
    (export / "users.json").write_text('{"members": []}')
    with pytest.raises(ImportRefused, match=r"^not a JSON array \(at users.json byte 0\)$"):
        read_all(export)


def test_missing_metadata_is_refused(tmp_path: Path) -> None:
    export = copy_workspace(tmp_path)
    (export / "channels.json").unlink()
    with pytest.raises(ImportRefused, match="not a Slack export"):
        read_all(export)


def test_truncated_zip_is_refused(tmp_path: Path) -> None:
    whole = zip_folder(FIXTURE, tmp_path / "whole.zip").read_bytes()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ImportRefused, match="not a readable zip archive"):
        read_all(broken)


def test_zip_member_with_bad_crc_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "acme.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:
        for file in sorted(FIXTURE.rglob("*")):
            if file.is_file():
                out.write(file, file.relative_to(FIXTURE).as_posix())
    data = bytearray(archive.read_bytes())
    marker = b"Nightly backup done"
    at = data.index(marker)  # the stored bytes of random/2024-03-01.json
    data[at : at + len(marker)] = b"Nightly backup DONE"
    archive.write_bytes(bytes(data))
    with pytest.raises(ImportRefused) as info:
        read_all(archive)
    assert info.value.position == "random/2024-03-01.json"
    assert "corrupt archive member" in info.value.reason


# --- streaming -----------------------------------------------------------------------------


def test_day_files_are_streamed_not_slurped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first message is yielded before the reader has seen the end of the file."""
    monkeypatch.setattr(slack, "_CHUNK", 256)
    messages = [{"ts": f"{i}.000001", "text": "é" * 50} for i in range(200)]
    data = json.dumps(messages).encode()
    stream = io.BytesIO(data)
    elements = iter(slack._ArrayStream(stream, "big/2024-01-01.json"))
    first = next(elements)
    assert first.value == messages[0]
    assert stream.tell() < len(data) // 10


@settings(max_examples=150, deadline=None)
@given(
    messages=st.lists(
        st.one_of(
            st.dictionaries(st.text(max_size=5), st.text(max_size=20), max_size=4),
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.text(max_size=30),
            st.booleans(),
            st.none(),
        ),
        max_size=12,
    ),
    chunk=st.integers(min_value=1, max_value=40),
    indent=st.sampled_from([None, 0, 4]),
    ascii_only=st.booleans(),
)
def test_array_stream_matches_json_at_any_chunk_size(
    messages: list[object], chunk: int, indent: int | None, ascii_only: bool
) -> None:
    data = json.dumps(messages, indent=indent, ensure_ascii=ascii_only).encode()
    original = slack._CHUNK
    slack._CHUNK = chunk
    try:
        elements = list(slack._ArrayStream(io.BytesIO(data), "x.json"))
    finally:
        slack._CHUNK = original
    assert [e.value for e in elements] == messages
    assert [e.index for e in elements] == list(range(1, len(messages) + 1))
    for e in elements:
        raw = e.raw.encode()
        assert data[e.byte : e.byte + len(raw)] == raw


# --- fuzzing: only records or ImportRefused, never a crash ---------------------------------


SAMPLE_DAY = (FIXTURE / "general" / "2024-03-01.json").read_bytes()


def _read_with_day(export: Path, content: bytes) -> None:
    write_day(export, content)
    for record in IMPORTER.read(export, ctx()):
        assert isinstance(record, Activity | Quarantined)
        if isinstance(record, Activity):
            assert record.validate() is None


@pytest.fixture(scope="module")
def fuzz_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path_factory.mktemp("fuzz") / "export"))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes(fuzz_export: Path, data: bytes) -> None:
    try:
        _read_with_day(fuzz_export, data)
    except ImportRefused as exc:
        assert exc.position is not None and exc.position.startswith("general/2024-03-01.json")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.integers(min_value=0, max_value=len(SAMPLE_DAY)),
    flips=st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(SAMPLE_DAY) - 1), st.integers(0, 255)),
        max_size=3,
    ),
)
def test_fuzz_truncated_and_mutated_day_file(
    fuzz_export: Path, cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(SAMPLE_DAY)
    for at, value in flips:
        data[at] = value
    try:
        _read_with_day(fuzz_export, bytes(data[:cut]))
    except ImportRefused as exc:
        assert exc.position is not None and exc.position.startswith("general/2024-03-01.json")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    message=st.dictionaries(
        st.sampled_from(
            [
                "type",
                "subtype",
                "ts",
                "user",
                "text",
                "thread_ts",
                "edited",
                "files",
                "reactions",
                "bot_id",
                "username",
                "user_profile",
                "bot_profile",
                "team",
                "reply_count",
            ]
        ),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.text(max_size=10)
            | st.sampled_from(["1709283600.000100", "bot_message", "tombstone", "U01ALICE0"]),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=8,
        ),
    )
)
def test_fuzz_message_shapes(fuzz_export: Path, message: dict[str, object]) -> None:
    _read_with_day(fuzz_export, json.dumps([message]).encode())


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    meta=st.sampled_from(["users.json", "channels.json", "dms.json", "mpims.json"]),
    entries=st.lists(
        st.dictionaries(
            st.sampled_from(["id", "name", "profile", "members", "is_bot", "real_name"]),
            _JSONISH,
        ),
        max_size=3,
    ),
)
def test_fuzz_metadata_shapes(fuzz_export: Path, meta: str, entries: list[object]) -> None:
    original = (FIXTURE / meta).read_bytes()
    (fuzz_export / meta).write_text(json.dumps(entries))
    try:
        _read_with_day(fuzz_export, SAMPLE_DAY)
    finally:
        (fuzz_export / meta).write_bytes(original)


# --- the shared real-world corpus, when present --------------------------------------------


def _conformance_dir() -> Path:
    configured = os.environ.get("COCKPIT_CONFORMANCE_DIR")
    base = (
        Path(configured)
        if configured
        else Path(__file__).resolve().parents[2] / "shared" / "conformance"
    )
    return base / "slack"


def test_conformance_corpus() -> None:
    base = _conformance_dir()
    exports = (
        sorted(p for p in base.iterdir() if p.is_dir() or p.suffix == ".zip")
        if base.is_dir()
        else []
    )
    if not exports:
        pytest.skip(f"no Slack exports in {base}")
    for export in exports:
        head = b"" if export.is_dir() else export.read_bytes()[:64]
        assert IMPORTER.sniff(export, head), export
        records = list(IMPORTER.read(export, ctx()))
        activities = [r for r in records if isinstance(r, Activity)]
        assert activities, export
        assert all(a.validate() is None for a in activities)
        assert len({a.source_id for a in activities}) == len(activities)


# --- issue 17: exports other parsers read -------------------------------------------------

OWNER = "U01ALICE0"  # is_bot: false in users.json


def _day(tmp_path: Path, messages: list[dict[str, object]]) -> Path:
    export = Path(shutil.copytree(FIXTURE, tmp_path / "export"))
    for day in (export / "general").glob("*.json"):
        day.unlink()
    write_day(export, json.dumps(messages))
    return export


BOT_ADD = {
    "type": "message",
    "subtype": "bot_add",
    "user": OWNER,
    "bot_id": "B07GIPHY0",
    "bot_link": "<https://acme.slack.com/services/B07GIPHY0|giphy>",
    "text": "added an integration to this channel: <https://acme.slack.com/services/B07GIPHY0|giphy>",
    "ts": "1709300000.000100",
}
FILE_COMMENT = {
    "type": "message",
    "subtype": "file_comment",
    "text": "<@U02BOB000> commented on <@U01ALICE0>'s file <https://acme.slack.com/files/F1|plan.pdf>: looks good",
    "file": {"id": "F1", "name": "plan.pdf", "user": OWNER},
    "comment": {
        "id": "Fc1",
        "created": 1709300100,
        "timestamp": 1709300100,
        "user": "U02BOB000",
        "comment": "looks good",
    },
    "is_intro": False,
    "ts": "1709300100.000200",
}


async def test_bot_add_is_a_system_event_and_leaves_its_author_human(
    tmp_path: Path, store: SQLiteStore
) -> None:
    said = {"type": "message", "user": OWNER, "text": "hi", "ts": "1709300200.000300"}
    records = read_all(_day(tmp_path, [BOT_ADD, said]))
    added, hello = (r for r in records if isinstance(r, Activity) and r.channel == "general")
    assert (added.kind, added.author_id, added.is_bot) == (Kind.SYSTEM, OWNER, False)
    assert (hello.kind, hello.is_bot) == (Kind.MESSAGE, False)
    await store.write(records)
    rows = await store.fetchall(
        "SELECT is_bot FROM member WHERE platform = 'slack' AND platform_user_id = ?", (OWNER,)
    )
    assert [r[0] for r in rows] == [0]


def test_a_file_comment_is_by_the_commenter(tmp_path: Path) -> None:
    records = read_all(_day(tmp_path, [FILE_COMMENT]))
    assert not [r for r in records if isinstance(r, Quarantined)]
    [comment] = [r for r in records if isinstance(r, Activity) and r.channel == "general"]
    assert (comment.kind, comment.author_id, comment.author) == (
        Kind.MESSAGE,
        "U02BOB000",
        "Bob Ñúñez",
    )
