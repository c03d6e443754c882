"""DiscordChatExporter JSON importer: fixtures, both parse paths, malformed input, fuzzing,
streaming memory, and the conformance corpus."""

from __future__ import annotations

import importlib.util
import json
import os
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.errors import ImportRefused
from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.plugin_api import ImportContext
from cockpit.plugin_kit import Malformed
from cockpit.plugins.discord import DiscordChatExporterImporter, plugin
from cockpit.plugins.discord import export as discord_export
from cockpit.plugins.discord import model as discord

FIXTURES = Path(__file__).parent / "fixtures" / "discord"
REPO = Path(__file__).resolve().parents[1]
IMPORTER = DiscordChatExporterImporter()
GUILD = {"guild_id": "1087439560996614184", "guild": "Cockpit Testers"}
GENERAL = "1087439561416060929"
ALICE, BOB, CARL = "990000000000000201", "990000000000000202", "990000000000000303"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def read(path: Path, tz: ZoneInfo | None = None, warnings: list[str] | None = None) -> list[Record]:
    sink = warnings if warnings is not None else []
    return list(IMPORTER.read(path, ImportContext(community="acme", tz=tz, warn=sink.append)))


def activities(path: Path, **kwargs: object) -> list[Activity]:
    records = read(path, **kwargs)  # type: ignore[arg-type]
    assert all(isinstance(r, Activity) for r in records), records
    return [r for r in records if isinstance(r, Activity)]


def by_id(path: Path) -> dict[str, Activity]:
    return {a.source_id: a for a in activities(path)}


def sniff(path: Path) -> bool:
    return bool(IMPORTER.sniff(path, path.read_bytes()[: 64 * 1024]))


def minified(path: Path, tmp_path: Path) -> Path:
    """The same export on one line: no layout to cut on, so ijson reads it all."""
    out = tmp_path / path.name
    data = json.loads(path.read_bytes())
    out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return out


Layout = Callable[[str], Path]


@pytest.fixture(params=["pretty", "minified"])
def layout(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Layout]:
    """Runs a test over both parse paths; the pretty one must never fall back to ijson."""

    def variant(name: str) -> Path:
        path = FIXTURES / name
        return path if request.param == "pretty" else minified(path, tmp_path)

    if request.param == "pretty":
        mp = pytest.MonkeyPatch()

        def no_fallback(self: object, offset: int) -> Iterator[Record]:
            raise AssertionError(f"fell back to ijson at byte {offset}")

        mp.setattr(discord_export._Reader, "slow", no_fallback)
        yield variant
        mp.undo()
    else:
        yield variant


def force_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord_export._Reader, "fast", lambda self, start, close: self.slow(start))


# --- plugin surface ----------------------------------------------------------------------


def test_plugin_exposes_the_importer() -> None:
    assert plugin.name == "discord"
    assert plugin.platform == "discord"
    assert plugin.offers == ["live connector", "importer"]
    (imp,) = plugin.importers
    assert isinstance(imp, DiscordChatExporterImporter)
    assert (imp.name, imp.platform, imp.description) == (
        "discord-chat-exporter",
        "discord",
        "DiscordChatExporter JSON",
    )


@pytest.mark.parametrize(
    "name", ["guild_channel.json", "thread.json", "dm.json", "group_dm.json", "old_export.json"]
)
def test_sniff_accepts_exports(name: str) -> None:
    assert sniff(FIXTURES / name)


def test_sniff_accepts_a_bom_and_refuses_lookalikes(tmp_path: Path) -> None:
    body = (FIXTURES / "dm.json").read_bytes()
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + body)
    assert sniff(bom)
    wrong_suffix = tmp_path / "dm.txt"
    wrong_suffix.write_bytes(body)
    assert not sniff(wrong_suffix)
    telegram = tmp_path / "result.json"
    telegram.write_text(
        json.dumps(
            {
                "name": "guild",
                "type": "private_group",
                "messages": [{"id": 1, "text": "guild"}, {"id": 2, "text": "channel"}],
            }
        )
    )
    assert not sniff(telegram)
    as_array = tmp_path / "array.json"
    as_array.write_text('[{"guild": {}, "channel": {}, "messages": []}]')
    assert not sniff(as_array)
    assert not IMPORTER.sniff(tmp_path, b"")


