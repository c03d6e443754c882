"""#18: a poison record in a webhook delivery is quarantined and answered 200, never 500/503
for ever, and a good delivery that shares its write batch is stored.

Real sources behind one real uvicorn server on 127.0.0.1, the real writer, a real SQLite store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from cockpit.collect.health import ConnectorHealth
from cockpit.collect.webhooks import WebhookRouter, WebhookServer
from cockpit.pipeline import BatchingWriter
from cockpit.plugin_api import SourceContext
from cockpit.plugins.slack.events import SlackEventsSettings, SlackEventsSource
from cockpit.plugins.slack.events import sign as slack_sign
from cockpit.plugins.telegram.bot import TelegramBotSettings, TelegramBotSource
from cockpit.plugins.whatsapp.cloud import WhatsAppCloudSettings, WhatsAppCloudSource
from cockpit.plugins.whatsapp.cloud import sign as wa_sign
from cockpit.store.sqlite import SQLiteStore

FIXTURES = Path(__file__).parent / "fixtures"
NOW = 1_709_370_000


@contextlib.asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, SQLiteStore]]:
    store = await SQLiteStore.open(tmp_path / "s.db")
    writer = BatchingWriter(store)
    router = WebhookRouter()
    sources: list[Any] = [
        SlackEventsSource(
            SlackEventsSettings(signing_secret="ss", path="/slack"),
            SourceContext("s", "c", tmp_path),
            router=router,
            health=ConnectorHealth("s"),
            clock=lambda: float(NOW),
        ),
        TelegramBotSource(
            TelegramBotSettings(token="T", mode="webhook", secret_token="tt", path="/tg"),
            SourceContext("t", "c", tmp_path),
            router=router,
            health=ConnectorHealth("t"),
        ),
        WhatsAppCloudSource(
            WhatsAppCloudSettings(app_secret="ww", verify_token="v", path="/wa"),
            SourceContext("w", "c", tmp_path),
            router=router,
            health=ConnectorHealth("w"),
        ),
    ]
    tasks = [asyncio.create_task(s.run(writer)) for s in sources]
    server = WebhookServer(router, "127.0.0.1", 0)
    await server.start()
    while len(router.routes) < 3:
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            yield http, store
    finally:
        await server.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await writer.close()
        await store.close()


def slack_headers(raw: bytes) -> dict[str, str]:
    return {
        "X-Slack-Request-Timestamp": str(NOW),
        "X-Slack-Signature": slack_sign(b"ss", str(NOW), raw),
        "Content-Type": "application/json",
    }


def slack_event(text: str, event_id: str, ts: str) -> bytes:
    raw = (FIXTURES / "slack_events" / "message.json").read_text("utf-8")
    body = json.loads(raw)
    body["event_id"] = event_id
    body["event"]["ts"] = body["event"]["event_ts"] = ts
    body["event"]["text"] = "@@TEXT@@"
    # a lone surrogate can only travel as a JSON escape: put it in as one
    return json.dumps(body).replace('"@@TEXT@@"', text).encode()


def tg(update: dict[str, Any]) -> bytes:
    return json.dumps(update).encode()


def tg_message(uid: int, mid: int, text_json: str) -> bytes:
    message = {
        "message_id": mid,
        "from": {"id": 42, "is_bot": False, "first_name": "Alice"},
        "chat": {"id": -100123, "title": "Builders", "type": "supergroup"},
        "date": 1_700_000_000 + mid,
        "text": "@@T@@",
    }
    return json.dumps({"update_id": uid, "message": message}).replace('"@@T@@"', text_json).encode()


async def counts(store: SQLiteStore) -> tuple[int, int]:
    stats = await store.stats()
    return stats.activities, stats.quarantined


async def test_poison_deliveries_are_quarantined_and_good_ones_stored(tmp_path: Path) -> None:
    async with running(tmp_path) as (http, store):
        poison = slack_event('"lone \\ud800 surrogate"', "EvPOISON", "1709283900.000300")
        good_slack = slack_event('"fine"', "EvGOOD", "1709283901.000400")
        wa = (FIXTURES / "whatsapp_cloud" / "text_message.json").read_bytes()
        wa_headers = {"X-Hub-Signature-256": wa_sign(b"ww", wa), "Content-Type": "application/json"}
        # the poison and two good deliveries at once: they share the writer's batch
        answers = await asyncio.gather(
            http.post("/slack", content=poison, headers=slack_headers(poison)),
            http.post("/wa", content=wa, headers=wa_headers),
            http.post("/slack", content=good_slack, headers=slack_headers(good_slack)),
        )
        assert [a.status_code for a in answers] == [200, 200, 200]
        # Slack's retry of the poison: still 200, never a loop of 503s
        again = await http.post("/slack", content=poison, headers=slack_headers(poison))
        assert again.status_code == 200

        tg_headers = {"X-Telegram-Bot-Api-Secret-Token": "tt"}
        deep = b'{"update_id": 5, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        tg_answers = [
            await http.post("/tg", content=deep, headers=tg_headers),
            await http.post("/tg", content=tg_message(6, 6, '"bad \\udfff"'), headers=tg_headers),
            await http.post("/tg", content=b"\xff\xfe not json", headers=tg_headers),
            await http.post("/tg", content=tg_message(7, 7, '"hello"'), headers=tg_headers),
        ]
        assert [a.status_code for a in tg_answers] == [200, 200, 200, 200]
        activities, quarantined = await counts(store)
        assert activities == 3  # slack good, whatsapp, telegram hello
        assert quarantined >= 3
        rows = await store.quarantine(limit=50)
        positions = {r["position"] for r in rows}
        assert {"slack:C01GENERAL:1709283900.000300", "telegram:-100123:6"} <= positions
        assert any(r["platform"] == "telegram" and "not an object" in r["reason"] for r in rows)
        assert all(len(r["raw"]) <= 4096 for r in rows)
