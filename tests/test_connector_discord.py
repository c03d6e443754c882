"""Discord live connector against a local REST server and Gateway: ids shared with the
importer, backfill paging and rate limits, crash and restart, Gateway sessions."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from discord_fake import (
    GUILD,
    TOKEN,
    FakeDiscordRest,
    FakeGateway,
    Limits,
    api_message,
    running,
    snowflake_at,
    until,
)
from fakeplatform import json_response
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.collect.health import ConnectorHealth
from cockpit.collect.http import AuthError, Backoff
from cockpit.model import Activity, Kind, Quarantined
from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import ImportContext, SourceContext
from cockpit.plugins.discord import DiscordChatExporterImporter, plugin
from cockpit.plugins.discord.gateway import GatewayFatal
from cockpit.plugins.discord.live import DiscordSource
from cockpit.plugins.discord.payloads import (
    channel_from_api,
    member_record,
    message_records,
    reaction_record,
    snowflake_time,
    time_snowflake,
)
from cockpit.plugins.discord.settings import DiscordSettings
from cockpit.store.sqlite import SQLiteStore

FIXTURES = Path(__file__).parent / "fixtures" / "discord"
GENERAL = "1087439561416060929"
CHAT = {"id": GENERAL, "name": "general", "type": 0, "guild_id": GUILD["id"], "parent_id": None}
ALICE = {
    "id": "990000000000000201",
    "username": "alice",
    "discriminator": "0",
    "global_name": "alice g",
}
BOB = {"id": "990000000000000202", "username": "bob", "discriminator": "4242"}
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """Monotonic time that only sleeping moves; shared by the client and the fake server."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 3))
        self.now += seconds
        await asyncio.sleep(0)


def chan() -> Any:
    return channel_from_api(CHAT, GUILD, None, "Cockpit")


def imported() -> dict[tuple[str, Kind], Activity]:
    importer = DiscordChatExporterImporter()
    out = {}
    for r in importer.read(FIXTURES / "guild_channel.json", ImportContext(community="Cockpit")):
        if isinstance(r, Activity):
            out[(r.source_id, r.kind)] = r
    return out


def test_live_records_equal_the_importers() -> None:
    """The same messages as the REST API sends them become the DCE importer's records."""
    hi = {
        "id": "1089000000000000002",
        "channel_id": GENERAL,
        "type": 0,
        "content": "hi all 👋 [bold red]not markup[/] \x1b[31mred\x1b[0m <@990000000000000202> <script>",
        "timestamp": "2023-03-26T01:05:09.123000+00:00",
        "edited_timestamp": "2023-03-26T01:07:00+00:00",
        "author": ALICE,
        "member": {"nick": "Alice ✨"},
        "attachments": [{"id": "1089000000000000900", "filename": "roadmap.png"}],
        "sticker_items": [{"id": "749054660769218631", "name": "Wave", "format_type": 2}],
        "mentions": [BOB],
        "reactions": [
            {"emoji": {"id": None, "name": "👍"}, "count": 2, "me": False},
            {"emoji": {"id": "1087500000000000777", "name": "pepe_hype"}, "count": 1},
        ],
        "pinned": True,
    }
    reply = {
        "id": "1089000000000000003",
        "type": 19,
        "content": "@Alice agreed — see https://example.org/a_(b)\nsecond line\ttabbed",
        "timestamp": "2023-03-26T01:06:10.450000+00:00",
        "edited_timestamp": None,
        "author": {**BOB, "global_name": "Bob"},
        "message_reference": {"message_id": "1089000000000000002", "channel_id": GENERAL},
    }
    join = {
        "id": "1089000000000000001",
        "type": 7,
        "content": "",
        "timestamp": "2023-03-25T22:58:01.500000+00:00",
        "author": {"id": "990000000000000101", "username": "new_member_42", "discriminator": "0"},
    }
    want = imported()
    for msg, kind in ((hi, Kind.MESSAGE), (reply, Kind.MESSAGE), (join, Kind.JOIN)):
        [live] = message_records(msg, chan(), "discord d")
        assert live == want[(msg["id"], kind)]
    # a live reaction has the id of the importer's reactor entry, so the two dedupe
    add = {
        "user_id": BOB["id"],
        "message_id": hi["id"],
        "channel_id": GENERAL,
        "guild_id": GUILD["id"],
        "emoji": {"id": None, "name": "👍"},
        "member": {"user": BOB, "nick": "Bob"},
    }
    r = reaction_record(add, chan(), T0)
    old = want[(f"{hi['id']}:👍:{BOB['id']}", Kind.REACTION)]
    assert r.ts == T0 and replace(r, ts=old.ts) == old  # an export knows no reaction time


