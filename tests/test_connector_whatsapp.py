"""WhatsApp Cloud API webhook: handshake, signatures, every entry and change, a real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakeplatform import FakePlatform, json_response, serve, serve_webhook_source
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.collect.health import ConnectorHealth
from cockpit.collect.http import AuthError
from cockpit.collect.webhooks import ROUTER, Request, Response, WebhookRouter
from cockpit.config import load_config
from cockpit.model import Activity, Kind, Quarantined, Record
from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import SourceContext
from cockpit.plugins.whatsapp import plugin
from cockpit.plugins.whatsapp.cloud import (
    WhatsAppCloudSettings,
    WhatsAppCloudSource,
    sign,
    verify,
)
from cockpit.plugins.whatsapp.payloads import delivery_records, delivery_tag
from cockpit.registry import registry
from cockpit.runtime import Runtime
from cockpit.store.sqlite import SQLiteStore

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp_cloud"
SECRET = "app-s3cret"
PATH = "/whatsapp"
ANA_IMAGE = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBBNkJCMDM0RUI3RDI3MTg0QTYA"
OUR_MESSAGE = "wamid.HBgLMTU1NTA3ODM4ODEVAgARGBJBMDBGQkM0OEI1M0E2RTYyRDMA"


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def records(name: str, statuses: bool = False) -> list[Record]:
    return delivery_records(json.loads(body(name)), "Acme", "whatsapp cloud w", statuses)


def signed(raw: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": sign(secret.encode(), raw), "Content-Type": "application/json"}


# --- signatures ---------------------------------------------------------------------------


def test_published_x_hub_signature_256_vector() -> None:
    # Meta publishes no vector; GitHub documents the same X-Hub-Signature-256 scheme with one.
    secret, payload = b"It's a Secret to Everybody", b"Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(secret, payload) == expected
    assert verify(secret, expected, payload) is None
    assert verify(secret, expected.upper().replace("SHA256=", "sha256="), payload) is None
    assert verify(secret, expected, payload + b" ") == 403
    assert verify(b"other", expected, payload) == 403
    assert verify(secret, expected[:-1], payload) == 403
    assert verify(secret, "sha1=" + expected[7:], payload) == 403
    assert verify(secret, None, payload) == 401
    assert verify(secret, "", payload) == 401


# --- deliveries -> records ----------------------------------------------------------------


def test_text_message_ids_names_and_verbatim_text() -> None:
    [msg] = records("text_message")
    assert isinstance(msg, Activity)
    assert (msg.platform, msg.kind, msg.community) == ("whatsapp", Kind.MESSAGE, "Acme")
    assert msg.source_id == "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBDMEI3RjU2QzE5QjE4OEE4RUMA"
    assert (msg.author_id, msg.author) == ("+5511987654321", "Ana Souza \U0001f33b")
    assert (msg.channel_id, msg.channel) == ("106540352242922", "15550783881")
    assert msg.text == "Oi! <b>is the meetup</b> still on? https://example.com/?a=1&b=2"
    assert msg.ts == datetime.fromtimestamp(1709370000, UTC)
    assert msg.extras == {"type": "text"}


def test_every_entry_and_change_of_a_delivery() -> None:
    out = records("multi_entry")
    assert [type(r).__name__ for r in out] == [
        "Activity",
        "Activity",
        "Activity",
        "Quarantined",
        "Activity",
    ]
    image, reaction, button, bad, document = out
    assert isinstance(image, Activity) and isinstance(reaction, Activity)
    assert (image.source_id, image.text, image.attachments) == (
        ANA_IMAGE,
        "the venue \U0001f4cd",
        1,
    )
    assert image.reply_to == "wamid.HBgLMTU1NTA3ODM4ODEVAgARGBJBMDBGQkM0OEI1M0E2RTYyRDMA"
    assert (reaction.kind, reaction.text, reaction.reply_to) == (
        Kind.REACTION,
        "\u2764\ufe0f",
        ANA_IMAGE,
    )
    assert (reaction.author, reaction.author_id) == ("Kojo", "+233241234567")
    assert isinstance(button, Activity)
    assert (button.text, button.extras["reply_id"]) == ("I'll be there", "rsvp-yes")
    assert isinstance(bad, Quarantined)
    assert (bad.origin, bad.position, bad.reason) == (
        "whatsapp cloud w",
        "delivery entry 1 change 0 message 1",
        "from is missing or not a string",
    )
    assert '"no sender"' in bad.raw
    assert isinstance(document, Activity)
    assert (document.text, document.extras["media"]) == ("agenda", "agenda.pdf")


def test_statuses_ignored_or_recorded_never_as_messages() -> None:
    assert records("statuses") == []
    sent, delivered, failed = records("statuses", statuses=True)
    assert all(isinstance(r, Activity) and r.kind is Kind.SYSTEM for r in (sent, delivered, failed))
    assert isinstance(sent, Activity) and isinstance(failed, Activity)
    assert (sent.source_id, sent.author_id, sent.text) == (
        f"{OUR_MESSAGE}:sent",
        "system",
        "message sent",
    )
    assert sent.extras == {"status": "sent", "message": OUR_MESSAGE, "recipient": "+5511987654321"}
    assert failed.text == "message failed: Message undeliverable"
    assert failed.extras["error_code"] == 131026
    # the delivery with messages also carries a read status
    assert len(records("multi_entry", statuses=True)) == 6


def test_unsupported_and_malformed_changes() -> None:
    [unsupported] = records("unsupported")
    assert isinstance(unsupported, Activity)
    assert (unsupported.text, unsupported.extras) == (
        "",
        {"type": "unsupported", "errors": ["Message type unknown"]},
    )
    bad, good = records("malformed_change")  # the account_update change is not activity
    assert isinstance(bad, Quarantined) and isinstance(good, Activity)
    assert (bad.position, bad.reason) == ("delivery entry 0 change 0", "metadata is not an object")
    assert good.text == "still here"
    [whole] = delivery_records("not json at all", "c", "o", False)
    assert isinstance(whole, Quarantined)
    assert (whole.position, whole.reason) == (
        "delivery",
        "delivery is not an object with an entry list",
    )
    assert delivery_records({"object": "page", "entry": []}, "c", "o", False) == []
    [entry] = delivery_records(
        {"object": "whatsapp_business_account", "entry": [7]}, "c", "o", False
    )
    assert isinstance(entry, Quarantined) and entry.position == "delivery entry 0"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
_msg_keys = st.sampled_from(
    ["from", "id", "timestamp", "type", "text", "image", "reaction", "interactive", "context"]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    message=st.dictionaries(_msg_keys, _json | st.sampled_from(["text", "reaction", "17"])),
    metadata=_json | st.just({"phone_number_id": "1"}),
    statuses=st.lists(_json, max_size=2),
)
def test_fuzzed_deliveries_give_records_or_quarantine(
    message: dict[str, Any], metadata: Any, statuses: list[Any]
) -> None:
    value = {
        "metadata": metadata,
        "messages": [message],
        "statuses": statuses,
        "contacts": [message],
    }
    delivery = {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": value}]}]}
    out = delivery_records(delivery, "c", "o", True)
    assert all(isinstance(r, Activity | Quarantined) for r in out)


# --- the real server ----------------------------------------------------------------------


def make_source(router: WebhookRouter, **kw: Any) -> WhatsAppCloudSource:
    settings = WhatsAppCloudSettings(app_secret=SECRET, verify_token="tok-123", **kw)
    return WhatsAppCloudSource(
        settings, SourceContext("w", "Acme", Path(".")), router=router, health=ConnectorHealth("w")
    )


async def count(store: SQLiteStore) -> int:
    rows = await store.fetchall("SELECT count(*) FROM activity WHERE platform = 'whatsapp'")
    return int(rows[0][0])


async def test_verification_handshake(store: SQLiteStore) -> None:
    router = WebhookRouter()
    async with serve_webhook_source(make_source(router), BatchingWriter(store), router) as http:
        ok = await http.get(
            PATH,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": "tok-123",
                "hub.challenge": "1158201444",
            },
        )
        wrong = await http.get(
            PATH, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
        )
        mode = await http.get(
            PATH,
            params={"hub.mode": "unsubscribe", "hub.verify_token": "tok-123", "hub.challenge": "1"},
        )
        bare = await http.get(PATH)
        put = await http.put(PATH, content=b"{}")
    assert (ok.status_code, ok.text, ok.headers["content-type"]) == (
        200,
        "1158201444",
        "text/plain; charset=utf-8",
    )
    assert [r.status_code for r in (wrong, mode, bare, put)] == [403, 403, 403, 405]


async def test_forged_and_unsigned_deliveries_are_never_stored(store: SQLiteStore) -> None:
    router = WebhookRouter()
    writer = BatchingWriter(store)
    raw = body("text_message")
    async with serve_webhook_source(make_source(router), writer, router) as http:
        missing = await http.post(PATH, content=raw)
        forged = await http.post(PATH, content=raw, headers=signed(raw, "guess"))
        tampered = await http.post(PATH, content=raw.replace(b"Oi!", b"Pay!"), headers=signed(raw))
        junk = await http.post(PATH, content=raw, headers={"X-Hub-Signature-256": "sha256=zz"})
    await writer.close()
    assert [r.status_code for r in (missing, forged, tampered, junk)] == [401, 403, 403, 403]
    assert await count(store) == 0 and await store.quarantine() == []


async def test_deliveries_stored_once_across_retries_and_a_restart(store: SQLiteStore) -> None:
    router = WebhookRouter()
    writer = BatchingWriter(store)
    source = make_source(router, statuses="record")
    names = ["text_message", "multi_entry", "statuses", "unsupported", "malformed_change"]
    async with serve_webhook_source(source, writer, router) as http:
        for name in names:
            answer = await http.post(PATH, content=body(name), headers=signed(body(name)))
            assert (name, answer.status_code, answer.text) == (name, 200, "ok")
        again = await http.post(
            PATH, content=body("multi_entry"), headers=signed(body("multi_entry"))
        )
        not_json = b"{oops"
        broken = await http.post(PATH, content=not_json, headers=signed(not_json))
        deep = b"[" * 200_000 + b"]" * 200_000
        nested = await http.post(PATH, content=deep, headers=signed(deep))
    assert (again.status_code, broken.status_code, nested.status_code) == (200, 200, 200)
    stored = await count(store)
    assert stored == 1 + 5 + 3 + 1 + 1  # one bad message and one bad change quarantined
    assert source.health.state == "connected"

    router2 = WebhookRouter()  # a restart: Meta re-sends what it may think we missed
    writer2 = BatchingWriter(store)
    async with serve_webhook_source(
        make_source(router2, statuses="record"), writer2, router2
    ) as http:
        for name in names:
            answer = await http.post(PATH, content=body(name), headers=signed(body(name)))
            assert answer.status_code == 200
    await writer2.close()
    await writer.close()
    assert await count(store) == stored
    rows = await store.fetchall(
        "SELECT a.text, m.display_name, m.platform_user_id, ch.name, a.reply_to FROM activity a "
        "JOIN member m ON m.id = a.member_id JOIN channel ch ON ch.id = a.channel_id "
        "WHERE a.source_id = ?",
        (ANA_IMAGE,),
    )
    assert [tuple(r) for r in rows] == [
        (
            "the venue \U0001f4cd",
            "Ana Souza \U0001f33b",
            "+5511987654321",
            "15550783881",
            OUR_MESSAGE,
        )
    ]
    quarantine = await store.quarantine()
    tags = {
        name: delivery_tag(raw)
        for name, raw in [
            ("bad", body("malformed_change")),
            ("multi", body("multi_entry")),
            ("oops", not_json),
            ("deep", deep),
        ]
    }
    assert sorted(q["position"] for q in quarantine) == sorted(
        [
            tags["oops"],
            tags["deep"],
            f"{tags['bad']} entry 0 change 0",
            f"{tags['multi']} entry 1 change 0 message 1",
        ]
    )  # each bad part once, though its delivery came twice


class FailingSink:
    async def write(self, records: Sequence[Record], cursor: Any = None) -> None:
        raise OSError("database is locked")

    async def get_cursor(self, key: str) -> str | None:
        return None


async def test_a_storage_failure_answers_503_so_meta_retries() -> None:
    router = WebhookRouter()
    source = make_source(router)
    raw = body("text_message")
    async with serve_webhook_source(source, FailingSink(), router) as http:
        answer = await http.post(PATH, content=raw, headers=signed(raw))
    assert (answer.status_code, answer.text) == (503, "cannot store now; retry")
    assert source.health.state == "failing" and "database is locked" in (source.health.detail or "")


async def test_check_reads_the_phone_number_with_the_access_token() -> None:
    fake = FakePlatform()

    async def number(request: Request) -> Response:
        if request.headers.get("authorization") != "Bearer EAAG-good":
            return json_response(401, {"error": {"message": "Invalid OAuth access token."}})
        return json_response(
            200, {"display_phone_number": "+1 555-078-3881", "verified_name": "Acme Community"}
        )

    fake.route("/v21.0/106540352242922", number)
    async with serve(fake):
        base = f"{fake.base_url}/v21.0"
        good = make_source(
            WebhookRouter(),
            access_token="EAAG-good",
            phone_number_id="106540352242922",
            base_url=base,
        )
        assert await good.check() == "webhook /whatsapp, number +1 555-078-3881 (Acme Community)"
        bad = make_source(
            WebhookRouter(),
            access_token="EAAG-bad",
            phone_number_id="106540352242922",
            base_url=base,
        )
        with pytest.raises(AuthError, match="refused the token for phone number"):
            await bad.check()
        for source in (good, bad):
            assert source.client is not None
            await source.client.aclose()
    assert await make_source(WebhookRouter()).check() == (
        "webhook /whatsapp (set access_token and phone_number_id to check them)"
    )


async def test_cockpit_collect_serves_the_webhook(tmp_path: Path, store: SQLiteStore) -> None:
    config_path = tmp_path / "cockpit.toml"
    config_path.write_text(
        '[collect]\nport = 0\n\n[[sources]]\ntype = "whatsapp"\nname = "wa"\n'
        f'app_secret = "{SECRET}"\nverify_token = "tok-123"\n',
        encoding="utf-8",
    )
    collector = Runtime(load_config(config_path, registry()), store, registry())
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    for _ in range(300):
        if collector.server is not None and PATH in ROUTER.routes:
            break
        await asyncio.sleep(0.01)
    assert collector.server is not None
    raw = body("text_message")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{collector.server.port}") as http:
        answer = await http.post(PATH, content=raw, headers=signed(raw))
        forged = await http.post(PATH, content=raw, headers=signed(raw, "x"))
    stop.set()
    await task
    assert (answer.status_code, forged.status_code) == (200, 403)
    assert await count(store) == 1 and PATH not in ROUTER.routes


def test_registered_as_the_whatsapp_source_type() -> None:
    assert plugin.sources["whatsapp"].settings is WhatsAppCloudSettings
    assert WhatsAppCloudSettings.webhook is True