# --- a guild text channel ----------------------------------------------------------------


def test_guild_channel_maps_every_field(layout: Layout) -> None:
    path = layout("guild_channel.json")
    warnings: list[str] = []
    records = activities(path, warnings=warnings)
    assert warnings == []
    assert [(a.source_id, a.kind) for a in records] == [
        ("1089000000000000001", Kind.JOIN),
        ("1089000000000000002", Kind.MESSAGE),
        (f"1089000000000000002:👍:{BOB}", Kind.REACTION),
        (f"1089000000000000002:👍:{CARL}", Kind.REACTION),
        ("1089000000000000003", Kind.MESSAGE),
        ("1089000000000000004", Kind.MESSAGE),
        ("1089000000000000005", Kind.SYSTEM),
        ("1089000000000000006", Kind.SYSTEM),
        ("1089000000000000007", Kind.MESSAGE),
        ("1089000000000000008", Kind.SYSTEM),
    ]
    for a in records:
        assert a.validate() is None
        assert (a.platform, a.community, a.channel, a.channel_id) == (
            "discord",
            "acme",
            "general",
            GENERAL,
        )

    join, hello, r_bob, r_carl, reply, embed_only, pin, thread, pong, boost = records
    assert join == Activity(
        platform="discord",
        source_id="1089000000000000001",
        kind=Kind.JOIN,
        ts=datetime(2023, 3, 25, 22, 58, 1, 500000, tzinfo=UTC),
        channel="general",
        author="new_member_42",
        author_id="990000000000000101",
        text="",
        community="acme",
        channel_id=GENERAL,
        author_handle="new_member_42",
        extras={**GUILD, "type": "GuildMemberJoin"},
    )
    # 03:05 on the day Europe switched to summer time, written with the new +02:00 offset
    assert hello == Activity(
        platform="discord",
        source_id="1089000000000000002",
        kind=Kind.MESSAGE,
        ts=datetime(2023, 3, 26, 1, 5, 9, 123000, tzinfo=UTC),
        channel="general",
        author="Alice ✨",
        author_id=ALICE,
        text="hi all 👋 [bold red]not markup[/] \x1b[31mred\x1b[0m <@990000000000000202> <script>",
        community="acme",
        channel_id=GENERAL,
        author_handle="alice",
        mentions=(BOB,),
        attachments=2,  # one file and one sticker
        reactions=3,
        edited_ts=utc(2023, 3, 26, 1, 7),
        extras=GUILD,
    )
    assert hello.ts.tzinfo is UTC and hello.edited_ts is not None
    assert hello.edited_ts.tzinfo is UTC
    assert r_bob == Activity(
        platform="discord",
        source_id=f"1089000000000000002:👍:{BOB}",
        kind=Kind.REACTION,
        ts=hello.ts,
        channel="general",
        author="Bob",
        author_id=BOB,
        text="👍",
        community="acme",
        channel_id=GENERAL,
        author_handle="bob#4242",
        reply_to="1089000000000000002",
        extras=GUILD,
    )
    assert (r_carl.author, r_carl.author_handle, r_carl.is_bot) == (
        "Carl-bot",
        "carlbot#1536",
        True,
    )
    assert reply.reply_to == "1089000000000000002"
    assert reply.text == "@Alice agreed — see https://example.org/a_(b)\nsecond line\ttabbed"
    assert (reply.author, reply.author_handle, reply.author_id) == ("Bob", "bob#4242", BOB)
    assert reply.ts == datetime(2023, 3, 26, 1, 6, 10, 450000, tzinfo=UTC)
    assert reply.extras == {**GUILD, "type": "Reply"}
    assert (embed_only.text, embed_only.is_bot, embed_only.ts) == (
        "",
        True,
        utc(2023, 3, 26, 1, 10),
    )
    assert embed_only.extras == GUILD
    assert (pin.reply_to, pin.text, pin.extras["type"]) == (
        "1089000000000000002",
        "Pinned a message.",
        "ChannelPinnedMessage",
    )
    assert (thread.thread, thread.reply_to, thread.text) == (
        "1089000000000000999",
        None,
        "Release planning",
    )
    assert (pong.kind, pong.text, pong.is_bot, pong.extras["type"]) == (
        Kind.MESSAGE,
        "Pong! 42 ms",
        True,
        "20",
    )
    assert (boost.kind, boost.extras["type"], boost.thread) == (Kind.SYSTEM, "8", None)