def test_snowflakes_members_and_quarantine() -> None:
    # the example of Discord's reference: 175928847299117063 was made 2016-04-30 11:18:25.796
    assert snowflake_time("175928847299117063") == datetime(
        2016, 4, 30, 11, 18, 25, 796000, tzinfo=UTC
    )
    assert time_snowflake(snowflake_time("1089000000000000002")) >> 22 == 1089000000000000002 >> 22
    join = member_record(
        Kind.JOIN,
        {
            "guild_id": GUILD["id"],
            "user": BOB,
            "nick": "Bobby",
            "joined_at": "2024-05-01T12:00:00.5+00:00",
        },
        "G",
        "c",
        T0,
    )
    assert (join.source_id, join.kind, join.author, join.author_id, join.channel_id) == (
        f"member:{GUILD['id']}:{BOB['id']}:join:1714564800500",
        Kind.JOIN,
        "Bobby",
        BOB["id"],
        GUILD["id"],
    )
    bad = [
        (
            {"id": "12", "author": "x", "timestamp": "2024-01-01T00:00:00+00:00"},
            "message author is not an object",
        ),
        ({"id": "x1", "author": ALICE}, "message id is not a snowflake id"),
        ({"id": "13", "author": ALICE}, "message has no timestamp"),
        (
            {"id": "14", "author": ALICE, "timestamp": "yesterday"},
            "timestamp 'yesterday' is not an ISO 8601 time",
        ),
        (
            {"id": "15", "author": ALICE, "timestamp": "2024-01-01T00:00:00+00:00", "content": 5},
            "message content is not a string",
        ),
        (
            {
                "id": "16",
                "author": ALICE,
                "timestamp": "2024-01-01T00:00:00+00:00",
                "mentions": {"a": 1},
            },
            "mentions is not a list",
        ),
        ([1, 2], "message is not an object"),
    ]
    for payload, reason in bad:
        [q] = message_records(payload, chan(), "discord d")
        assert isinstance(q, Quarantined) and q.reason == reason, payload
        assert q.origin == "discord d" and json.loads(q.raw) == payload
    [q] = message_records(bad[0][0], chan(), "discord d")
    assert isinstance(q, Quarantined) and q.position == f"message 12 in channel {GENERAL}"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.just("1089000000000000002"), JSON),
        "author": st.one_of(st.just(ALICE), JSON),
        "timestamp": st.one_of(st.just("2024-01-01T00:00:00+00:00"), JSON),
        "content": JSON,
        "type": JSON,
        "mentions": JSON,
        "reactions": JSON,
        "attachments": JSON,
        "message_reference": JSON,
        "member": JSON,
        "sticker_items": JSON,
        "user_id": JSON,
        "message_id": JSON,
        "emoji": JSON,
        "user": JSON,
        "joined_at": JSON,
        "edited_timestamp": JSON,
        "channel_id": st.just(GENERAL),
        "guild_id": st.just(GUILD["id"]),
    },
)
EVENTS = st.sampled_from(
    [
        "MESSAGE_CREATE",
        "MESSAGE_UPDATE",
        "MESSAGE_DELETE",
        "MESSAGE_DELETE_BULK",
        "MESSAGE_REACTION_ADD",
        "GUILD_MEMBER_ADD",
        "GUILD_MEMBER_REMOVE",
        "GUILD_CREATE",
        "THREAD_CREATE",
        "TYPING_START",
    ]
)


