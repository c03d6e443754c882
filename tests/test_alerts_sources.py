"""`kind = "source"`: a failing or silent source of `cockpit collect` raises an alert per source,
from the engine (injected health) to the service (health rows in a real store, real apprise)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from test_alerts_notify import Clock, Inbox

from cockpit.alerts.config import AlertingSettings, Receiver, parse_rules
from cockpit.alerts.engine import Engine
from cockpit.alerts.events import SourceState
from cockpit.alerts.ruletest import run_file
from cockpit.alerts.service import AlertService
from cockpit.collect.health import ConnectorHealth
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_alerts import AlertStore
from cockpit.store.sqlite_collect import save_health
from cockpit.timeutil import from_ms

S = 1000
MIN = 60 * S
ROOT = Path(__file__).resolve().parents[1]


def engine(**rule: Any) -> Engine:
    return Engine(parse_rules([{"name": "src", "kind": "source", **rule}]), clock=lambda: 0)


def tg(state: str, detail: str | None = None, last: int | None = 0, **kw: Any) -> SourceState:
    base: dict[str, Any] = {"name": "tg", "platform": "telegram", "community": "c1"}
    base.update(kw)
    return SourceState(state=state, detail=detail, last_event=last, **base)


def test_failing_source_fires_after_for_with_its_reason_and_resolves_on_recovery() -> None:
    e = engine(**{"for": "2m", "annotations": {"description": "{source}: {reason}"}})
    assert e.watches_sources and not engine_without_sources().watches_sources
    e.observe_sources([tg("connected")], 0)
    assert e.evaluate(0) == []
    e.observe_sources([tg("failing", "401 Unauthorized")], MIN)
    [pending] = e.evaluate(MIN)
    assert pending.state == "pending"
    assert pending.labels == {
        "source": "tg",
        "platform": "telegram",
        "community": "c1",
        "alertname": "src",
        "severity": "warning",
    }
    assert pending.annotations == {
        "reason": "failing: 401 Unauthorized",
        "description": "tg: failing: 401 Unauthorized",
        "summary": "source tg (telegram): failing: 401 Unauthorized",
    }
    assert e.evaluate(3 * MIN - 1) == []
    [firing] = e.evaluate(3 * MIN)
    assert (firing.state, firing.fired_at) == ("firing", 3 * MIN)
    # the reason changes while it fails: the alert says so
    e.observe_sources([tg("failing", "timed out")], 4 * MIN)
    [again] = e.evaluate(4 * MIN)
    assert again.annotations["reason"] == "failing: timed out"
    e.observe_sources([tg("connected", last=5 * MIN)], 5 * MIN)
    [resolved] = e.evaluate(5 * MIN)
    assert (resolved.state, resolved.resolved_at) == ("resolved", 5 * MIN)


def engine_without_sources() -> Engine:
    return Engine(parse_rules([{"name": "r", "kind": "raid"}]), clock=lambda: 0)


def test_silent_lagging_stopped_and_never_heard_from() -> None:
    e = engine(silent_for="1h")
    hour = 60 * MIN
    e.observe_sources([tg("connected", last=0), tg("lagging", last=0, name="forum")], 0)
    assert e.evaluate(hour - 1) == []
    changed = e.evaluate(hour)
    assert sorted(a.labels["source"] for a in changed) == ["forum", "tg"]
    assert {a.annotations["reason"] for a in changed} == {
        "no activity for 60m (connected)",
        "no activity for 60m (lagging)",
    }
    # a stopped source is silent by design: only `states = ["stopped"]` alerts on it
    e.observe_sources([tg("stopped", last=0)], hour + 1)
    assert [a.state for a in e.evaluate(hour + 1)] == ["resolved", "resolved"]
    e2 = engine(silent_for="1h", states=["failing", "stopped"])
    e2.observe_sources([tg("stopped", last=0)], 0)
    assert [a.annotations["reason"] for a in e2.evaluate(0)] == ["stopped"]
    # no activity ever: silent since the engine first saw the source
    e3 = engine(silent_for="1h")
    e3.observe_sources([tg("connected", last=None)], 10 * MIN)
    assert e3.evaluate(hour) == []
    [a] = e3.evaluate(hour + 10 * MIN)
    assert a.annotations["reason"] == "no activity yet for 60m (connected)"


def test_scope_by_source_community_platform_and_a_source_that_disappears() -> None:
    e = engine(sources=["tg", "forum"], communities=["c1"], platforms=["telegram", "discourse"])
    e.observe_sources(
        [
            tg("failing"),
            tg("failing", name="forum", platform="discourse"),
            tg("failing", name="other"),  # not listed
            tg("failing", name="forum", community="c2"),  # the listed name elsewhere
            tg("failing", name="tg", platform="slack", community="c3"),
        ],
        0,
    )
    assert sorted(a.labels["source"] for a in e.evaluate(0)) == ["forum", "tg"]
    e.observe_sources([tg("failing")], MIN)  # the forum is no longer configured
    [gone] = e.evaluate(MIN)
    assert (gone.labels["source"], gone.state) == ("forum", "resolved")


def test_rule_validation() -> None:
    for bad, message in (
        ({"silent_for": "0s"}, "silent_for must be a positive duration"),
        ({"states": ["broken"]}, "Input should be 'failing', 'lagging' or 'stopped'"),
        ({"sources": "tg"}, "Input should be a valid list"),
    ):
        with pytest.raises(ValidationError, match=re.escape(message)):
            parse_rules([{"name": "s", "kind": "source", **bad}])


def test_the_commented_example_in_cockpit_toml_is_a_valid_rule() -> None:
    text = (ROOT / "cockpit.toml").read_text(encoding="utf-8")
    block = re.search(r'^# \[\[rules\]\]\n# name = "source-down"\n(?:# .*\n)+', text, re.M)
    assert block is not None
    lines = [line.removeprefix("# ").split("  #")[0] for line in block.group(0).splitlines()]
    [rule] = parse_rules(tomllib.loads("\n".join(lines))["rules"])
    assert (rule.kind, rule.silent_for is not None, rule.severity) == ("source", True, "critical")


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    yield box
    box.server.shutdown()


async def test_service_reads_the_collectors_health_and_pages_once(
    store: SQLiteStore, inbox: Inbox
) -> None:
    clock = Clock()
    rules = parse_rules([{"name": "source-down", "kind": "source", "for": "1m"}])
    settings = AlertingSettings(group_wait="0s", group_interval="1m", repeat_interval="1h")
    receiver = Receiver(name="oncall", urls=[inbox.url])
    service = AlertService(store, rules, [receiver], settings, clock=clock)
    health = ConnectorHealth("tg-main", type="telegram", community="c1")
    health.ok()
    await save_health(store, [health], from_ms(clock.now))
    await service.start(warmup=False)
    for t in service._tasks:  # the test drives the ticks itself, deterministically
        t.cancel()

    async def tick() -> None:
        await service._sync_sources()
        await service._evaluate()
        await service.send_due()

    await tick()
    health.failing("Unauthorized: bot token revoked")
    await save_health(store, [health], from_ms(clock.now))
    await tick()
    assert inbox.received == []  # pending for a minute
    clock.now += 61 * S
    await tick()
    clock.now += 5 * S
    await tick()
    assert [r["title"] for r in inbox.received] == ["[FIRING:1] source-down (c1)"]
    assert "Unauthorized: bot token revoked" in inbox.received[0]["message"]
    [row] = await AlertStore(store).alerts()
    assert row.labels["source"] == "tg-main" and row.labels["platform"] == "telegram"
    health.ok()
    health.received(1, datetime.fromtimestamp(clock.now / 1000, UTC))
    await save_health(store, [health], from_ms(clock.now))
    clock.now += 1 * S
    await tick()
    [row] = await AlertStore(store).alerts()
    assert row.state == "resolved"
    clock.now += 60 * S  # the group's next notification, after group_interval
    await tick()
    assert [r["title"] for r in inbox.received] == [
        "[FIRING:1] source-down (c1)",
        "[RESOLVED] source-down (c1)",
    ]
    await service.close()


def test_rule_tests_state_health_at_offsets(tmp_path: Path) -> None:
    shipped = ROOT / "examples" / "rules" / "source.test.toml"
    assert run_file(shipped).ok and run_file(shipped).passed == 5
    broken = tmp_path / "source.test.toml"
    broken.write_text(shipped.read_text().replace('for = "2m"', 'for = "10m"'))
    result = run_file(broken)
    assert result.failures == [
        "at 3m:\n"
        "  - expected source-down firing "
        "{community='test', platform='telegram', source='tg'}\n"
        "  + got      source-down pending "
        "{community='test', platform='telegram', source='tg'}"
    ]
    bad = tmp_path / "bad.test.toml"
    bad.write_text(shipped.read_text().replace('state = "failing"', 'state = "down"'))
    error = run_file(bad).error
    assert error is not None and error.startswith("health.2.state: Input should be 'starting'")