def test_thread_export_sets_thread_and_parent(layout: Layout) -> None:
    records = activities(layout("thread.json"))
    extras = {
        **GUILD,
        "parent_channel_id": GENERAL,
        "parent_channel": "general",
    }
    assert [(a.source_id, a.kind, a.thread, a.channel_id, a.channel) for a in records] == [
        ("1089000000000001000", Kind.SYSTEM, "1089000000000000999", "1089000000000000999", "Release planning"),
        ("1089000000000001001", Kind.MESSAGE, "1089000000000000999", "1089000000000000999", "Release planning"),
        (f"1089000000000001001:❤️:{ALICE}", Kind.REACTION, "1089000000000000999", "1089000000000000999", "Release planning"),
    ]  # fmt: skip
    starter, message, heart = records
    assert starter.reply_to == "1089000000000000006"
    assert starter.extras == {**extras, "type": "21"}
    assert message.extras == extras
    assert (message.reactions, message.ts) == (
        1,
        datetime(2023, 3, 26, 1, 15, 42, 999000, tzinfo=UTC),
    )
    assert (heart.text, heart.reply_to, heart.author) == ("❤️", "1089000000000001001", "Alice ✨")


def test_dm_converts_offsets_across_a_dst_fold(layout: Layout) -> None:
    records = activities(layout("dm.json"))
    extras = {"guild_id": "0", "guild": "Direct Messages"}
    first, second, call = records
    # 01:30 EDT then 01:10 EST: later in UTC although earlier on the wall clock
    assert (first.ts, first.edited_ts) == (
        utc(2023, 11, 5, 5, 30),
        datetime(2023, 11, 5, 6, 5, 0, 250000, tzinfo=UTC),
    )
    assert second.ts == utc(2023, 11, 5, 6, 10)
    assert second.text == "yes, it's 1:10 again 😅"
    assert (call.kind, call.ts, call.text) == (
        Kind.SYSTEM,
        utc(2023, 11, 5, 6, 20),
        "Started a call that lasted 45 minutes.",
    )
    assert call.extras == {**extras, "type": "Call"}
    assert first.extras == extras
    assert {(a.channel, a.channel_id, a.thread) for a in records} == {
        ("bob", "1090000000000000010", None)
    }
    assert (second.author, second.author_handle) == ("bob", "bob#4242")


def test_group_dm_joins_and_leaves(layout: Layout) -> None:
    added, renamed, left = activities(layout("group_dm.json"))
    assert (added.kind, added.author_id, added.mentions) == (
        Kind.JOIN,
        ALICE,
        ("990000000000000404",),
    )
    assert (renamed.kind, renamed.text, renamed.extras["type"]) == (
        Kind.SYSTEM,
        "mods only",
        "ChannelNameChange",
    )
    assert (left.kind, left.author_id, left.ts) == (
        Kind.LEAVE,
        "990000000000000404",
        utc(2024, 1, 21, 18, 30),
    )