@settings(max_examples=300, deadline=None)
@given(event=EVENTS, payload=st.one_of(FIELDS, JSON))
def test_any_dispatch_payload_gives_records_or_a_quarantine(event: str, payload: Any) -> None:
    source = DiscordSource(
        DiscordSettings(token="t", guild_ids=[GUILD["id"]]),
        SourceContext("dc", "c", Path(".")),
        health=ConnectorHealth("dc"),
        now=lambda: T0,
    )
    source.guilds[GUILD["id"]] = GUILD
    source.channels[GENERAL] = chan()
    written: list[Any] = []

    class Sink:
        async def write(self, records: Any, cursor: Any = None) -> None:
            written.extend(records)

        async def get_cursor(self, key: str) -> str | None:
            return None

    source._sink = Sink()
    asyncio.run(source._on_dispatch(event, payload, 5))
    for r in written:
        assert isinstance(r, Quarantined) or (isinstance(r, Activity) and r.validate() is None)


def test_a_bulk_delete_tombstones_every_message_it_names() -> None:
    source = DiscordSource(
        DiscordSettings(token="t", guild_ids=[GUILD["id"]]),
        SourceContext("dc", "c", Path(".")),
        health=ConnectorHealth("dc"),
        now=lambda: T0,
    )
    source.guilds[GUILD["id"]] = GUILD
    source.channels[GENERAL] = chan()
    ids = [str(snowflake_at(T0, n)) for n in range(3)]
    source.authors[ids[0]] = ("201", "spammer")
    d = {"ids": ids, "channel_id": GENERAL, "guild_id": GUILD["id"]}
    records, cursor = source._records("MESSAGE_DELETE_BULK", d)
    assert cursor is None
    assert [(r.kind, r.source_id, r.author_id) for r in records] == [  # type: ignore[union-attr]
        (Kind.DELETE, ids[0], "201"),
        (Kind.DELETE, ids[1], "unknown"),
        (Kind.DELETE, ids[2], "unknown"),
    ]
    with pytest.raises(TypeError, match="without an ids list"):
        source._records("MESSAGE_DELETE_BULK", {**d, "ids": "1,2"})


def test_settings_and_registration() -> None:
    s = DiscordSettings(token="t", guild_ids=[1087439560996614184])
    assert s.guild_ids == [GUILD["id"]] and s.intent_bits == 1 | 2 | 512 | 1024 | 32768
    with pytest.raises(ValueError, match="unknown intents"):
        DiscordSettings(token="t", guild_ids=["1"], intents=["GUILD_MESAGES"])
    assert plugin.sources["discord"].settings is DiscordSettings


def make_source(base: str, clock: FakeClock, **kw: Any) -> DiscordSource:
    settings = DiscordSettings(
        **{"token": TOKEN, "guild_ids": [GUILD["id"]], "base_url": base, **kw}
    )
    source = DiscordSource(
        settings,
        SourceContext("dc", "Cockpit", Path(".")),
        health=ConnectorHealth("dc"),
        sleep=clock.sleep,
        rng=lambda: 0.5,
        now=lambda: T0,
    )
    source.client.clock = clock
    source.client.pace.clock = clock
    source.client.backoff = Backoff(base=1.0, max_attempts=4)
    return source


def general(msgs: list[dict[str, Any]], limits: Limits | None = None) -> FakeDiscordRest:
    """The local Discord with our guild and its #general holding `msgs`."""
    rest = FakeDiscordRest(limits=limits)
    rest.add_guild(GUILD)
    rest.add_channel(GENERAL, "general", msgs)
    return rest


def history(cid: str, n: int, start: datetime = T0 - timedelta(days=1)) -> list[dict[str, Any]]:
    return [api_message(snowflake_at(start + timedelta(minutes=i)), cid, f"m{i}") for i in range(n)]


async def rows(store: SQLiteStore) -> list[str]:
    got = await store.fetchall("SELECT source_id FROM activity ORDER BY CAST(source_id AS INT)")
    return [r[0] for r in got]


