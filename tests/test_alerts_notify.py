"""Alerts persisted and notified: grouping, dedup, silences, ack, quiet hours, escalation, and
REAL apprise delivery to an HTTP server on 127.0.0.1 (json://), including one that fails then recovers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cockpit.alerts.config import AlertingSettings, Receiver, parse_rules
from cockpit.alerts.records import Matcher
from cockpit.alerts.sender import AppriseSender
from cockpit.alerts.service import AlertService
from cockpit.model import Kind
from cockpit.pipeline import BatchingWriter
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_alerts import AlertStore
from cockpit.timeutil import to_ms
from factories import act

S = 1000
T0 = to_ms(datetime(2024, 5, 1, 12, 0, tzinfo=UTC))


class Inbox:
    """A local HTTP endpoint apprise's json:// posts to; it can fail the first `fail` posts."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail = 0
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if inbox.fail > 0:
                    inbox.fail -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                inbox.received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def titles(self) -> list[str]:
        return [r["title"] for r in self.received]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    yield box
    box.server.shutdown()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


RULES = parse_rules(
    [
        {"name": "scam", "kind": "keyword", "keywords": ["free nitro"], "severity": "critical"},
        {"name": "raid", "kind": "raid", "joins": 3},
    ]
)


def settings(**kw: Any) -> AlertingSettings:
    base: dict[str, Any] = {"group_wait": "0s", "group_interval": "1m", "repeat_interval": "1h"}
    base.update(kw)
    return AlertingSettings(**base)


async def scam(writer: BatchingWriter, i: int, clock: Clock, **kw: Any) -> None:
    """A scam post by one spammer (an alert is about one term by one author in one place)."""
    kw = {"author": "spammer", "author_id": "666", **kw}
    await writer.write_result(
        [act(i, text="get FREE NITRO here", ts=datetime.fromtimestamp(clock.now / 1000, UTC), **kw)]
    )


async def settle(service: AlertService) -> None:
    """Run what the service's tasks would: process queued commits, evaluate, send."""
    while not service._queue.empty():
        item = service._queue.get_nowait()
        assert isinstance(item, tuple)
        await service.process(*item)
    await service._evaluate()
    await service.send_due()


async def test_real_delivery_grouped_deduplicated_ack_and_resolve(
    store: SQLiteStore, inbox: Inbox
) -> None:
    clock = Clock()
    receiver = Receiver(name="oncall", urls=[inbox.url])
    service = AlertService(store, RULES, [receiver], settings(repeat_interval="3m"), clock=clock)
    await service.start(warmup=False)
    for t in service._tasks:  # the test drives the loop itself, deterministically
        t.cancel()
    writer = BatchingWriter(store)
    writer.listeners.append(service.on_commit)
    await scam(writer, 1, clock)
    await settle(service)
    assert inbox.titles() == ["[FIRING:1] scam (c1)"]
    assert "[critical]" in inbox.received[0]["message"]
    assert "'free nitro' by spammer in discord #general" in inbox.received[0]["message"]
    # more evidence for the same alert: no second page
    clock.now += 5 * S
    await scam(writer, 2, clock)
    await settle(service)
    assert len(inbox.received) == 1
    alerts = AlertStore(store)
    [row] = await alerts.alerts()
    assert (row.state, row.rule, row.activity_ids) == ("firing", "scam", (1, 2))
    # a second alert in the same group (alertname, community): critical, so it does not wait
    # for group_interval; the page lists both
    clock.now += 1 * S
    await scam(writer, 3, clock, channel="help")
    await settle(service)
    assert inbox.titles()[-1] == "[FIRING:2] scam (c1)"
    clock.now += 60 * S
    await settle(service)
    assert len(inbox.received) == 2
    # ack stops repeats
    open_rows = await alerts.alerts(states=["firing"])
    for r in open_rows:
        await alerts.ack(r.id, "mira", clock.now)
    for i in range(4):  # past repeat_interval (3 min), evidence keeps the alerts open
        clock.now += 60 * S
        await scam(writer, 10 + 2 * i, clock)
        await scam(writer, 11 + 2 * i, clock, channel="help")
        await settle(service)
    assert len(inbox.received) == 2
    # manual resolve: a resolved notification, and the alert is not reopened by old evidence
    for r in open_rows:
        await alerts.resolve(r.id, "mira", clock.now)
    clock.now += 61 * S
    await service._sync_operators()
    await settle(service)
    assert inbox.titles()[-1] == "[RESOLVED] scam (c1)"
    assert [r.state for r in await alerts.alerts()] == ["resolved", "resolved"]
    await writer.close()
    await service.close()