def test_old_export_without_newer_fields(layout: Layout) -> None:
    """Four-space indent, CRLF, 7-digit fractions, no messageCount, nickname, stickers or type."""
    warnings: list[str] = []
    deleted, plain = activities(layout("old_export.json"), warnings=warnings)
    assert warnings == []
    extras = {"guild_id": "253601524398293010", "guild": "Chiptune Café"}
    assert deleted == Activity(
        platform="discord",
        source_id="459136077417021488",
        kind=Kind.MESSAGE,
        ts=datetime(2018, 5, 20, 16, 9, 44, 209123, tzinfo=UTC),
        channel="off-topic",
        author="Deleted User",
        author_id="456226577798135808",
        text="edited, by a deleted user",
        community="acme",
        channel_id="253601524398293011",
        author_handle="Deleted User",
        edited_ts=datetime(2018, 5, 20, 16, 9, 56, 439123, tzinfo=UTC),
        extras=extras,
    )
    assert (plain.author, plain.author_handle, plain.kind) == ("mlomb", "mlomb#5506", Kind.MESSAGE)
    assert (plain.attachments, plain.reactions, plain.mentions) == (1, 5, ())
    assert plain.ts == datetime(2018, 5, 20, 16, 10, 1, 470000, tzinfo=UTC)
    assert plain.extras == extras  # no "type" key in the file: a Default message


def test_message_count_mismatch_warns(tmp_path: Path, layout: Layout) -> None:
    source = layout("guild_channel.json")
    path = tmp_path / "counted.json"
    data = source.read_bytes()
    assert data.count(b'"messageCount": 8') + data.count(b'"messageCount":8') == 1
    path.write_bytes(
        data.replace(b'"messageCount": 8', b'"messageCount": 9').replace(
            b'"messageCount":8', b'"messageCount":9'
        )
    )
    warnings: list[str] = []
    assert len(activities(path, warnings=warnings)) == 10
    assert warnings == ["messageCount says 9 but the file holds 8 messages"]


def test_bom_and_tricky_head(tmp_path: Path) -> None:
    """A BOM, and a `"messages": [` inside the head that is not the top-level key."""
    data = (FIXTURES / "dm.json").read_bytes()
    trap = data.replace(b'"topic": null', b'"topic": null,\n    "\\"messages": [1]', 1)
    path = tmp_path / "tricky.json"
    path.write_bytes(b"\xef\xbb\xbf" + trap)
    assert [a.source_id for a in activities(path)] == [
        "1170552600000000001",
        "1170552600000000002",
        "1170552600000000003",
    ]


@pytest.mark.parametrize("indent", [1, 4, "\t"])
def test_other_pretty_layouts_stay_on_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, indent: int | str
) -> None:
    expected = read(FIXTURES / "guild_channel.json")
    path = tmp_path / "reindented.json"
    doc = json.loads((FIXTURES / "guild_channel.json").read_bytes())
    path.write_text(json.dumps(doc, indent=indent), encoding="utf-8")

    def no_fallback(self: object, offset: int) -> Iterator[Record]:
        raise AssertionError(f"fell back to ijson at byte {offset}")

    monkeypatch.setattr(discord_export._Reader, "slow", no_fallback)
    assert read(path) == expected


def test_normalize_message_is_usable_on_its_own() -> None:
    """The live connector will feed it message dicts without any file around them."""
    chan = discord.ChannelInfo(community="acme", channel_id="7", channel="ops", guild_id="1")
    message = {
        "id": "42",
        "type": "Reply",
        "timestamp": "2024-06-01T12:00:00.000-07:00",
        "content": "ok",
        "author": {"id": "5", "name": "zoe", "discriminator": "0"},
        "reference": {"messageId": "41"},
        "reactions": [{"emoji": {"id": None, "name": "✅"}, "count": 1, "users": [{"id": "6"}]}],
    }
    reply, tick = discord.normalize_message(message, chan)
    assert (reply.source_id, reply.ts, reply.reply_to, reply.extras) == (
        "42",
        utc(2024, 6, 1, 19),
        "41",
        {"guild_id": "1", "type": "Reply"},
    )
    assert (tick.source_id, tick.kind, tick.author, tick.text) == (
        "42:✅:6",
        Kind.REACTION,
        "6",
        "✅",
    )
    with pytest.raises(Malformed, match="message author has no id"):
        discord.normalize_message({**message, "author": {"name": "ghost"}}, chan)
    assert discord.message_kind("AutoModerationAction", "") is Kind.SYSTEM
    assert discord.message_kind("SomethingNew", "hello") is Kind.MESSAGE
    assert discord.message_kind("46", "poll results") is Kind.SYSTEM