async def test_backfill_pages_forward_reorders_and_obeys_rate_limit_headers(
    store: SQLiteStore,
) -> None:
    clock = FakeClock()
    old = api_message(snowflake_at(T0 - timedelta(days=40)), GENERAL, "too old")
    msgs = [old, *history(GENERAL, 730)]
    bad = {**msgs[300], "id": str(int(msgs[300]["id"]) + 1), "author": None}
    msgs.insert(301, bad)  # malformed: quarantined, paged past
    rest = general(msgs, Limits(per_route=5, window=1.0, global_rate=50, clock=clock))
    rest.add_channel("222", "random", history("222", 3, T0 - timedelta(hours=1)))
    async with running(rest) as base:
        source = make_source(base, clock)
        await source.resolve()
        writer = BatchingWriter(store)
        await source.backfill(writer)
        await writer.close()
    ids = await rows(store)
    assert len(ids) == 733 and ids == sorted(set(ids), key=int)  # each once, oldest first
    assert msgs[0]["id"] not in ids  # before the 30-day horizon
    assert await store.get_cursor(f"discord:dc:channel:{GENERAL}") == msgs[-1]["id"]
    assert await store.get_cursor("discord:dc:channel:222") == rest.messages["222"][-1]["id"]
    pages = [r for r in rest.requests if r.path.endswith(f"{GENERAL}/messages")]
    assert pages[0].arg("after") == str(time_snowflake(T0 - timedelta(days=30)))
    assert [p.arg("limit") for p in pages] == ["100"] * 8
    assert pages[1].arg("after") == msgs[100]["id"]  # the newest of page one
    assert rest.limits is not None and rest.limits.rejected == 0  # headers obeyed: no 429
    assert source.health.rate_limit_waits == 1  # waited out the empty bucket (5 per s) instead
    [q] = await store.quarantine()
    assert (q["reason"], q["position"]) == (
        "message author is not an object",
        f"message {bad['id']} in channel {GENERAL}",
    )


async def test_429_storm_5xx_and_recovery(store: SQLiteStore) -> None:
    clock = FakeClock()
    rest = general(history(GENERAL, 150))
    storm = [
        json_response(
            429,
            {"message": "You are being rate limited.", "retry_after": 0.7, "global": i % 2 == 0},
            {"Retry-After": "1", "X-RateLimit-Global": "true"},
        )
        for i in range(6)
    ]
    async with running(rest) as base:
        source = make_source(base, clock)
        await source.resolve()
        rest.script = [
            *storm,
            None,
            json_response(502, {"message": "bad gateway"}),
            json_response(500, {"message": "oops"}),
        ]
        writer = BatchingWriter(store)
        await source.backfill(writer)
        await writer.close()
    assert len(await rows(store)) == 150
    waits = [w for w in clock.waits if w > 0.1]  # not the global pacer's small gaps
    assert waits == [1.0] * 6 + [0.75, 1.5]  # Retry-After's 1 s beats the body's 0.7; backoff
    assert source.health.rate_limit_waits == 6


async def test_bad_token_and_missing_access_stop_with_one_line(store: SQLiteStore) -> None:
    clock = FakeClock()
    rest = general(history(GENERAL, 3))
    async with running(rest) as base:
        bad = make_source(base, clock, token="nope")
        with pytest.raises(AuthError, match=r"refused the token for guild .* check `token`"):
            await bad.run(BatchingWriter(store))
        assert bad.health.state == "failing"
        denied = make_source(base, clock, channel_ids=[GENERAL])
        await denied.resolve()
        rest.script = [json_response(403, {"message": "Missing Access", "code": 50001})]
        with pytest.raises(AuthError) as err:
            await denied.backfill(BatchingWriter(store))
    assert str(err.value) == (
        f"discord source 'dc': the bot cannot read #general ({GENERAL}); "
        "give it View Channel and Read Message History"
    )


