"""`cockpit rules backtest | enable | disable | set | changes`: replay the stored history
through a rule as it is and as edited; tune rules in cockpit.toml with its comments kept."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from cockpit.alerts.backtest import backtest
from cockpit.alerts.config import AlertingSettings, parse_rules
from cockpit.cli import main
from cockpit.model import Kind
from cockpit.store.sqlite import SQLiteStore
from cockpit.timeutil import to_ms
from factories import T0, act

CONFIG = """\
# the team's rules: keep this comment
[cockpit]
community = "c1"
timezone = "UTC"

[[rules]]
name = "raid"          # join bursts
kind = "raid"
joins = 5
window = "60s"
severity = "critical"

[[rules]]
name = "words"
kind = "keyword"
keywords = ["airdrop"]
"""


def _history() -> list:  # type: ignore[type-arg]
    joins = [
        act(
            100 + i,
            kind=Kind.JOIN,
            text="",
            author=f"raider{i}",
            author_id=f"r{i}",
            ts=T0 + timedelta(hours=1, seconds=3 * i),
        )
        for i in range(8)
    ]
    later = [
        act(
            200 + i,
            kind=Kind.JOIN,
            text="",
            author=f"guest{i}",
            author_id=f"g{i}",
            ts=T0 + timedelta(hours=5, minutes=10 * i),
        )
        for i in range(3)
    ]
    spam = [
        act(
            300 + i,
            text="free airdrop here",
            author=f"bot{i % 2}",
            author_id=f"b{i % 2}",
            ts=T0 + timedelta(hours=3, seconds=i),
        )
        for i in range(4)
    ]
    chatter = [act(i, ts=T0 + timedelta(minutes=i)) for i in range(60)]
    return joins + later + spam + chatter


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.delenv("COCKPIT_DB", raising=False)
    config = tmp_path / "cockpit.toml"
    config.write_text(CONFIG, encoding="utf-8")
    db = tmp_path / "s.db"

    async def fill() -> None:
        store = await SQLiteStore.open(db)
        try:
            await store.write(_history())
        finally:
            await store.close()

    asyncio.run(fill())
    return config, db


def cli(setup: tuple[Path, Path], *args: str) -> list[str]:
    config, db = setup
    return ["--config", str(config), "--db", str(db), *args]


SINCE = ["--since", (T0 - timedelta(hours=1)).isoformat()]


async def test_replay_counts_fires_members_and_examples(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "s.db")
    try:
        await store.write(_history())
        rules = parse_rules(
            [
                {"name": "raid", "kind": "raid", "joins": 5, "window": "60s"},
                {"name": "words", "kind": "keyword", "keywords": ["airdrop"]},
                {"name": "src", "kind": "source"},
            ]
        )
        start, end = to_ms(T0 - timedelta(hours=1)), to_ms(T0 + timedelta(days=1))
        result = await backtest(store.alerts, rules, AlertingSettings(), start, end)
    finally:
        await store.close()
    raid, words, src = (result.reports[n] for n in ("raid", "words", "src"))
    assert result.activities == 75
    assert raid.fires == 1 and len(raid.members) >= 5  # the burst, not the three guests
    assert (
        to_ms(T0 + timedelta(hours=1)) <= raid.times[0] <= to_ms(T0 + timedelta(hours=1, minutes=2))
    )
    assert words.fires >= 1 and {m[1] for m in words.members} <= {"b0", "b1"}
    assert any("airdrop" in e for e in words.examples)
    assert not src.replayable and src.fires == 0


def test_backtest_current_against_edited_side_by_side(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(cli(setup, "rules", "backtest", "raid", *SINCE, "--set", "joins=20", "--json")) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["rule"] == "raid"
    assert row["current"]["fires"] == 1 and row["current"]["members"] >= 5
    assert row["edited"]["fires"] == 0
    assert main(cli(setup, "rules", "backtest", "raid", *SINCE)) == 0
    out = capsys.readouterr().out
    assert "replayed 75 activities" in out and "(nothing sent)" in out
    assert "  current: 1 fire at " in out


def test_backtest_of_a_file_compares_with_the_configured_rule(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proposal = tmp_path / "proposal.toml"
    proposal.write_text('[[rules]]\nname = "raid"\nkind = "raid"\njoins = 2\nwindow = "1h"\n')
    assert main(cli(setup, "rules", "backtest", str(proposal), *SINCE, "--json")) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["current"]["fires"] == 1
    assert row["edited"]["fires"] >= 1 and row["edited"]["members"] >= row["current"]["members"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "nope"], "neither a configured rule"),
        (["backtest", "raid", "--since", "yesterdayish"], "--since 'yesterdayish'"),
        (["backtest", "raid", "--set", "joins=-3"], "rule raid"),
        (["set", "raid", "joins"], "expected KEY=VALUE"),
        (["set", "raid", "kind=flood"], "cannot be set"),
        (["set", "ghost", "joins=3"], "no rule named 'ghost'"),
        (["set", "raid", "joins=many"], "not saved"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(cli(setup, "rules", *args)) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert setup[0].read_text(encoding="utf-8") == CONFIG


def test_set_enable_disable_keep_comments_and_are_recorded(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = setup
    assert main(cli(setup, "rules", "set", "raid", "joins=15", "window=2m")) == 0
    text = config.read_text(encoding="utf-8")
    assert "# the team's rules: keep this comment" in text
    assert 'name = "raid"          # join bursts' in text
    assert "joins = 15" in text and 'window = "2m"' in text
    assert main(cli(setup, "rules", "disable", "words")) == 0
    assert "enabled = false" in config.read_text(encoding="utf-8")
    assert main(cli(setup, "rules", "disable", "words")) == 0
    assert "words: unchanged" in capsys.readouterr().out
    assert main(cli(setup, "rules", "check")) == 0
    assert "(disabled)" in capsys.readouterr().out
    assert main(cli(setup, "rules", "changes", "--json")) == 0
    changes = json.loads(capsys.readouterr().out)
    assert [c["change"] for c in changes] == ["disabled", "window: '60s' -> '2m'", "joins: 5 -> 15"]
    assert all(c["by"] for c in changes)
    assert main(cli(setup, "rules", "enable", "words")) == 0
    assert "enabled = true" in config.read_text(encoding="utf-8")


async def test_a_running_collector_picks_up_a_rule_change_without_a_restart(
    setup: tuple[Path, Path],
) -> None:
    """`rules set/disable` write cockpit.toml; the runtime's watcher swaps the rules in,
    and the alerts of a rule that was disabled resolve."""
    from cockpit.alerts.rule_edit import Edit, apply_edit
    from cockpit.collect.health import HealthBoard
    from cockpit.collect.webhooks import WebhookRouter
    from cockpit.config import load_config
    from cockpit.registry import registry as load_registry
    from cockpit.runtime import Runtime

    config_path, db = setup
    registry = load_registry()
    store = await SQLiteStore.open(db)
    runtime = Runtime(
        load_config(config_path, registry),
        store,
        registry,
        router=WebhookRouter(),
        board=HealthBoard(),
    )
    runtime.features.watch_every = 0.05
    await runtime.start()
    try:
        alerts = runtime.features.alerts
        assert alerts is not None
        assert {r.name for r in alerts.engine.rules} == {"raid", "words"}
        apply_edit(config_path, Edit("raid", values=(("joins", 50),)), registry)
        for _ in range(200):
            if [r for r in alerts.engine.rules if r.name == "raid" and r.joins == 50]:
                break
            await asyncio.sleep(0.05)
        assert [r.joins for r in alerts.engine.rules if r.name == "raid"] == [50]  # type: ignore[union-attr]
        apply_edit(config_path, Edit("words", enabled=False), registry)
        for _ in range(200):
            if {r.name for r in alerts.engine.rules} == {"raid"}:
                break
            await asyncio.sleep(0.05)
        assert {r.name for r in alerts.engine.rules} == {"raid"}
        assert runtime.features.rules_loaded == 2
        config_path.write_text(
            CONFIG + "\n[[rules]]\nname = 'x'\nkind = 'nope'\n", encoding="utf-8"
        )
        await asyncio.sleep(0.3)  # a broken file is ignored: the rules running stay
        assert {r.name for r in alerts.engine.rules} == {"raid"}
    finally:
        await runtime.stop()
        await store.close()