def test_naive_times_use_the_given_zone_or_are_quarantined(tmp_path: Path) -> None:
    data = (FIXTURES / "group_dm.json").read_text()
    # 02:30 does not exist in Berlin that night: RFC 5545 reads it with the offset before the gap
    naive = data.replace('"2024-01-20T10:00:00.000+00:00"', '"2023-03-26T02:30:00"')
    path = tmp_path / "naive.json"
    path.write_text(naive)
    first = activities(path, tz=ZoneInfo("Europe/Berlin"))[0]
    assert first.ts == utc(2023, 3, 26, 1, 30)
    records = read(path)
    assert isinstance(records[0], Quarantined)
    assert records[0].reason == (
        "timestamp '2023-03-26T02:30:00' has no zone offset (give the time zone)"
    )
    assert [type(r) for r in records[1:]] == [Activity, Activity]


# --- malformed input ---------------------------------------------------------------------


DELETED = b'"<message deleted>"'


def message_offset(data: bytes, marker: bytes) -> int:
    return data.rfind(b"\n    {", 0, data.index(marker)) + 5


def test_malformed_messages_are_quarantined_with_exact_positions() -> None:
    path = FIXTURES / "malformed_messages.json"
    data = path.read_bytes()
    warnings: list[str] = []
    records = read(path, warnings=warnings)
    assert warnings == []
    assert [r.source_id for r in records if isinstance(r, Activity)] == [
        "1089000000000000101",
        "1089000000000000108",
    ]
    bad = [r for r in records if isinstance(r, Quarantined)]
    assert [(q.position, q.reason) for q in bad] == [
        (
            f"message #2 (byte {message_offset(data, b'who wrote this?')})",
            "message has no author",
        ),
        (
            f"message #3 (byte {message_offset(data, b'bad time')})",
            "timestamp 'yesterday at 5' is not an ISO 8601 time",
        ),
        (f"message #4 (byte {message_offset(data, b'no id here')})", "message has no id"),
        (
            f"message #5 (byte {message_offset(data, b'stickers is a number')})",
            "malformed message: TypeError: object of type 'int' has no len()",
        ),
        (f"message #6 (byte {data.index(DELETED)})", "message is str, not an object"),
        (
            f"message #7 (byte {message_offset(data, b'no timestamp')})",
            "message has no timestamp",
        ),
    ]
    assert {(q.platform, q.origin) for q in bad} == {("discord", "malformed_messages.json")}
    assert bad[0].raw.startswith('{\n      "id": "1089000000000000102",')
    assert bad[0].raw.endswith("}")
    assert bad[4].raw == '"<message deleted>"'


def test_malformed_messages_on_the_ijson_path(tmp_path: Path) -> None:
    path = minified(FIXTURES / "malformed_messages.json", tmp_path)
    records = read(path)
    bad = [r for r in records if isinstance(r, Quarantined)]
    assert [q.reason for q in bad] == [
        "message has no author",
        "timestamp 'yesterday at 5' is not an ISO 8601 time",
        "message has no id",
        "malformed message: TypeError: object of type 'int' has no len()",
        "message is str, not an object",
        "message has no timestamp",
    ]
    assert [q.position.split(" (")[0] for q in bad] == [f"message #{k}" for k in range(2, 8)]
    assert bad[4].raw == '"<message deleted>"'
    assert json.loads(bad[0].raw)["content"] == "who wrote this?"
    assert [r.source_id for r in records if isinstance(r, Activity)] == [
        "1089000000000000101",
        "1089000000000000108",
    ]


