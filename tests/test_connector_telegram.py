"""Telegram Bot API connector: normalisation, long polling against a local server, webhook."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakeplatform import FakePlatform, FakeSleep, json_response, serve

from cockpit.collect.health import ConnectorHealth
from cockpit.collect.http import ApiClient, AuthError
from cockpit.collect.webhooks import Request, Response, WebhookRouter
from cockpit.model import Activity, Kind, Quarantined
from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import SourceContext
from cockpit.plugins.telegram.bot import ALLOWED_UPDATES, TelegramBotSettings, TelegramBotSource
from cockpit.plugins.telegram.payloads import MemberEvents, update_records
from cockpit.store.sqlite import SQLiteStore

GROUP = {"id": -1001234567890, "title": "Builders", "type": "supergroup"}
ALICE = {"id": 42, "is_bot": False, "first_name": "Alice", "last_name": "Ng", "username": "alice"}
BOB = {"id": 43, "is_bot": False, "first_name": "Bob"}


def msg_update(uid: int, mid: int, text: str, **extra: Any) -> dict[str, Any]:
    message = {"message_id": mid, "from": ALICE, "chat": GROUP, "date": 1700000000 + mid}
    message["text"] = text
    message.update(extra)
    return {"update_id": uid, "message": message}


def test_message_ids_match_the_importer() -> None:
    [a] = update_records(msg_update(1, 7, "hi <b>x</b>"), "c", "bot")
    assert isinstance(a, Activity)
    assert (a.source_id, a.channel_id, a.channel) == (
        "-1001234567890:7",
        "-1001234567890",
        "Builders",
    )
    assert (a.author, a.author_id, a.author_handle) == ("Alice Ng", "42", "alice")
    assert a.text == "hi <b>x</b>" and a.kind is Kind.MESSAGE and a.community == "c"
    assert a.ts == datetime.fromtimestamp(1700000007, UTC)


def test_reply_edit_joins_leaves_channel_posts() -> None:
    [reply] = update_records(
        msg_update(2, 8, "yes", reply_to_message={"message_id": 7, "chat": GROUP}), "c", "b"
    )
    assert isinstance(reply, Activity) and reply.reply_to == "-1001234567890:7"
    edit = {
        "update_id": 3,
        "edited_message": {**msg_update(0, 7, "hi!")["message"], "edit_date": 1700000100},
    }
    [e] = update_records(edit, "c", "b")
    assert isinstance(e, Activity) and e.kind is Kind.EDIT and e.source_id == "-1001234567890:7"
    assert e.edited_ts == datetime.fromtimestamp(1700000100, UTC) and e.text == "hi!"
    joins = update_records(msg_update(4, 9, "", new_chat_members=[ALICE, BOB]), "c", "b")
    assert [(j.kind, j.source_id, j.author_id) for j in joins if isinstance(j, Activity)] == [
        (Kind.JOIN, "-1001234567890:9", "42"),
        (Kind.JOIN, "-1001234567890:9/1", "43"),
    ]
    [left] = update_records(msg_update(5, 10, "", left_chat_member=BOB), "c", "b")
    assert isinstance(left, Activity) and (left.kind, left.author, left.author_id) == (
        Kind.LEAVE,
        "Bob",
        "43",
    )
    chan = {"id": -1009, "title": "News", "type": "channel"}
    post = {
        "update_id": 6,
        "channel_post": {"message_id": 1, "chat": chan, "date": 1700000000, "text": "out"},
    }
    [p] = update_records(post, "c", "b")
    assert isinstance(p, Activity) and (p.author_id, p.author, p.channel_id) == (
        "-1009",
        "News",
        "-1009",
    )
    member = {
        "update_id": 7,
        "chat_member": {
            "chat": chan,
            "from": BOB,
            "date": 1700000001,
            "old_chat_member": {"status": "left", "user": BOB},
            "new_chat_member": {"status": "member", "user": BOB},
        },
    }
    [m] = update_records(member, "c", "b")
    assert isinstance(m, Activity) and (m.kind, m.author_id) == (Kind.JOIN, "43")
    assert update_records({"update_id": 8, "callback_query": {}}, "c", "b") == []


def test_malformed_updates_are_quarantined() -> None:
    [q] = update_records(
        {"update_id": 9, "message": {"message_id": "x", "chat": GROUP}}, "c", "bot b"
    )
    assert isinstance(q, Quarantined)
    assert (q.platform, q.origin, q.position, q.reason) == (
        "telegram",
        "bot b",
        "update 9",
        "message_id is not an integer",
    )
    [q2] = update_records([1, 2], "c", "b")
    assert isinstance(q2, Quarantined) and q2.position == "update without update_id"


class FakeTelegram(FakePlatform):
    """getUpdates with offsets: updates below the offset are confirmed and dropped."""

    def __init__(self, token: str, updates: list[dict[str, Any]], storm: int = 0) -> None:
        super().__init__()
        self.pending = list(updates)
        self.offsets: list[int | None] = []
        self.storm = storm
        self.route(f"/bot{token}/getUpdates", self.get_updates)

    async def get_updates(self, request: Request) -> Response:
        if self.storm:
            self.storm -= 1
            return json_response(
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 3",
                    "parameters": {"retry_after": 3},
                },
            )
        params = json.loads(request.body)
        assert params["allowed_updates"] == list(ALLOWED_UPDATES)
        offset = params.get("offset")
        self.offsets.append(offset)
        if offset is not None:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        batch = self.pending[: params["limit"]]
        if not batch:
            await asyncio.sleep(0.05)  # a long poll that times out empty
        return json_response(200, {"ok": True, "result": batch})


def make_source(base: str, token: str, sleep: FakeSleep, **kw: Any) -> TelegramBotSource:
    settings = TelegramBotSettings(token=token, base_url=base, limit=2, **kw)
    ctx = SourceContext("tg", "Builders", Path("."))
    client = ApiClient("telegram source 'tg'", f"{base}/bot{token}", sleep=sleep)
    return TelegramBotSource(settings, ctx, client=client, health=ConnectorHealth("tg"))


async def run_until(source: TelegramBotSource, writer: BatchingWriter, done: Any) -> None:
    task = asyncio.create_task(source.run(writer))
    for _ in range(400):
        if await done():
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def count(store: SQLiteStore) -> int:
    rows = await store.fetchall("SELECT count(*) FROM activity WHERE platform = 'telegram'")
    return int(rows[0][0])


async def test_polling_survives_a_429_storm_and_resumes_after_a_crash(store: SQLiteStore) -> None:
    updates = [msg_update(100 + i, i, f"m{i}") for i in range(5)]
    updates.insert(2, {"update_id": 102_5, "message": {"message_id": None}})  # malformed
    updates[2]["update_id"] = 102
    for i, u in enumerate(updates):
        u["update_id"] = 100 + i
    fake = FakeTelegram("T0K", updates, storm=3)
    sleep = FakeSleep()
    async with serve(fake):
        writer = BatchingWriter(store)
        source = make_source(fake.base_url, "T0K", sleep)

        async def first_batches() -> bool:
            return await store.get_cursor("telegram:tg:update_id") == "103"

        await run_until(source, writer, first_batches)  # "crash": killed mid-stream
        await writer.close()
        assert sleep.waits[:3] == [3.0, 3.0, 3.0]
        assert source.health.rate_limit_waits == 3
        stored_before = await count(store)

        writer2 = BatchingWriter(store)
        source2 = make_source(fake.base_url, "T0K", sleep)

        async def all_in() -> bool:
            return await store.get_cursor("telegram:tg:update_id") == "105"

        await run_until(source2, writer2, all_in)
        await writer2.close()
    assert stored_before >= 3
    assert await count(store) == 5  # every message once, the malformed one quarantined
    assert 104 in fake.offsets  # the restart confirmed from the stored cursor
    q = await store.quarantine()
    assert [(r["origin"], r["position"]) for r in q] == [("telegram bot tg", "update 102")]
    rows = await store.fetchall("SELECT source_id FROM activity ORDER BY source_id")
    assert [r[0] for r in rows] == [f"-1001234567890:{i}" for i in (0, 1, 2, 3, 4)]


async def test_bad_token_is_a_clear_error(store: SQLiteStore) -> None:
    fake = FakePlatform()

    async def unauthorized(request: Request) -> Response:
        return json_response(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})

    fake.route("/botBAD/getUpdates", unauthorized)
    async with serve(fake):
        source = make_source(fake.base_url, "BAD", FakeSleep())
        with pytest.raises(
            AuthError, match=r"refused the token for getUpdates \(HTTP 401: Unauthorized\)"
        ):
            await source.run(BatchingWriter(store))
    assert source.health.state == "failing"


async def test_webhook_mode_refuses_forged_requests(store: SQLiteStore) -> None:
    from cockpit.collect.webhooks import WebhookServer

    router = WebhookRouter()
    settings = TelegramBotSettings(token="T", mode="webhook", secret_token="s3cret", path="/tg")
    source = TelegramBotSource(
        settings, SourceContext("tg", "c", Path(".")), router=router, health=ConnectorHealth("tg")
    )
    writer = BatchingWriter(store)
    task = asyncio.create_task(source.run(writer))
    server = WebhookServer(router, "127.0.0.1", 0)
    await server.start()
    import httpx

    body = json.dumps(msg_update(1, 1, "hello")).encode()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
        for _ in range(50):
            if "/tg" in router.routes:
                break
            await asyncio.sleep(0.01)
        forged = await http.post(
            "/tg", content=body, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
        )
        missing = await http.post("/tg", content=body)
        good = await http.post(
            "/tg", content=body, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        )
        again = await http.post(
            "/tg", content=body, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        )
    assert (forged.status_code, missing.status_code, good.status_code, again.status_code) == (
        401,
        401,
        200,
        200,
    )
    await server.stop()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await writer.close()
    assert await count(store) == 1


def member_update(uid: int, user: dict[str, Any], date: int, old: str, new: str) -> dict[str, Any]:
    return {
        "update_id": uid,
        "chat_member": {
            "chat": GROUP,
            "from": user,
            "date": date,
            "old_chat_member": {"status": old, "user": user},
            "new_chat_member": {"status": new, "user": user},
        },
    }


def test_chat_member_updates_are_joins_and_leaves_in_groups_too() -> None:
    """Telegram hides join messages in large groups: the updates are the only word of them."""
    [join] = update_records(member_update(1, BOB, 1700000100, "left", "member"), "c", "b")
    assert isinstance(join, Activity)
    assert (join.kind, join.author_id, join.channel_id) == (Kind.JOIN, "43", str(GROUP["id"]))
    [leave] = update_records(member_update(2, BOB, 1700000200, "member", "kicked"), "c", "b")
    assert isinstance(leave, Activity) and leave.kind is Kind.LEAVE
    muted = member_update(3, BOB, 1700000300, "left", "restricted")
    muted["chat_member"]["new_chat_member"]["is_member"] = True
    [back] = update_records(muted, "c", "b")
    assert isinstance(back, Activity) and back.kind is Kind.JOIN
    promoted = member_update(4, BOB, 1700000400, "member", "administrator")
    assert update_records(promoted, "c", "b") == []


def test_a_join_told_by_a_service_message_and_an_update_is_kept_once() -> None:
    members = MemberEvents()
    service = update_records(msg_update(10, 50, "", new_chat_members=[BOB]), "c", "b")
    told_again = update_records(member_update(11, BOB, 1700000050, "left", "member"), "c", "b")
    assert len(members.keep(service + told_again)) == 1
    # the other order: the update first, then the message
    later = MemberEvents()
    assert len(later.keep(told_again)) == 1 and later.keep(service) == []
    # leaving and coming back (by the same route) counts every time
    again = MemberEvents()
    trips = [
        member_update(20, ALICE, 1700000000, "left", "member"),
        member_update(21, ALICE, 1700000010, "member", "left"),
        member_update(22, ALICE, 1700000020, "left", "member"),
    ]
    kept = again.keep([r for u in trips for r in update_records(u, "c", "b")])
    assert [r.kind for r in kept if isinstance(r, Activity)] == [Kind.JOIN, Kind.LEAVE, Kind.JOIN]


async def test_polling_stores_hidden_joins_once(store: SQLiteStore) -> None:
    updates = [
        msg_update(300, 60, "", new_chat_members=[BOB]),
        member_update(301, BOB, 1700000060, "left", "member"),  # the same join, told again
        member_update(302, ALICE, 1700000070, "left", "member"),  # a hidden join message
        msg_update(303, 61, "hello"),
    ]
    fake = FakeTelegram("T0K", updates)
    async with serve(fake):
        writer = BatchingWriter(store)
        source = make_source(fake.base_url, "T0K", FakeSleep())

        async def all_in() -> bool:
            return await store.get_cursor("telegram:tg:update_id") == "303"

        await run_until(source, writer, all_in)
        await writer.close()
    rows = await store.fetchall(
        "SELECT a.kind, m.platform_user_id FROM activity a JOIN member m ON m.id = a.member_id "
        "WHERE a.platform = 'telegram' ORDER BY a.ts"
    )
    assert [tuple(r) for r in rows] == [("join", "43"), ("message", "42"), ("join", "42")]
