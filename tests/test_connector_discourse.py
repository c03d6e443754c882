"""Discourse polling against a local /posts.json: paging back to the mark, resume, 429."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fakeplatform import FakePlatform, FakeSleep, json_response, serve

from cockpit.collect.health import ConnectorHealth
from cockpit.collect.http import ApiClient
from cockpit.collect.webhooks import Request, Response
from cockpit.model import Activity, Quarantined
from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import SourceContext
from cockpit.plugins.discourse import DiscourseSettings, DiscourseSource, post_record
from cockpit.store.sqlite import SQLiteStore


def post(pid: int) -> dict[str, Any]:
    return {
        "id": pid,
        "user_id": 7,
        "username": "kim",
        "name": "Kim <i>",
        "created_at": "2024-05-01T10:00:00.000Z",
        "updated_at": "2024-05-01T10:00:00.000Z",
        "raw": f"post {pid} **bold**",
        "cooked": "<p>x</p>",
        "topic_id": 3,
        "topic_title": "Welcome",
        "category_id": 4,
        "post_number": 1,
        "version": 1,
    }


class FakeDiscourse(FakePlatform):
    def __init__(self, count: int, page: int = 50) -> None:
        super().__init__()
        self.posts = [post(i) for i in range(1, count + 1)]
        self.page = page
        self.throttle = 1
        self.route("/posts.json", self.latest)

    async def latest(self, request: Request) -> Response:
        assert request.headers["api-key"] == "K" and request.headers["api-username"] == "system"
        if self.throttle:
            self.throttle -= 1
            return json_response(429, {"errors": ["too many"]}, {"Retry-After": "4"})
        before = int(request.arg("before") or 10**9)
        newest = sorted((p for p in self.posts if p["id"] <= before), key=lambda p: -p["id"])
        return json_response(200, {"latest_posts": newest[: self.page]})


def source(base: str, sleep: FakeSleep) -> DiscourseSource:
    settings = DiscourseSettings(base_url=base, api_key="K", backfill_pages=2)
    client = ApiClient(
        "discourse", base, headers={"Api-Key": "K", "Api-Username": "system"}, sleep=sleep
    )
    return DiscourseSource(
        settings,
        SourceContext("forum", "c", Path(".")),
        client=client,
        health=ConnectorHealth("forum"),
    )


async def test_pages_back_to_the_mark_and_resumes(store: SQLiteStore) -> None:
    fake = FakeDiscourse(230)
    sleep = FakeSleep()
    async with serve(fake):
        writer = BatchingWriter(store)
        assert await source(fake.base_url, sleep).poll_once(writer) == 100  # first run: 2 pages
        assert await store.get_cursor("discourse:forum:post_id") == "230"
        fake.posts += [post(i) for i in range(231, 361)]  # 130 new: three pages back
        # a restart: a new source instance finds the mark in the store
        assert await source(fake.base_url, sleep).poll_once(writer) == 130
        assert await source(fake.base_url, sleep).poll_once(writer) == 0
        await writer.close()
    assert sleep.waits == [4.0]
    befores = [r.arg("before") for r in fake.requests if r.arg("before")]
    assert befores == ["180", "310", "260"]
    rows = await store.fetchall(
        "SELECT count(*), min(CAST(source_id AS INT)), max(CAST(source_id AS INT)) FROM activity"
    )
    assert tuple(rows[0]) == (230, 131, 360)
    assert await store.get_cursor("discourse:forum:post_id") == "360"


def test_post_mapping_and_quarantine() -> None:
    a = post_record(post(5), "c", {4: "General"}, "discourse forum")
    assert isinstance(a, Activity)
    assert (
        a.source_id,
        a.channel,
        a.channel_id,
        a.thread,
        a.author,
        a.author_id,
        a.author_handle,
    ) == ("5", "General", "4", "3", "Kim <i>", "7", "kim")
    assert a.text == "post 5 **bold**" and a.edited_ts is None
    q = post_record({"id": 9, "username": "x"}, "c", {}, "discourse forum")
    assert isinstance(q, Quarantined) and (q.position, q.reason) == (
        "post 9",
        "missing 'created_at'",
    )