def test_truncated_file_is_refused_with_its_byte_position() -> None:
    path = FIXTURES / "truncated.json"
    size = path.stat().st_size
    seen: list[Record] = []
    with pytest.raises(ImportRefused) as err:
        for record in IMPORTER.read(path, ImportContext(community="acme")):
            seen.append(record)
    assert err.value.reason == "file is truncated (the JSON ends early)"
    assert err.value.position == f"byte {size}, after message #2"
    assert [r.source_id for r in seen if isinstance(r, Activity)] == [
        "1089000000000000101",
        "1089000000000000102",
    ]


def test_corrupt_file_is_refused_where_it_breaks() -> None:
    path = FIXTURES / "corrupt.json"
    data = path.read_bytes()
    with pytest.raises(ImportRefused) as err:
        read(path)
    assert err.value.reason == "corrupt JSON: unexpected b'{' after a message"
    second = message_offset(data, b'"content": "second"')
    assert err.value.position == f"byte {second}, after message #1"


def test_corrupt_minified_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.json"
    path.write_text(
        '{"guild":{"id":"1","name":"g"},"channel":{"id":"2","name":"c"},"messages":['
        '{"id":"3","timestamp":"2024-01-01T00:00:00+00:00","author":{"id":"4"}} '
        '{"id":"5"}],"messageCount":2}'
    )
    with pytest.raises(ImportRefused) as err:
        read(path)
    assert err.value.reason.startswith("corrupt JSON: parse error: after array element")
    assert err.value.position == f"byte {path.stat().st_size}, after message #1"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "file ends before its messages array (truncated, or not a DCE export)"),
        (
            '{"guild": {"id": "1"}, "channel": {"id": "2", "na',
            "file ends before its messages array",
        ),
        ('{"guild": {}, "messages": []}', "the export has no `channel` object before its messages"),
        ('{"guild": {}, "channel": [1], "messages": []}', "the export has no `channel` object"),
        ('{"channel": {}, "messages": [], "messageCount": 0', "file is truncated (the JSON ends"),
        ('{\n  "channel": {},\n  "messages": [],\n  "messageCount": 0', "file is truncated after"),
        ('{\n  "channel": {},\n  "messages": []\n', "file is truncated after the messages array"),
        ('{\n  "channel": {},\n  "messages": []\n} trailing', "file is corrupt after the messages"),
        (
            '{\n  "channel": {},\n  "messages": [],\n  "x": 1}}',
            "file is corrupt after the messages",
        ),
        ('{"channel": {}, "messages": []} trailing', "corrupt JSON: parse error: trailing garbage"),
        (
            '{\n  "channel": {},\n  "messages": [\n    {\n      "id": "1"\n    },\n  ]\n}',
            "corrupt JSON: a comma before the end of the messages array",
        ),
        ('{"channel": {"id": "2"}, "messages": [}', "corrupt JSON: parse error"),
        ('{"channel": {"id": "2"} "messages": []}', "corrupt JSON before the messages array"),
    ],
)
def test_broken_files_are_refused(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(ImportRefused) as err:
        read(path)
    assert err.value.reason.startswith(reason)
    assert err.value.position is not None and err.value.position.startswith("byte ")


def test_empty_and_minimal_exports(tmp_path: Path) -> None:
    path = tmp_path / "min.json"
    path.write_text('{"channel": {"id": "2", "name": "c"}, "messages": [\n]\n}')
    assert read(path) == []
    path.write_text(
        '{"channel":{"id":"2"},"messages":[{"id":"1","timestamp":"2024-01-01T00:00:00Z",'
        '"author":{"id":"9"}}]}'
    )
    (only,) = activities(path)
    assert (only.channel, only.channel_id, only.author, only.extras) == ("2", "2", "9", {})


# --- fuzzing -----------------------------------------------------------------------------


def outcome(path: Path) -> tuple[list[Record], ImportRefused | None]:
    records: list[Record] = []
    try:
        for record in IMPORTER.read(path, ImportContext(community="acme")):
            assert isinstance(record, Activity | Quarantined)
            if isinstance(record, Activity):
                assert record.validate() is None, record
            records.append(record)
    except ImportRefused as exc:
        assert exc.position is not None and exc.position.startswith("byte ")
        return records, exc
    return records, None


FUZZ_SOURCE = (FIXTURES / "guild_channel.json").read_bytes()
FUZZ_MINIFIED = json.dumps(json.loads(FUZZ_SOURCE), separators=(",", ":")).encode()
FUZZ_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ_SETTINGS
@given(source=st.sampled_from([FUZZ_SOURCE, FUZZ_MINIFIED]), data=st.data())
def test_fuzz_every_truncation_is_refused(source: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(source.rstrip()) - 1))
    with _scratch() as path:
        path.write_bytes(source[:cut])
        _, refused = outcome(path)
    assert refused is not None, f"truncation at {cut} was accepted"


