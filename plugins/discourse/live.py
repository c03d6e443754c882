"""Discourse: polling new posts with an API key, paging back to the stored high-water mark.

`/posts.json` answers the latest posts, newest first; `?before=ID` pages further back. Each
poll pages back until it reaches the stored mark (the highest post id stored), then writes
the new posts oldest first in chunks, each with the mark it covers, so a crash mid-way
resumes where the stored posts end. On the first run only `backfill_pages` pages are read.
Posts become records in plugins/discourse/payloads.py.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cockpit.model import Activity
from cockpit.plugin_api import Sink, SourceContext, SourceType
from cockpit.plugin_kit import ApiClient, ApiError, ConnectorHealth, health_for

from .payloads import PLATFORM, post_record

_CHUNK = 500


class DiscourseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    webhook: ClassVar[bool] = False

    base_url: str = Field(min_length=1, description="the forum, e.g. https://forum.example.org")
    api_key: str = Field(min_length=1, description="an API key (use ${NAME})")
    api_username: str = Field("system", description="the user the key acts as")
    poll_interval: float = Field(30.0, ge=1.0, description="seconds between polls")
    backfill_pages: int = Field(1, ge=0, le=1000, description="pages read on the first run")


class DiscourseSource:
    def __init__(
        self,
        settings: DiscourseSettings,
        ctx: SourceContext,
        *,
        client: ApiClient | None = None,
        health: ConnectorHealth | None = None,
    ) -> None:
        self.name = ctx.name
        self.settings = settings
        self.community = ctx.community
        self.origin = f"discourse {ctx.name}"
        self.cursor_key = f"discourse:{ctx.name}:post_id"
        self.health = health or health_for(ctx.name)
        self.health.type, self.health.community = PLATFORM, ctx.community
        self.client = client or ApiClient(
            f"discourse source {ctx.name!r}",
            settings.base_url,
            headers={"Api-Key": settings.api_key, "Api-Username": settings.api_username},
            auth_hint="check `api_key` and `api_username` (the key needs read access to posts)",
        )
        if self.client.on_wait is None:
            self.client.on_wait = self.health.waited
        self.categories: dict[int, str] = {}

    async def check(self) -> str:
        body = await self.client.get_json("/posts.json", what="posts")
        if not isinstance(body, dict) or not isinstance(body.get("latest_posts"), list):
            raise ApiError(f"{self.client.label}: /posts.json has no latest_posts (not Discourse?)")
        return f"{len(body['latest_posts'])} latest posts readable"

    async def _load_categories(self) -> None:
        try:
            body = await self.client.get_json("/categories.json", what="categories")
        except ApiError:
            return  # names are a nicety; ids still work
        cats = body.get("category_list", {}).get("categories", []) if isinstance(body, dict) else []
        for cat in cats:
            if isinstance(cat, dict) and isinstance(cat.get("id"), int):
                self.categories[cat["id"]] = str(cat.get("name") or cat["id"])

    async def poll_once(self, sink: Sink) -> int:
        """Page back to the mark, store what is new oldest first; how many posts were new."""
        stored = await sink.get_cursor(self.cursor_key)
        mark = int(stored) if stored else None
        found: dict[int, Any] = {}
        before: int | None = None
        pages = 0
        while True:
            params = {"before": before} if before is not None else None
            body = await self.client.get_json("/posts.json", what="posts", params=params)
            posts = body.get("latest_posts") if isinstance(body, dict) else None
            if not isinstance(posts, list):
                raise ApiError(f"{self.client.label}: /posts.json answered no latest_posts list")
            pages += 1
            ids = [p["id"] for p in posts if isinstance(p, dict) and isinstance(p.get("id"), int)]
            for post, pid in ((p, p.get("id")) for p in posts if isinstance(p, dict)):
                if isinstance(pid, int) and (mark is None or pid > mark):
                    found[pid] = post
            if not ids or (mark is not None and min(ids) <= mark + 1):
                break
            if mark is None and pages >= self.settings.backfill_pages:
                break
            before = min(ids) - 1
            self.health.ok(lagging=True, detail="paging back")
        ordered = sorted(found)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            records = [
                post_record(found[i], self.community, self.categories, self.origin) for i in chunk
            ]
            await sink.write(records, cursor=(self.cursor_key, str(chunk[-1])))
            times = [r.ts for r in records if isinstance(r, Activity)]
            self.health.received(len(records), max(times) if times else None)
        if mark is None and not ordered:
            # an empty forum: remember that we looked, so the next post is new
            await sink.write([], cursor=(self.cursor_key, "0"))
        return len(ordered)

    async def run(self, sink: Sink) -> None:
        try:
            await self._load_categories()
            while True:
                await self.poll_once(sink)
                self.health.ok()
                await asyncio.sleep(self.settings.poll_interval)
        finally:
            await self.client.aclose()


def create(settings: Any, ctx: SourceContext) -> DiscourseSource:
    return DiscourseSource(settings, ctx)


SOURCE = SourceType("discourse", DiscourseSettings, create)