async def test_crash_mid_backfill_then_restart_loses_nothing_stores_nothing_twice(
    store: SQLiteStore,
) -> None:
    clock = FakeClock()
    msgs = history(GENERAL, 1000)
    rest = general(msgs)
    key = f"discord:dc:channel:{GENERAL}"
    async with running(rest) as base:
        first = make_source(base, clock)
        await first.resolve()
        writer = BatchingWriter(store)
        task = asyncio.create_task(first.backfill(writer))
        await until(lambda: store.get_cursor(key))  # some pages are stored: kill it
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await writer.close()
        stored = await store.get_cursor(key)
        assert stored is not None and stored != msgs[-1]["id"]
        seen = len(rest.requests)
        second = make_source(base, clock)  # the restart: a new source on the same store
        await second.resolve()
        writer = BatchingWriter(store)
        await second.backfill(writer)
        await writer.close()
    ids = await rows(store)
    assert ids == [m["id"] for m in msgs]  # all of them, each once
    # the restart read on from a stored page's end, not from the start
    resumed = next(r for r in rest.requests[seen:] if r.path.endswith("/messages"))
    assert ids.index(resumed.arg("after")) % 100 == 99
    assert await store.get_cursor(key) == msgs[-1]["id"]


def guild_create() -> dict[str, Any]:
    thread = {"id": "777", "name": "release", "type": 11, "parent_id": GENERAL}
    other = {"id": "999", "name": "mods-only", "type": 0, "parent_id": None}
    return {**GUILD, "channels": [CHAT, other], "threads": [thread]}


async def count_where(store: SQLiteStore, sql: str) -> int:
    return int((await store.fetchall(f"SELECT count(*) FROM activity WHERE {sql}"))[0][0])


async def test_gateway_session_events_resume_reconnect_invalid_and_zombie(
    store: SQLiteStore,
) -> None:
    clock = FakeClock()
    past = history(GENERAL, 5)
    rest = general(past)
    rest.add_channel("999", "mods-only", [])
    gw = FakeGateway()
    gw.guild_creates = [guild_create()]
    key = f"discord:dc:channel:{GENERAL}"
    live = [
        api_message(
            snowflake_at(T0 + timedelta(seconds=i)),
            GENERAL,
            f"live {i}",
            guild_id=GUILD["id"],
            member={"nick": "Nick"},
        )
        for i in range(3)
    ]
    async with running(rest, gw) as base:
        source = make_source(base, clock, channel_ids=[GENERAL])
        writer = BatchingWriter(store)
        task = asyncio.create_task(source.run(writer))
        await until(lambda: GENERAL in source.caught_up)
        assert gw.logins[0][0] == 2 and gw.logins[0][1]["intents"] == 34307
        assert await store.get_cursor(key) == past[-1]["id"]

        g = GUILD["id"]
        await gw.dispatch("MESSAGE_CREATE", live[0])
        await gw.dispatch(
            "MESSAGE_CREATE", {**live[1], "channel_id": "777", "id": "1235000000000000777"}
        )
        await gw.dispatch(
            "MESSAGE_CREATE", {**live[1], "channel_id": "999", "id": "1235000000000000999"}
        )
        await gw.dispatch(
            "MESSAGE_UPDATE",
            {
                **live[0],
                "content": "live 0, edited",
                "edited_timestamp": (T0 + timedelta(minutes=1)).isoformat(),
            },
        )
        await gw.dispatch("MESSAGE_UPDATE", {**live[0], "embeds": [{}]})  # an unfurl: no edit
        await gw.dispatch(
            "MESSAGE_DELETE", {"id": past[0]["id"], "channel_id": GENERAL, "guild_id": g}
        )
        await gw.dispatch(
            "MESSAGE_REACTION_ADD",
            {
                "user_id": BOB["id"],
                "message_id": live[0]["id"],
                "channel_id": GENERAL,
                "guild_id": g,
                "emoji": {"id": None, "name": "🔥"},
            },
        )
        await gw.dispatch(
            "GUILD_MEMBER_ADD",
            {"guild_id": g, "user": BOB, "nick": None, "joined_at": T0.isoformat()},
        )
        await gw.dispatch("GUILD_MEMBER_REMOVE", {"guild_id": g, "user": ALICE})
        await gw.dispatch("GUILD_MEMBER_ADD", {"guild_id": g, "user": "not an object"})
        await gw.dispatch("MESSAGE_CREATE", {**live[2], "author": None})
        await until(lambda: count_where(store, "kind = 'leave'"))
        assert await store.get_cursor(key) == live[0]["id"]  # live moved the caught-up cursor
        await until(lambda: gw.heartbeats >= 1)  # beating at HELLO's interval

        # the network drops; meanwhile one event is held for the resume, one only REST has
        await gw.drop()
        gw.missed.append(("MESSAGE_CREATE", live[1]))
        late = api_message(snowflake_at(T0 + timedelta(seconds=30)), GENERAL, "in the gap")
        rest.post(GENERAL, late)
        await until(lambda: gw.readies >= 2 and GENERAL in source.caught_up)
        assert gw.logins[1] == (6, {"token": TOKEN, "session_id": "session-1", "seq": 13})
        await until(lambda: count_where(store, f"source_id = '{late['id']}'"))

        async def then(step: Any, login: int) -> None:
            readies = gw.readies
            await step()
            await until(lambda: gw.readies > readies)
            assert gw.logins[-1][0] == login

        await then(lambda: gw.send_op(7), 6)  # RECONNECT: resume on a new connection
        await then(lambda: gw.send_op(9, False), 2)  # INVALID_SESSION, not resumable: identify
        assert 3.0 in clock.waits  # 1-5 s before identifying again (rng 0.5)

        async def stop_acking() -> None:  # a zombie connection: reconnect and resume
            gw.ack = False

        await then(stop_acking, 6)
        assert gw.logins[-1][1]["session_id"] == gw.session
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await writer.close()
    got = {
        r[0]: tuple(r[1:])
        for r in await store.fetchall(
            "SELECT source_id, kind, text, deleted, thread, reply_to FROM activity"
        )
    }
    assert got[live[0]["id"]] == ("message", "live 0, edited", 0, None, None)
    assert got["1235000000000000777"][3] == "777"  # a thread of a followed channel
    assert "1235000000000000999" not in got  # not a followed channel
    assert got[past[0]["id"]][2] == 1  # deleted: marked, text kept
    assert got[f"{live[0]['id']}:🔥:{BOB['id']}"] == ("reaction", "🔥", 0, None, live[0]["id"])
    assert got[live[1]["id"]][:2] == ("message", "live 1")  # replayed on resume
    assert got[late["id"]][:2] == ("message", "in the gap")  # backfilled after the gap
    assert await count_where(store, "kind = 'join'") == 1
    assert sorted(q["position"] for q in await store.quarantine()) == [
        "GUILD_MEMBER_ADD (seq 12)",
        f"message {live[2]['id']} in channel {GENERAL}",
    ]
    assert await store.get_cursor(key) == late["id"]


