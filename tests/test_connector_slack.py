"""Slack Events API connector: signing, event mapping, and a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakeplatform import FakePlatform, FakeSleep, json_response, serve, serve_webhook_source
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.collect.health import ConnectorHealth
from cockpit.collect.http import ApiClient, AuthError
from cockpit.collect.webhooks import Request, Response, WebhookRouter
from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import ImportContext, SourceContext
from cockpit.plugins.slack import SlackExportImporter, plugin
from cockpit.plugins.slack.events import (
    Names,
    SlackEventsSettings,
    SlackEventsSource,
    event_records,
    sign,
    verify,
)
from cockpit.store.sqlite import SQLiteStore

FIXTURES = Path(__file__).parent / "fixtures" / "slack_events"
EXPORT = Path(__file__).parent / "fixtures" / "slack" / "workspace"
SECRET = "s1gn1ng-secret"
NOW = 1_709_370_000


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def records(name: str, names: Names | None = None) -> list[Record]:
    raw = body(name)
    return event_records(json.loads(raw), raw, names or Names(None), "Acme", "slack events s")


def one(name: str) -> Activity:
    [record] = records(name)
    assert isinstance(record, Activity), record
    return record


def signed(raw: bytes, stamp: int = NOW, secret: str = SECRET) -> dict[str, str]:
    return {
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(secret.encode(), str(stamp), raw),
        "Content-Type": "application/json",
    }


# --- signing ------------------------------------------------------------------------------

# Slack's published example ("Verifying requests from Slack"): a slash command body.
DOC_SECRET = b"8f742231b10e8888abcd99yyyzzz85a5"
DOC_STAMP = "1531420618"
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    b"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770088"
    b"5554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447f"
    b"ce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_slacks_published_vector_verifies() -> None:
    headers = {"x-slack-request-timestamp": DOC_STAMP, "x-slack-signature": DOC_SIGNATURE}
    assert sign(DOC_SECRET, DOC_STAMP, DOC_BODY) == DOC_SIGNATURE
    assert verify(DOC_SECRET, headers, DOC_BODY, 1531420618.0) is None
    assert verify(DOC_SECRET, headers, DOC_BODY, 1531420618.0 + 300) is None
    assert verify(DOC_SECRET, headers, DOC_BODY, 1531420618.0 + 301) == (
        "X-Slack-Request-Timestamp is more than 5 minutes off (a replay?)"
    )
    assert verify(DOC_SECRET, headers, DOC_BODY + b"x", 1531420618.0) == "bad X-Slack-Signature"
    assert verify(b"other", headers, DOC_BODY, 1531420618.0) == "bad X-Slack-Signature"
    assert verify(DOC_SECRET, {}, DOC_BODY, 1531420618.0) == (
        "missing X-Slack-Signature or X-Slack-Request-Timestamp"
    )
    bad_stamp = {**headers, "x-slack-request-timestamp": "1e9"}
    assert verify(DOC_SECRET, bad_stamp, DOC_BODY, 1531420618.0) == (
        "X-Slack-Request-Timestamp is not a Unix time"
    )


# --- events -> records --------------------------------------------------------------------


def test_message_has_the_importers_ids() -> None:
    live = one("message")
    exported = {
        r.source_id: r
        for r in SlackExportImporter().read(EXPORT, ImportContext(community="Acme"))
        if isinstance(r, Activity)
    }["C01GENERAL:1709283900.000200"]
    assert (live.source_id, live.channel_id, live.author_id) == (
        exported.source_id,
        exported.channel_id,
        exported.author_id,
    )
    assert live.text == exported.text and live.mentions == ("U02BOB000", "W05ERIN00")
    assert (live.kind, live.community, live.channel) == (Kind.MESSAGE, "Acme", "C01GENERAL")
    assert live.ts == datetime(2024, 3, 1, 9, 5, 0, 200, tzinfo=UTC)
    assert live.extras == {"team": "T0COCKPIT"}


def test_thread_reply_edit_delete_bot_join() -> None:
    reply = one("thread_reply")
    assert reply.source_id == "C01GENERAL:1709370000.000100"
    assert (reply.reply_to, reply.thread) == ("C01GENERAL:1709283900.000200", "1709283900.000200")
    assert reply.text == "<script>alert(1)</script> &lt;b&gt; thanks <@U01ALICE0>!"
    assert (reply.attachments, reply.author_id, reply.author) == (1, "U02BOB000", "U02BOB000")

    edit = one("message_changed")
    assert (edit.kind, edit.source_id, edit.text) == (
        Kind.EDIT,
        "C01GENERAL:1709370000.000100",
        "thanks <@U01ALICE0>! (fixed)",
    )
    assert edit.edited_ts == datetime.fromtimestamp(1709370060, UTC)

    gone = one("message_deleted")
    assert (gone.kind, gone.source_id, gone.author_id) == (
        Kind.DELETE,
        "C01GENERAL:1709370000.000100",
        "U02BOB000",
    )

    bot = one("bot_message")
    assert (bot.is_bot, bot.author_id, bot.author, bot.channel_id) == (
        True,
        "B04DEPLOY",
        "deploybot",
        "C02RANDOM",
    )
    join = one("channel_join")
    assert (join.kind, join.source_id, join.author_id) == (
        Kind.JOIN,
        "C01GENERAL:1709370300.000500",
        "U08NEWBIE",
    )


def test_reactions_memberships_and_team_join() -> None:
    names = Names(None)
    [team] = records("team_join", names)
    assert isinstance(team, Activity)
    assert (team.kind, team.source_id, team.channel_id) == (
        Kind.JOIN,
        "T0COCKPIT:team_join:U08NEWBIE",
        "T0COCKPIT",
    )
    assert (team.author, team.author_handle) == ("nina \u2728", "newbie")
    # team_join taught the name: later events of that user carry it
    [joined] = records("member_joined_channel", names)
    assert isinstance(joined, Activity)
    assert (joined.kind, joined.author, joined.channel_id, joined.extras) == (
        Kind.JOIN,
        "nina \u2728",
        "C02RANDOM",
        {"by": "U01ALICE0"},
    )
    assert joined.source_id == "C02RANDOM:member:U08NEWBIE:1709370500.000800"
    left = one("member_left_channel")
    assert (left.kind, left.author_id) == (Kind.LEAVE, "U02BOB000")

    reaction = one("reaction_added")
    assert (reaction.kind, reaction.text, reaction.reply_to, reaction.author_id) == (
        Kind.REACTION,
        ":tada:",
        "C01GENERAL:1709283900.000200",
        "U03CAROL0",
    )
    assert reaction.source_id == "C01GENERAL:1709283900.000200:reaction:U03CAROL0:tada"
    assert records("reaction_to_file") == []


def test_malformed_events_are_quarantined() -> None:
    [q] = records("malformed_ts")
    assert isinstance(q, Quarantined)
    assert (q.platform, q.origin, q.position, q.reason) == (
        "slack",
        "slack events s",
        "event Ev06BAD00001",
        "ts 'yesterday' is not a Slack timestamp",
    )
    assert q.raw == body("malformed_ts").decode()
    [q2] = event_records({"event_id": "Ev1", "event": []}, b"{}", Names(None), "c", "o")
    assert isinstance(q2, Quarantined) and q2.reason == "event_callback without an event object"
    [q3] = event_records(
        {"event": {"type": "message", "channel": 5, "ts": "1.1"}}, b"", Names(None), "c", "o"
    )
    assert isinstance(q3, Quarantined)
    assert (q3.position, q3.reason) == (
        "event without event_id",
        "channel is missing or not a string",
    )


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(["type", "subtype", "channel", "user", "ts", "message", "item", "event_ts"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    event=st.dictionaries(_keys, _json | st.sampled_from(["message", "1709370000.1", "C1"])),
    kind=st.sampled_from(
        ["message", "reaction_added", "member_joined_channel", "team_join", "other"]
    ),
    subtype=st.sampled_from([None, "message_changed", "message_deleted", "bot_message"]),
)
def test_fuzzed_events_give_records_or_quarantine(
    event: dict[str, Any], kind: str, subtype: str | None
) -> None:
    event = {"type": kind, **event}
    if subtype:
        event["subtype"] = subtype
    out = event_records({"event_id": "Ev", "event": event}, b"{}", Names(None), "c", "o")
    assert all(isinstance(r, Activity | Quarantined) for r in out)


# --- the real server ----------------------------------------------------------------------


def make_source(
    router: WebhookRouter, client: ApiClient | None = None, **kw: Any
) -> SlackEventsSource:
    settings = SlackEventsSettings(signing_secret=SECRET, path="/slack/events", **kw)
    return SlackEventsSource(
        settings,
        SourceContext("s", "Acme", Path(".")),
        router=router,
        health=ConnectorHealth("s"),
        clock=lambda: float(NOW),
        client=client,
    )


async def count(store: SQLiteStore) -> int:
    rows = await store.fetchall("SELECT count(*) FROM activity WHERE platform = 'slack'")
    return int(rows[0][0])


async def test_forged_missing_and_stale_requests_are_refused(store: SQLiteStore) -> None:
    router = WebhookRouter()
    writer = BatchingWriter(store)
    raw = body("message")
    async with serve_webhook_source(make_source(router), writer, router) as http:
        forged = await http.post("/slack/events", content=raw, headers=signed(raw, secret="x"))
        missing = await http.post("/slack/events", content=raw)
        stale = await http.post("/slack/events", content=raw, headers=signed(raw, NOW - 301))
        future = await http.post("/slack/events", content=raw, headers=signed(raw, NOW + 301))
        tampered = await http.post(
            "/slack/events", content=raw.replace(b"Welcome", b"Wire $$"), headers=signed(raw)
        )
        get = await http.get("/slack/events")
    await writer.close()
    assert [r.status_code for r in (forged, missing, stale, future, tampered, get)] == [
        401,
        401,
        401,
        401,
        401,
        405,
    ]
    assert stale.text == "X-Slack-Request-Timestamp is more than 5 minutes off (a replay?)"
    assert await count(store) == 0
    assert await store.quarantine() == []


async def test_url_verification_and_ignored_deliveries(store: SQLiteStore) -> None:
    router = WebhookRouter()
    writer = BatchingWriter(store)
    async with serve_webhook_source(make_source(router), writer, router) as http:
        raw = body("url_verification")
        challenge = await http.post("/slack/events", content=raw, headers=signed(raw))
        unsigned = await http.post("/slack/events", content=raw)
        raw2 = body("app_rate_limited")
        limited = await http.post("/slack/events", content=raw2, headers=signed(raw2))
        junk = b"token=abc&command=%2Fhelp"
        form = await http.post("/slack/events", content=junk, headers=signed(junk))
        deep = b"[" * 200_000 + b"]" * 200_000
        nested = await http.post("/slack/events", content=deep, headers=signed(deep))
        raw3 = b'{"type": "url_verification"}'
        no_challenge = await http.post("/slack/events", content=raw3, headers=signed(raw3))
    await writer.close()
    assert (challenge.status_code, challenge.text) == (
        200,
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    )
    assert unsigned.status_code == 401
    assert (limited.status_code, limited.text) == (200, "ignored")
    assert (form.status_code, form.text) == (400, "not an Events API JSON object")
    assert (nested.status_code, nested.text) == (400, "not an Events API JSON object")
    assert (no_challenge.status_code, no_challenge.text) == (
        400,
        "url_verification without a challenge",
    )
    assert await count(store) == 0


ALL = [
    "message",
    "thread_reply",
    "message_changed",
    "bot_message",
    "channel_join",
    "reaction_added",
    "member_joined_channel",
    "member_left_channel",
    "team_join",
    "message_deleted",
    "malformed_ts",
]


async def test_events_stored_once_across_retries_and_a_restart(store: SQLiteStore) -> None:
    router = WebhookRouter()
    writer = BatchingWriter(store)
    source = make_source(router)
    async with serve_webhook_source(source, writer, router) as http:
        for name in ALL:
            answer = await http.post(
                "/slack/events", content=body(name), headers=signed(body(name))
            )
            assert (name, answer.status_code) == (name, 200)
        retry_headers = {
            **signed(body("message")),
            "X-Slack-Retry-Num": "1",
            "X-Slack-Retry-Reason": "http_timeout",
        }
        retry = await http.post("/slack/events", content=body("message"), headers=retry_headers)
    assert (retry.status_code, retry.text) == (200, "ok (already stored)")
    assert source.health.events == len(ALL) and source.health.state == "connected"
    # a crash: the writer is dropped without a clean close
    stored = await count(store)
    assert stored == 8  # the edit and the delete change the reply's row; one quarantined

    router2 = WebhookRouter()
    writer2 = BatchingWriter(store)
    async with serve_webhook_source(make_source(router2), writer2, router2) as http:
        for name in ALL:  # Slack re-sends everything after our restart
            headers = {**signed(body(name)), "X-Slack-Retry-Num": "2"}
            answer = await http.post("/slack/events", content=body(name), headers=headers)
            assert answer.status_code == 200
    await writer2.close()
    await writer.close()  # (only now, so the test leaves no task behind)
    assert await count(store) == stored
    rows = await store.fetchall(
        "SELECT text, deleted, edited_ts FROM activity WHERE source_id = ?",
        ("C01GENERAL:1709370000.000100",),
    )
    assert [tuple(r) for r in rows] == [("thanks <@U01ALICE0>! (fixed)", 1, 1709370060000)]
    quarantine = await store.quarantine()
    assert [(q["origin"], q["position"]) for q in quarantine] == [
        ("slack events s", "event Ev06BAD00001")
    ]  # the re-sent bad event is not quarantined twice either


async def test_live_message_dedupes_with_the_imported_export(store: SQLiteStore) -> None:
    imported = list(SlackExportImporter().read(EXPORT, ImportContext(community="Acme")))
    await store.write(imported)
    before = await count(store)
    router = WebhookRouter()
    writer = BatchingWriter(store)
    async with serve_webhook_source(make_source(router), writer, router) as http:
        answer = await http.post(
            "/slack/events", content=body("message"), headers=signed(body("message"))
        )
    await writer.close()
    assert answer.status_code == 200
    assert await count(store) == before


class SlowSink:
    """A store that holds writes until released, or fails them."""

    def __init__(self, fail: bool = False) -> None:
        self.release = asyncio.Event()
        self.fail = fail
        self.written: list[Record] = []

    async def write(self, records: Sequence[Record], cursor: Any = None) -> None:
        if self.fail:
            raise OSError("disk I/O error")
        await self.release.wait()
        self.written.extend(records)

    async def get_cursor(self, key: str) -> str | None:
        return None


async def test_a_slow_store_answers_503_in_time_and_the_retry_finds_it_stored() -> None:
    router = WebhookRouter()
    sink = SlowSink()
    source = make_source(router, answer_within=0.05)
    raw = body("message")
    async with serve_webhook_source(source, sink, router) as http:
        first = await http.post("/slack/events", content=raw, headers=signed(raw))
        sink.release.set()
        for _ in range(100):
            if "Ev06MSG00001" in source.seen:
                break
            await asyncio.sleep(0.01)
        retry = await http.post(
            "/slack/events", content=raw, headers={**signed(raw), "X-Slack-Retry-Num": "1"}
        )
    assert (first.status_code, first.text) == (503, "still storing; retry")
    assert (retry.status_code, retry.text) == (200, "ok (already stored)")
    assert len(sink.written) == 1


async def test_a_failing_store_answers_503_so_slack_retries() -> None:
    router = WebhookRouter()
    source = make_source(router)
    raw = body("message")
    async with serve_webhook_source(source, SlowSink(fail=True), router) as http:
        answer = await http.post("/slack/events", content=raw, headers=signed(raw))
    assert (answer.status_code, answer.text) == (503, "cannot store now; retry")
    assert source.health.state == "failing" and "disk I/O error" in (source.health.detail or "")
    assert "Ev06MSG00001" not in source.seen


class FakeSlackApi(FakePlatform):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        for method in ("auth.test", "users.info", "conversations.info"):
            self.route(f"/api/{method}", self.answer)

    async def answer(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return json_response(200, {"ok": False, "error": "invalid_auth"})
        if request.path.endswith("auth.test"):
            return json_response(200, {"ok": True, "team": "Acme", "user": "cockpit"})
        if request.path.endswith("users.info"):
            if request.arg("user") != "U02BOB000":
                return json_response(200, {"ok": False, "error": "user_not_found"})
            user = {"id": "U02BOB000", "name": "bob", "profile": {"display_name": "Bobby"}}
            return json_response(200, {"ok": True, "user": user})
        return json_response(200, {"ok": True, "channel": {"id": "C01GENERAL", "name": "general"}})


def api_source(router: WebhookRouter, base: str, token: str) -> SlackEventsSource:
    auth = {"Authorization": f"Bearer {token}"}
    client = ApiClient("slack source 's'", f"{base}/api", headers=auth, sleep=FakeSleep())
    return make_source(router, client, bot_token=token)


async def test_bot_token_names_users_and_channels_and_checks(store: SQLiteStore) -> None:
    fake = FakeSlackApi("xoxb-good")
    async with serve(fake):
        router = WebhookRouter()
        source = api_source(router, fake.base_url, "xoxb-good")
        assert await source.check() == "webhook /slack/events, bot cockpit in Acme"
        writer = BatchingWriter(store)
        async with serve_webhook_source(source, writer, router) as http:
            raw = body("thread_reply")
            answer = await http.post("/slack/events", content=raw, headers=signed(raw))
            raw = body("message_changed")  # names known now: no more lookups
            await http.post("/slack/events", content=raw, headers=signed(raw))
        await writer.close()
        bad = api_source(WebhookRouter(), fake.base_url, "xoxb-revoked")
        with pytest.raises(AuthError, match=r"Slack refused the bot token \(invalid_auth\)"):
            await bad.check()
        await bad.client.aclose()  # type: ignore[union-attr]
    assert answer.status_code == 200
    lookups = [r.path for r in fake.requests if not r.path.endswith("auth.test")]
    assert sorted(lookups) == ["/api/conversations.info", "/api/users.info"]
    rows = await store.fetchall(
        "SELECT ch.name, m.display_name, m.handle FROM activity a JOIN channel ch ON "
        "ch.id = a.channel_id JOIN member m ON m.id = a.member_id"
    )
    assert [tuple(r) for r in rows] == [("general", "Bobby", "bob")]


def test_registered_as_the_slack_source_type() -> None:
    assert plugin.sources["slack"].settings is SlackEventsSettings
    assert SlackEventsSettings.webhook is True
