"""The example third-party plugin (examples/mastodon_plugin), written against the kit alone.

Loaded through the plugin registry from an entry point, as an installed package would be,
created from its settings as the collector does, and fed signed and malformed deliveries on
the collector's webhook router over real loopback HTTP into a real SQLite store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from fakeplatform import serve_webhook_source

from cockpit.collect.webhooks import ROUTER
from cockpit.model import Kind
from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import SourceContext
from cockpit.registry import Registry, load_registry
from cockpit.store.sqlite import SQLiteStore

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mastodon_plugin"
SECRET = b"whsec-mastodon-test"
PATH = "/mastodon-test"
ALICE = {"id": "1001", "username": "alice", "acct": "alice", "display_name": "Alice", "bot": False}


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    monkeypatch.syspath_prepend(str(EXAMPLE))
    eps = [EntryPoint("mastodon", "cockpit_mastodon:plugin", "cockpit.plugins")]
    yield load_registry(eps)


def status(sid: str, content: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "created_at": "2026-03-01T12:00:00.000Z",
        "content": content,
        "visibility": "public",
        "account": ALICE,
        "mentions": [],
        "media_attachments": [],
        "url": f"https://social.example/@alice/{sid}",
        **extra,
    }


def delivery(event: str, obj: object) -> bytes:
    return json.dumps(
        {"event": event, "created_at": "2026-03-01T12:00:01Z", "object": obj}
    ).encode()


def signed(body: bytes, secret: bytes = SECRET) -> dict[str, str]:
    digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def test_the_registry_loads_it_like_a_built_in(registry: Registry) -> None:
    assert registry.warnings == []
    plugin = registry.plugins["mastodon"]
    assert plugin.platform == "mastodon" and plugin.offers == ["live connector"]
    assert plugin.actions == frozenset()
    settings = registry.source_types["mastodon"].settings
    with pytest.raises(ValueError, match="secret"):
        settings.model_validate({"path": PATH})


async def test_signed_deliveries_are_stored_and_bad_ones_refused_or_quarantined(
    registry: Registry, store: SQLiteStore, tmp_path: Path
) -> None:
    kind = registry.source_types["mastodon"]
    settings = kind.settings.model_validate({"secret": SECRET.decode(), "path": PATH})
    source: Any = kind.create(settings, SourceContext("fedi", "Acme", tmp_path))
    created = delivery("status.created", status("109", "<p>Hello <b>fediverse</b></p><p>hi</p>"))
    updated = delivery(
        "status.updated",
        status("109", "<p>Hello again</p>", edited_at="2026-03-01T12:05:00Z"),
    )
    joined = delivery(
        "account.created",
        {
            "id": "2002",
            "created_at": "2026-03-01T12:10:00Z",
            "account": {"id": "2002", "username": "bob"},
        },
    )
    no_account = delivery("status.created", {**status("110", "x"), "account": None})
    bad_time = delivery("status.created", {**status("111", "x"), "created_at": "yesterday"})
    report = delivery("report.created", {"id": "7"})
    async with serve_webhook_source(source, BatchingWriter(store), ROUTER) as http:
        answers = [
            await http.post(PATH, content=body, headers=signed(body))
            for body in (created, updated, joined, no_account, bad_time, report, b"{not json")
        ]
        unsigned = await http.post(PATH, content=created)
        forged = await http.post(PATH, content=created, headers=signed(created, b"wrong"))
        get = await http.get(PATH)
    assert [a.status_code for a in answers] == [200] * 7
    assert (unsigned.status_code, forged.status_code, get.status_code) == (401, 403, 405)
    assert PATH not in ROUTER.routes  # the route is released when the source stops

    post = await store.activity("mastodon", "109")
    assert post is not None
    assert (post.kind, post.text, post.author, post.channel) == (
        Kind.MESSAGE,
        "Hello again",
        "Alice",
        "public",
    )
    assert post.edited_ts is not None
    join = await store.activity("mastodon", "join:2002")
    assert join is not None and (join.kind, join.author) == (Kind.JOIN, "bob")
    reasons = sorted((q["position"], q["reason"]) for q in await store.quarantine())
    assert reasons == [
        ("delivery without an event", "delivery is not an object"),
        ("event status.created", "account is not an object"),
        ("event status.created", "created_at is not an ISO 8601 time"),
    ]