async def test_failing_receiver_retries_with_backoff_then_recovers(
    store: SQLiteStore, inbox: Inbox
) -> None:
    clock = Clock()
    inbox.fail = 2
    receiver = Receiver(name="oncall", urls=[inbox.url])
    service = AlertService(
        store,
        RULES,
        [receiver],
        settings(retry_backoff="10s"),
        clock=clock,
        send=AppriseSender([receiver], timeout=5),
    )
    alerts = service.store
    writer = BatchingWriter(store)
    writer.listeners.append(service.on_commit)
    await scam(writer, 1, clock)
    await settle(service)
    [item] = await alerts.outbox()
    assert (item.state, item.attempts) == ("queued", 1)
    assert item.last_error and "500" in item.last_error
    failed, retrying, last = await alerts.outbox_problems()
    assert (failed, retrying) == (0, 1) and last == item.last_error
    clock.now += 9 * S
    assert await service.send_due() == 0  # not due yet: first backoff is 10 s
    clock.now += 1 * S
    assert await service.send_due() == 0  # second failure; next wait is 20 s
    [item] = await alerts.outbox()
    assert (item.state, item.attempts, item.next_attempt) == ("queued", 2, clock.now + 20 * S)
    clock.now += 20 * S
    assert await service.send_due() == 1
    [item] = await alerts.outbox()
    assert (item.state, item.last_error) == ("sent", None)
    assert inbox.titles() == ["[FIRING:1] scam (c1)"]
    await writer.close()


async def test_outbox_survives_restart_and_is_sent_once(tmp_path: Path, inbox: Inbox) -> None:
    clock = Clock()
    receiver = Receiver(name="oncall", urls=[inbox.url])
    path = tmp_path / "s.db"
    store = await SQLiteStore.open(path)
    broken = AlertService(store, RULES, [receiver], settings(), clock=clock, send=lambda *a: "down")
    writer = BatchingWriter(store)
    writer.listeners.append(broken.on_commit)
    for i in range(3):
        await writer.write_result(
            [act(i, kind=Kind.JOIN, text="", ts=datetime.fromtimestamp(T0 / 1000, UTC))]
        )
    await settle(broken)
    await writer.close()
    await store.close()
    # restart: the alert is restored from the store, the queued notification goes out once
    store = await SQLiteStore.open(path)
    clock.now += 60 * S
    service = AlertService(store, RULES, [receiver], settings(), clock=clock)
    await service.start()  # warms the windows up from the store: the raid is still on
    for t in service._tasks:
        t.cancel()
    assert [a.state for a in service.engine.alerts.values()] == ["firing"]
    await settle(service)
    await settle(service)
    assert inbox.titles() == ["[FIRING:1] raid (c1)"]
    await service.close()
    await store.close()


async def test_silence_quiet_hours_and_escalation(store: SQLiteStore, inbox: Inbox) -> None:
    clock = Clock()  # 12:00 UTC = 21:00 in Tokyo
    second = Inbox()
    night = Receiver.model_validate(
        {
            "name": "tokyo",
            "urls": [inbox.url],
            "quiet_hours": {"start": "20:00", "end": "08:00", "timezone": "Asia/Tokyo"},
            "escalate_to": "lead",
            "escalate_after": "10m",
        }
    )
    lead = Receiver(name="lead", urls=[second.url], tags=["lead"])
    rules = parse_rules(
        [
            {"name": "warn", "kind": "keyword", "keywords": ["refund"], "hold": "1d"},
            {
                "name": "crit",
                "kind": "keyword",
                "keywords": ["hacked"],
                "severity": "critical",
                "hold": "1d",
            },
        ]
    )
    service = AlertService(store, rules, [night, lead], settings(), clock=clock)
    alerts = service.store
    silence = await alerts.add_silence(
        [Matcher.parse("channel=~gen.*")], T0, T0 + 24 * 3600 * S, "known", "mira", T0
    )
    writer = BatchingWriter(store)
    writer.listeners.append(service.on_commit)
    now_dt = datetime.fromtimestamp(T0 / 1000, UTC)
    await writer.write_result([act(1, text="refund please", ts=now_dt, channel="help")])
    await writer.write_result([act(2, text="I got hacked", ts=now_dt, channel="help")])
    await writer.write_result([act(3, text="hacked again", ts=now_dt, channel="general")])
    await settle(service)
    # quiet hours in Tokyo: only the critical alert breaks through; #general is silenced
    assert inbox.titles() == ["[FIRING:1] crit (c1)"]
    [row] = [r for r in await alerts.alerts(now=clock.now) if r.labels["channel"] == "general"]
    assert row.silenced_by == (silence.id,)
    # escalation: unacked for 10 minutes goes to the lead, once
    clock.now += 10 * 60 * S
    await settle(service)
    await settle(service)
    assert [t.split("]")[0] + "]" for t in second.titles()] == ["[ESCALATED from tokyo]"]
    assert "#2 crit" in second.received[0]["message"] or "crit" in second.received[0]["message"]
    # 08:00 Tokyo: the held warning goes out (and the unacked critical one repeats)
    clock.now = T0 + 11 * 3600 * S
    await settle(service)
    assert inbox.titles()[-2:] == ["[FIRING:1] crit (c1)", "[FIRING:1] warn (c1)"]
    # expiring the silence lets the #general alert notify at the group's next interval
    await alerts.expire_silence(silence.id, clock.now)
    clock.now += 60 * S
    await settle(service)
    assert inbox.titles()[-1] == "[FIRING:2] crit (c1)", inbox.titles()
    second.server.shutdown()
    await writer.close()