@pytest.mark.parametrize(
    ("close", "token", "message"),
    [
        (
            4014,
            TOKEN,
            r"4014 \(disallowed intents\): enable Server Members Intent \(GUILD_MEMBERS\), "
            r"Message Content Intent \(MESSAGE_CONTENT\) for this bot in the developer portal",
        ),
        (None, "wrong", r"Discord refused the token \(Gateway close 4004\); check `token`"),
        (4013, TOKEN, r"invalid intents\); check `intents`"),
    ],
)
async def test_fatal_gateway_closes_stop_the_source_with_a_clear_line(
    store: SQLiteStore, close: int | None, token: str, message: str
) -> None:
    clock = FakeClock()
    rest = general([])
    gw = FakeGateway(token=token)
    gw.close_on_identify = close
    async with running(rest, gw) as base:
        source = make_source(base, clock)
        with pytest.raises(GatewayFatal, match=message):
            await asyncio.wait_for(source.run(BatchingWriter(store)), 10)
    assert source.health.state == "failing"
    assert source.client.clients == {}  # closed on the way out


async def test_check_names_the_bot_and_what_it_can_read() -> None:
    rest = general(history(GENERAL, 2))
    rest.add_channel("222", "random", [])
    async with running(rest) as base:
        source = make_source(base, FakeClock())
        assert await source.check() == "bot cockpit-bot, 2 channels readable in 1 guilds"
        await source.client.aclose()
        denied = make_source(base, FakeClock())
        rest.script = [json_response(403, {"message": "Missing Access", "code": 50001})]
        with pytest.raises(AuthError, match=f"cannot read guild {GUILD['id']}; is the bot in"):
            await denied.resolve()
        await denied.client.aclose()