@FUZZ_SETTINGS
@given(
    source=st.sampled_from([FUZZ_SOURCE, FUZZ_MINIFIED]),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.binary(max_size=3)), max_size=4),
)
def test_fuzz_byte_edits_never_crash(source: bytes, edits: list[tuple[int, bytes]]) -> None:
    data = bytearray(source)
    for where, new in edits:
        at = where % len(data)
        data[at : at + len(new)] = new
    with _scratch() as path:
        path.write_bytes(bytes(data))
        outcome(path)


@FUZZ_SETTINGS
@given(st.binary(max_size=512))
def test_fuzz_random_bytes_never_crash(blob: bytes) -> None:
    with _scratch() as path:
        path.write_bytes(blob)
        outcome(path)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=1 - 2**63, max_value=2**63 - 1)  # yajl refuses wider integers
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
DCE_KEYS = ["id", "type", "timestamp", "timestampEdited", "content", "author", "attachments",
            "stickers", "reactions", "mentions", "reference", "users", "emoji", "count", "name",
            "nickname", "discriminator", "isBot", "messageId", "channelId"]  # fmt: skip
dce_like = st.recursive(
    json_values,
    lambda inner: (
        st.dictionaries(st.sampled_from(DCE_KEYS), inner, max_size=8) | st.lists(inner, max_size=3)
    ),
    max_leaves=20,
)


@FUZZ_SETTINGS
@given(messages=st.lists(dce_like, max_size=5), pretty=st.booleans())
def test_fuzz_odd_messages_are_records_or_quarantined(messages: list[object], pretty: bool) -> None:
    doc = {"guild": {"id": "1"}, "channel": {"id": "2", "name": "c"}, "messages": messages}
    with _scratch() as path:
        path.write_text(json.dumps(doc, indent=2 if pretty else None))
        records, refused = outcome(path)
    assert refused is None
    ids = [r.source_id for r in records if isinstance(r, Activity) and r.kind is not Kind.REACTION]
    assert len(ids) + sum(isinstance(r, Quarantined) for r in records) == len(messages)


class _scratch:
    """A temp file per Hypothesis example (function-scoped tmp_path is shared across them)."""

    def __enter__(self) -> Path:
        import tempfile

        fd, name = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        self.path = Path(name)
        return self.path

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


# --- generated exports: both paths agree, and big files stream ----------------------------


def _gen_dce() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_dce", REPO / "bench" / "gen_dce.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_export_reads_the_same_on_both_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gen.json"
    assert _gen_dce().write_dce(path, messages=1500, seed=3) == 1500
    warnings: list[str] = []
    fast = read(path, warnings=warnings)
    force_slow(monkeypatch)
    slow = read(path, warnings=warnings)
    assert warnings == []
    assert fast == slow
    kinds = {r.kind for r in fast if isinstance(r, Activity)}
    assert kinds == {Kind.MESSAGE, Kind.REACTION, Kind.JOIN, Kind.SYSTEM}
    messages = [r for r in fast if isinstance(r, Activity) and r.kind is not Kind.REACTION]
    assert len(messages) == 1500
    assert len({m.source_id for m in messages}) == 1500
    assert any(m.reply_to for m in messages) and any(m.edited_ts for m in messages)
    assert len({m.author_id for m in messages}) > 500


