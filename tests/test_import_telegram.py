"""Telegram Desktop export importer: fixtures, malformed input, fuzzing, conformance corpus."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.errors import ImportRefused
from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_api import ImportContext
from cockpit.plugins.telegram import NO_ZONE_WARNING, TelegramDesktopImporter, plugin

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
IMPORTER = TelegramDesktopImporter()
SUPERGROUP = "-1001234567890"


def conformance_dir() -> Path:
    env = os.environ.get("COCKPIT_CONFORMANCE_DIR")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "conformance"
    return base


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def read(path: Path, tz: ZoneInfo | None = None, warnings: list[str] | None = None) -> list[Record]:
    sink = warnings if warnings is not None else []
    ctx = ImportContext(community="rust-berlin", tz=tz, warn=sink.append)
    return list(IMPORTER.read(path, ctx))


def activities(path: Path, **kwargs: object) -> list[Activity]:
    records = read(path, **kwargs)  # type: ignore[arg-type]
    assert all(isinstance(r, Activity) for r in records), records
    return [r for r in records if isinstance(r, Activity)]


def by_id(path: Path) -> dict[str, Activity]:
    return {a.source_id: a for a in activities(path)}


def sniff(path: Path) -> bool:
    with path.open("rb") as fh:
        return bool(IMPORTER.sniff(path, fh.read(64 * 1024)))


# --- plugin surface ----------------------------------------------------------------------


def test_plugin_exposes_the_importer() -> None:
    assert plugin.name == "telegram"
    assert plugin.platform == "telegram"
    [imp] = plugin.importers
    assert (imp.name, imp.platform) == ("telegram-desktop", "telegram")
    assert imp.description == "Telegram Desktop export (result.json)"


# --- single chat -------------------------------------------------------------------------


def test_single_chat_ids_times_and_order() -> None:
    records = activities(FIXTURES / "single_chat.json")
    assert [a.source_id for a in records] == [f"{SUPERGROUP}:{n}" for n in (1, 2, 3)] + [
        f"{SUPERGROUP}:3/1"
    ] + [f"{SUPERGROUP}:{n}" for n in range(4, 13)]
    for a in records:
        assert a.platform == "telegram"
        assert a.community == "rust-berlin"
        assert a.channel == "Rustaceans 🦀 Berlin"
        assert a.channel_id == SUPERGROUP
        assert a.ts.tzinfo is UTC
        assert a.validate() is None
    # date_unixtime wins over the local `date` (which is two hours ahead here).
    assert records[0].ts == utc(2023, 5, 1, 9, 59)


def test_text_array_entities_mentions_and_reactions() -> None:
    msg = by_id(FIXTURES / "single_chat.json")[f"{SUPERGROUP}:4"]
    assert msg.kind is Kind.MESSAGE
    assert msg.author == "Max Mustermann"
    assert msg.author_id == "111222333"
    assert msg.text == "Welcome, Jana! Rules: https://example.org/rules"
    assert msg.mentions == ("5012345678",)
    assert msg.reactions == 5
    assert msg.ts == utc(2023, 5, 1, 10, 5)


def test_edit_reply_and_non_bmp_text() -> None:
    msg = by_id(FIXTURES / "single_chat.json")[f"{SUPERGROUP}:5"]
    assert msg.text == "Danke! 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🦀🦀 👩🏽\u200d💻"
    assert msg.reply_to == f"{SUPERGROUP}:4"
    assert msg.edited_ts == utc(2023, 5, 1, 10, 7, 30)
    assert msg.ts == utc(2023, 5, 1, 10, 6)


def test_reply_into_another_chat_uses_that_chats_id() -> None:
    msg = by_id(FIXTURES / "single_chat.json")[f"{SUPERGROUP}:12"]
    assert msg.reply_to == "-1001500000000:77"


def test_deleted_account_and_untrusted_text_kept_verbatim() -> None:
    msg = by_id(FIXTURES / "single_chat.json")[f"{SUPERGROUP}:6"]
    assert msg.author == "Deleted Account"
    assert msg.author_id == "999000111"
    assert msg.text == "[bold red]not markup[/] \x1b[31mred\x1b[0m  "


def test_media_placeholders_forwards_and_bots() -> None:
    records = by_id(FIXTURES / "single_chat.json")
    photo = records[f"{SUPERGROUP}:7"]
    assert (photo.attachments, photo.text) == (1, "look at this")
    assert photo.extras == {"forwarded_from": "Rust Weekly"}
    sticker = records[f"{SUPERGROUP}:8"]
    assert (sticker.attachments, sticker.text) == (1, "")
    assert sticker.extras == {"via_bot": "@sticker", "media_type": "sticker", "sticker_emoji": "🦀"}
    assert records[f"{SUPERGROUP}:4"].attachments == 0


def test_service_messages() -> None:
    records = by_id(FIXTURES / "single_chat.json")
    migrate = records[f"{SUPERGROUP}:1"]
    assert migrate.kind is Kind.SYSTEM
    assert (migrate.author, migrate.author_id) == ("Rustaceans 🦀 Berlin", SUPERGROUP)
    assert migrate.text == "Rustaceans 🦀 Berlin migrate from group: “Rustaceans Berlin”"

    join = records[f"{SUPERGROUP}:2"]
    assert (join.kind, join.author, join.author_id) == (Kind.JOIN, "Jana Nováková", "5012345678")
    assert join.extras == {"action": "join_group_by_link", "inviter": "Max Mustermann"}

    added, added_deleted = records[f"{SUPERGROUP}:3"], records[f"{SUPERGROUP}:3/1"]
    assert (added.kind, added.author, added.author_id) == (Kind.JOIN, "Lena 🌸", "name:Lena 🌸")
    assert added.extras == {"action": "invite_members", "by": "Max Mustermann"}
    assert (added_deleted.author, added_deleted.author_id) == (
        "Deleted Account",
        "name:Deleted Account",
    )
    assert added_deleted.ts == added.ts == utc(2023, 5, 1, 10, 1)

    pin = records[f"{SUPERGROUP}:9"]
    assert pin.kind is Kind.SYSTEM
    assert pin.text == "Max Mustermann pin message: message 4"
    assert pin.reply_to == f"{SUPERGROUP}:4"

    left = records[f"{SUPERGROUP}:10"]  # removed themselves: the actor's id is known
    assert (left.kind, left.author, left.author_id) == (Kind.LEAVE, "Jana Nováková", "5012345678")
    kicked = records[f"{SUPERGROUP}:11"]
    assert (kicked.kind, kicked.author, kicked.author_id) == (Kind.LEAVE, "Lena 🌸", "name:Lena 🌸")
    assert kicked.extras["by"] == "Max Mustermann"


def test_reimport_gives_identical_records() -> None:
    path = FIXTURES / "single_chat.json"
    assert read(path) == read(path)


# --- whole-account export ----------------------------------------------------------------


def test_account_export_reads_every_chat_and_left_chat() -> None:
    records = activities(FIXTURES / "account_export.json")
    assert [(a.channel_id, a.source_id) for a in records] == [
        ("300000000", "300000000:101"),
        ("300000000", "300000000:102"),
        ("100000001", "100000001:5"),
        ("93372553", "93372553:20"),
        ("93372553", "93372553:21"),
        ("-1001600000000", "-1001600000000:3"),
        ("-1001600000000", "-1001600000000:4"),
        ("-555000", "-555000:40"),
        ("-555000", "-555000:41"),
        ("-1001700000000", "-1001700000000:900"),
    ]
    channels = {a.channel_id: a.channel for a in records}
    assert channels["100000001"] == "Saved Messages"
    assert channels["-1001700000000"] == "Old Community"


def test_account_export_authors() -> None:
    records = by_id(FIXTURES / "account_export.json")
    assert records["300000000:101"].author_id == "100000001"
    assert records["300000000:102"].text == "🎆 same to you"
    assert records["93372553:20"].text == "/start"
    assert records["93372553:20"].is_bot is False
    assert records["93372553:21"].is_bot is True
    post = records["-1001600000000:3"]
    assert (post.author, post.author_id) == ("Announcements", "-1001600000000")
    assert post.extras == {"signature": "Max"}
    old_post = records["-1001600000000:4"]
    assert (old_post.author, old_post.author_id) == ("Announcements", "-1001600000000")
    assert old_post.ts == utc(2023, 1, 4, 13)
    created = records["-555000:40"]
    assert created.kind is Kind.SYSTEM
    assert created.text == "Test User create group: “Family”; Alice, Mum"
    assert created.ts == utc(2023, 1, 5, 12)


def test_chat_metadata_after_messages_read_on_a_second_pass() -> None:
    records = activities(FIXTURES / "metadata_after.json")
    assert [(a.source_id, a.channel, a.text) for a in records] == [
        ("321:1", "In Order", "normal order"),
        ("-1001800000000:10", "Late Metadata", "written before the chat's own id"),
        ("-1001800000000:11", "Late Metadata", "still in the same chat"),
    ]
    assert records[2].reply_to == "-1001800000000:10"


# --- times -------------------------------------------------------------------------------


def test_date_only_read_in_the_given_zone_by_rfc5545() -> None:
    warnings: list[str] = []
    records = activities(
        FIXTURES / "date_only.json", tz=ZoneInfo("Europe/Berlin"), warnings=warnings
    )
    assert warnings == []
    # 02:30 on 2023-10-29 happens twice in Berlin: the first (CEST) is meant.
    assert records[0].ts == utc(2023, 10, 29, 0, 30)
    # 02:30 on 2023-03-26 does not exist: read with the offset before the gap (CET).
    assert records[1].ts == utc(2023, 3, 26, 1, 30)
    assert records[2].ts == utc(2023, 7, 1, 10)
    assert records[2].edited_ts == utc(2023, 7, 1, 10, 5)


def test_date_only_without_zone_warns_once_and_reads_utc() -> None:
    warnings: list[str] = []
    records = activities(FIXTURES / "date_only.json", warnings=warnings)
    assert warnings == [NO_ZONE_WARNING]
    assert [a.ts for a in records] == [
        utc(2023, 10, 29, 2, 30),
        utc(2023, 3, 26, 2, 30),
        utc(2023, 7, 1, 12),
    ]


# --- exports without ids -----------------------------------------------------------------


def test_messages_without_ids_get_stable_distinct_derived_ids() -> None:
    path = FIXTURES / "minimal_no_ids.json"
    first, second = activities(path), activities(path)
    assert [a.source_id for a in first] == [a.source_id for a in second]
    ids = [a.source_id for a in first]
    assert len(set(ids)) == 3  # two identical "+1" messages stay two
    assert all(i.startswith("name:Stammtisch:h") for i in ids)
    assert first[0].channel_id == "name:Stammtisch"
    assert (first[0].author, first[0].author_id) == ("Author 1", "name:Author 1")
    assert (first[2].author, first[2].author_id) == ("Deleted Account", "name:Deleted Account")
    assert first[0].ts == utc(2018, 12, 5, 10, 39, 10)


def test_derived_ids_do_not_depend_on_the_file_for_named_chats(tmp_path: Path) -> None:
    copy = tmp_path / "result.json"
    copy.write_bytes((FIXTURES / "minimal_no_ids.json").read_bytes())
    assert [a.source_id for a in activities(copy)] == [
        a.source_id for a in activities(FIXTURES / "minimal_no_ids.json")
    ]


# --- malformed input ---------------------------------------------------------------------


def test_bad_messages_are_quarantined_and_reading_goes_on() -> None:
    path = FIXTURES / "malformed_messages.json"
    records = read(path)
    good = [r for r in records if isinstance(r, Activity)]
    bad = [r for r in records if isinstance(r, Quarantined)]
    assert [a.text for a in good] == ["first", "last"]
    size = path.stat().st_size  # a small file is read in one chunk
    assert [(q.position, q.reason) for q in bad] == [
        (f"chat Bob message #2 (byte {size})", "message is not a JSON object"),
        (f"chat Bob message #3 (byte {size})", "message is not a JSON object"),
        (
            f"chat Bob message #4 (byte {size})",
            "message has no usable date (date_unixtime or date)",
        ),
        (
            f"chat Bob message #5 (byte {size})",
            "message Telegram Desktop could not export (type unsupported)",
        ),
        (f"chat Bob message #6 (byte {size})", "message is not a JSON object"),
        (
            f"chat Bob message #7 (byte {size})",
            "message has no usable date (date_unixtime or date)",
        ),
    ]
    assert [q.raw for q in bad[:2]] == ["just a string", "42"]
    assert json.loads(bad[2].raw)["text"] == "no date at all"
    assert bad[4].raw == '[1, 2, {"id": 5}]'
    assert all((q.platform, q.origin) == ("telegram", path.name) for q in bad)


def test_truncated_file_is_refused_with_a_byte_position() -> None:
    path = FIXTURES / "truncated.json"
    seen: list[Record] = []
    with pytest.raises(ImportRefused) as info:
        seen.extend(IMPORTER.read(path, ImportContext(community="c")))
    assert info.value.position == f"byte {path.stat().st_size}"
    assert "truncated or corrupt" in info.value.reason
    assert "premature EOF" in info.value.reason
    assert "\n" not in info.value.reason
    assert len(seen) == 4  # what came before is the caller's to discard


def test_corruption_far_into_a_large_file_reports_a_nearby_byte(tmp_path: Path) -> None:
    filler = [
        {"id": i, "type": "message", "date_unixtime": "1700000000", "from": "A", "text": "x" * 100}
        for i in range(2000)
    ]
    text = json.dumps({"name": "Big", "type": "personal_chat", "id": 1, "messages": filler})
    cut = text.index('"id": 1500,')
    path = tmp_path / "result.json"
    path.write_text(text[:cut] + "}}garbage" + text[cut:])
    with pytest.raises(ImportRefused) as info:
        list(IMPORTER.read(path, ImportContext(community="c")))
    assert info.value.position is not None
    byte = int(info.value.position.removeprefix("byte "))
    assert cut <= byte <= cut + 16 * 1024 + 16


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "premature EOF"),
        (b"[1, 2]", "top level is not a JSON object"),
        (b'{"guild": {"id": "1"}, "channel": {}, "messages": []}', "DiscordChatExporter"),
        (b'{"hello": "world"}', "no Telegram chats"),
        (b'{"name": "x", "messages": [} ', "truncated or corrupt"),
    ],
)
def test_files_refused_as_a_whole(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(content)
    with pytest.raises(ImportRefused) as info:
        list(IMPORTER.read(path, ImportContext(community="c")))
    assert reason in info.value.reason
    assert info.value.position is not None and info.value.position.startswith("byte ")


def test_chat_that_is_not_an_object_and_messages_not_a_list(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(
        json.dumps(
            {
                "chats": {
                    "list": [
                        "oops",
                        {"name": "Broken", "type": "personal_chat", "id": 5, "messages": {"a": 1}},
                        {
                            "name": "Fine",
                            "type": "personal_chat",
                            "id": 6,
                            "messages": [
                                {"id": 1, "date_unixtime": "0", "from": "F", "text": "ok"}
                            ],
                        },
                    ]
                }
            }
        )
    )
    records = read(path)
    assert [
        (type(r).__name__, getattr(r, "reason", getattr(r, "source_id", ""))) for r in records
    ] == [
        ("Quarantined", "a chat in the list is not a JSON object"),
        ("Quarantined", '"messages" is not a list'),
        ("Activity", "6:1"),
    ]
    assert isinstance(records[0], Quarantined) and records[0].position.startswith("chats.list #1 ")
    assert isinstance(records[2], Activity) and records[2].ts == utc(1970, 1, 1)


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "single_chat.json").read_bytes())
    assert sniff(path)
    assert len(activities(path)) == 13


# --- sniff -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "single_chat.json",
        "account_export.json",
        "date_only.json",
        "metadata_after.json",
        "malformed_messages.json",
        "minimal_no_ids.json",
        "truncated.json",
    ],
)
def test_sniff_accepts_telegram_exports(name: str) -> None:
    assert sniff(FIXTURES / name)


def test_sniff_accepts_an_account_export_whose_head_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    head = (FIXTURES / "account_export.json").read_bytes()[:460]
    assert IMPORTER.sniff(path, head)


@pytest.mark.parametrize(
    "content",
    [
        # DiscordChatExporter
        b'{"guild": {"id": "1", "name": "G"}, "channel": {"id": "2"}, "messages": '
        b'[{"id": "3", "type": "Default", "timestamp": "2023-01-01T00:00:00+00:00"}]}',
        # Slack channel day file
        b'[{"type": "message", "user": "U1", "text": "hi", "ts": "1512085950.000216"}]',
        b'{"hello": "world"}',
        b"not json at all",
        b"",
    ],
)
def test_sniff_rejects_other_json(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "export.json"
    path.write_bytes(content)
    assert not sniff(path)


def test_sniff_wants_a_json_file(tmp_path: Path) -> None:
    data = (FIXTURES / "single_chat.json").read_bytes()
    assert not IMPORTER.sniff(tmp_path / "chat.txt", data)
    assert not IMPORTER.sniff(tmp_path, b"")


# --- fuzz --------------------------------------------------------------------------------

_SAMPLE = (FIXTURES / "single_chat.json").read_bytes()
_ACCOUNT = (FIXTURES / "account_export.json").read_bytes()


def _only_records_or_refusal(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "result.json"
        path.write_bytes(data)
        IMPORTER.sniff(path, data[: 64 * 1024])
        try:
            for record in IMPORTER.read(path, ImportContext(community="c")):
                if isinstance(record, Activity):
                    assert record.validate() is None
                    assert record.ts.tzinfo is not None
                else:
                    assert isinstance(record, Quarantined)
                    assert len(record.raw) <= 4096
        except ImportRefused as exc:
            assert exc.position is not None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_fuzz_random_bytes(data: bytes) -> None:
    _only_records_or_refusal(data)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([_SAMPLE, _ACCOUNT]), st.integers(min_value=0), st.binary(max_size=8))
def test_fuzz_truncations_and_splices(source: bytes, at: int, junk: bytes) -> None:
    at %= len(source) + 1
    _only_records_or_refusal(source[:at])
    _only_records_or_refusal(source[:at] + junk + source[at + len(junk) :])


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_message_keys = st.sampled_from(
    [
        "id", "type", "date", "date_unixtime", "edited", "edited_unixtime", "from", "from_id",
        "actor", "actor_id", "action", "members", "text", "text_entities", "reactions",
        "reply_to_message_id", "reply_to_peer_id", "photo", "file", "message_id", "title",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.dictionaries(_message_keys, _json_values, max_size=8) | _json_values, max_size=6),
    _json_values,
    _json_values,
)
def test_fuzz_structured_messages(
    messages: list[object], chat_type: object, chat_id: object
) -> None:
    doc = {"name": "F", "type": chat_type, "id": chat_id, "messages": messages}
    _only_records_or_refusal(json.dumps(doc).encode())


# --- conformance corpus ------------------------------------------------------------------

EXPECTED_COUNTS = {
    "chat-analytics_DM_2A_7M.json": 8,
    "chat-analytics_MultiChat_2C_6M.json": 6,
    "chat-miner_test_single_export.json": 2,
    "chat-miner_test_batch_export.json": 2,
}


def _corpus(sub: str) -> list[Path]:
    root = conformance_dir() / sub
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".md")


def test_conformance_telegram_exports_import_cleanly() -> None:
    files = [p for p in _corpus("telegram-desktop") if p.suffix == ".json"]
    if not files:
        pytest.skip("conformance corpus not present")
    for path in files:
        assert sniff(path), path.name
        records = read(path, tz=ZoneInfo("UTC"))
        assert not [r for r in records if isinstance(r, Quarantined)], path.name
        if path.name in EXPECTED_COUNTS:
            assert len(records) == EXPECTED_COUNTS[path.name], path.name
        ids = [r.source_id for r in records if isinstance(r, Activity)]
        assert len(ids) == len(set(ids)), path.name


def test_conformance_values() -> None:
    root = conformance_dir() / "telegram-desktop"
    dm = root / "chat-analytics_DM_2A_7M.json"
    multi = root / "chat-analytics_MultiChat_2C_6M.json"
    if not (dm.is_file() and multi.is_file()):
        pytest.skip("conformance corpus not present")
    records = activities(dm, tz=ZoneInfo("Europe/Berlin"))
    first, link, _, unix = records[:4]
    assert (first.kind, first.source_id, first.text) == (
        Kind.SYSTEM,
        "700000000:2675",
        "Bob joined telegram",
    )
    assert first.ts == utc(2019, 7, 5, 14, 55, 32)  # `date` only, read in Berlin (CEST)
    assert (link.text, link.author_id) == ("https://google.com 👀", "700000000")
    assert unix.ts == utc(2022, 5, 9, 22, 23, 53)
    call = records[-1]
    assert (call.kind, call.author, call.text) == (
        Kind.SYSTEM,
        "Alice",
        "Alice phone call: 56 s; hangup",
    )
    assert call.ts == utc(2023, 8, 11, 2, 11, 2)
    assert [r.attachments for r in records[5:7]] == [1, 1]
    group = [a for a in activities(multi) if a.channel == "Chat Two"]
    assert {a.channel_id for a in group} == {"-700000002"}


def test_conformance_other_formats_are_not_sniffed_as_telegram() -> None:
    others = _corpus("discord-chat-exporter") + _corpus("whatsapp")
    if not others:
        pytest.skip("conformance corpus not present")
    for path in others:
        assert not sniff(path), path.name
