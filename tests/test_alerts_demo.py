"""The shipped default rules against the demo's simulated history: its raids and spam waves fire."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cockpit.alerts.config import SECTIONS, parse_rules
from cockpit.alerts.engine import Engine
from cockpit.alerts.events import Event
from cockpit.plugins.demo import Engine as Demo

ROOT = Path(__file__).resolve().parents[1]


def test_demo_raids_and_spam_waves_fire_with_the_default_rules() -> None:
    shipped = tomllib.loads((ROOT / "cockpit.toml").read_text(encoding="utf-8"))
    rules = parse_rules(shipped["rules"])
    settings = SECTIONS["alerting"].validate_python(shipped["alerting"])
    now = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
    demo = Demo(seed=3, members=300, communities=["Demo"], now=now, start=now - timedelta(days=3))
    planned = [kind for _, _, kind, _ in demo._agenda]
    clock = [0]
    engine = Engine(rules, settings, clock=lambda: clock[0])
    fired: dict[str, list[int]] = {}
    last_second = 0
    for n, activity in enumerate(demo.advance(now)):
        ev = Event.from_activity(activity, n + 1)
        engine.observe(ev)
        if ev.ts // 1000 != last_second:
            last_second = ev.ts // 1000
            for alert in engine.evaluate(ev.ts):
                if alert.state == "firing" and alert.fired_at == ev.ts:
                    fired.setdefault(alert.rule, []).append(ev.ts)
    raids, waves = planned.count("raid"), planned.count("spam")
    assert raids >= 1 and waves >= 1
    # each raid is one alert (the cooldown keeps it open while the joins keep coming)
    assert len(fired["raid"]) == raids
    # every spam wave trips the flood limits and posts the same text on several platforms or
    # channels; its scam words are caught too
    assert len(fired["flood"]) >= waves
    assert len(fired["scam-words"]) >= 1