@pytest.mark.parametrize("path_taken", ["fast", "ijson"])
def test_large_export_streams_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path_taken: str
) -> None:
    if path_taken == "ijson":
        force_slow(monkeypatch)
    path = tmp_path / "big.json"
    count = _gen_dce().write_dce(path, size=20 * 1024 * 1024, seed=5)
    size = path.stat().st_size
    assert size >= 20 * 1024 * 1024
    messages = 0
    tracemalloc.start()
    try:
        for record in IMPORTER.read(path, ImportContext(community="acme")):
            if isinstance(record, Activity) and record.kind is not Kind.REACTION:
                messages += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert messages == count
    assert peak < 6 * 1024 * 1024, f"peak {peak} bytes for a {size} byte file"


# --- conformance corpus ------------------------------------------------------------------


def conformance_dir() -> Path:
    env = os.environ.get("COCKPIT_CONFORMANCE_DIR")
    base = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "conformance"
    return base / "discord-chat-exporter"


EXPECTED = {  # file: (messages in the array, warning expected)
    "chat-analytics_DM_0A_0M.json": 0,
    "chat-analytics_DM_2A_2M.json": 3,
    "chat-analytics_GC_3A_5M.json": 6,  # its messageCount says 5
    "chat-analytics_SV_5A_5M.json": 5,  # one id appears twice
}


def test_conformance_corpus() -> None:
    folder = conformance_dir()
    if not folder.is_dir():
        pytest.skip(f"conformance corpus not found at {folder}")
    files = sorted(folder.glob("*.json"))
    assert {f.name for f in files} >= set(EXPECTED)
    got: dict[str, list[Activity]] = {}
    for path in files:
        assert sniff(path), path.name
        warnings: list[str] = []
        got[path.name] = activities(path, warnings=warnings)
        if path.name == "chat-analytics_GC_3A_5M.json":
            assert warnings == ["messageCount says 5 but the file holds 6 messages"]
        else:
            assert warnings == [], path.name
    for name, count in EXPECTED.items():
        assert len(got[name]) == count, name

    dm = got["chat-analytics_DM_2A_2M.json"]
    assert [(a.source_id, a.kind, a.author, a.is_bot, a.reactions) for a in dm] == [
        ("530805779645595660", Kind.MESSAGE, "mlomb", False, 42),
        ("538148765782114306", Kind.MESSAGE, "Someones nickname", True, 0),
        ("100", Kind.SYSTEM, "Someones nickname", True, 0),
    ]
    assert dm[0].author_handle == "mlomb#5506"
    assert dm[0].extras == {"guild_id": "0", "guild": "Direct Messages"}
    assert dm[2].ts == datetime(2020, 7, 17, 17, 3, 14, 366000, tzinfo=UTC)

    group = {a.source_id: a for a in got["chat-analytics_GC_3A_5M.json"]}
    assert group["1064990824305274930"].author == "theplant"
    assert group["1064990824305274930"].author_handle == "not a plant#6597"
    assert group["530805779645595660"].reply_to == "1064990824305274930"
    assert group["1064991070322180096"].text == (
        "hey @mlomb whats up, check out https://chatanalytics.app"
    )
    assert [group[i].extras["type"] for i in ("1064990775659729017", "1064991038751649806")] == [
        "ChannelNameChange",
        "ChannelIconChange",
    ]
    assert {a.channel for a in group.values()} == {"a group chat"}

    server = got["chat-analytics_SV_5A_5M.json"]
    assert len({a.source_id for a in server}) == 4
    first, _, no_nick, stickers, reacted = server
    assert (first.author, first.author_handle) == ("Deleted User", "Deleted User")
    assert first.edited_ts == datetime(2018, 5, 20, 16, 9, 56, 439000, tzinfo=UTC)
    assert (no_nick.author, no_nick.author_handle) == ("mlomb", "mlomb#5506")
    assert (stickers.attachments, reacted.reactions) == (2, 5)
    assert {(a.channel, a.channel_id) for a in server} == {
        ("general-chiptune", "253601524398293010")
    }
