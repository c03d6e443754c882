"""`cockpit alerts`, `cockpit silences`, `cockpit rules check | test`, and the config sections."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from cockpit.alerts.config import RULE_KINDS, parse_rules
from cockpit.alerts.engine import Engine
from cockpit.alerts.events import Event
from cockpit.cli import main
from cockpit.model import Kind
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_alerts import AlertStore
from cockpit.timeutil import to_ms, utcnow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples" / "rules").glob("*.test.toml"))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store holding one firing raid alert and one pending keyword alert."""
    monkeypatch.chdir(tmp_path)  # no ./cockpit.toml: defaults
    monkeypatch.delenv("COCKPIT_DB", raising=False)
    path = tmp_path / "s.db"
    asyncio.run(_fill(path))
    return path


async def _fill(path: Path) -> None:
    store = await SQLiteStore.open(path)
    rules = parse_rules(
        [
            {"name": "raid", "kind": "raid", "joins": 2, "severity": "critical"},
            {"name": "words", "kind": "keyword", "keywords": ["refund"], "for": "1h"},
        ]
    )
    now = to_ms(utcnow())
    engine = Engine(rules, clock=lambda: now)
    for i in range(2):
        engine.observe(
            Event(0, "c1", "discord", f"j{i}", Kind.JOIN, now, "g", "general", f"u{i}", "x")
        )
    engine.observe(
        Event(
            0,
            "c1",
            "discord",
            "m1",
            Kind.MESSAGE,
            now,
            "g",
            "general",
            "u9",
            "bo\x1b[31m",
            "refund?",
        )
    )
    await AlertStore(store).save(engine.evaluate(now), now)
    await store.close()


def out_json(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, list)
    return data


def test_alerts_list_ack_resolve(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "alerts", "--json"]) == 0
    rows = out_json(capsys)
    assert [(r["rule"], r["state"], r["severity"]) for r in rows] == [
        ("raid", "firing", "critical"),
        ("words", "pending", "warning"),
    ]
    raid = rows[0]
    assert raid["labels"] == {"community": "c1", "alertname": "raid", "severity": "critical"}
    assert str(raid["fired_at"]).endswith("Z")
    assert main(["--db", str(db), "alerts", "--state", "pending", "--json"]) == 0
    assert [r["rule"] for r in out_json(capsys)] == ["words"]
    assert main(["--db", str(db), "alerts", "ack", str(raid["id"]), "--json"]) == 0
    [acked] = out_json(capsys)
    assert acked["acked_at"] is not None and acked["state"] == "firing"
    assert main(["--db", str(db), "alerts", "resolve", f"#{raid['id']}"]) == 0
    line = capsys.readouterr().out
    assert "resolved" in line and "\x1b" not in line
    assert main(["--db", str(db), "alerts", "resolve", str(raid["id"])]) == 1
    assert "already resolved" in capsys.readouterr().err
    assert main(["--db", str(db), "alerts", "ack", "999"]) == 1
    assert capsys.readouterr().err.strip() == "cockpit: alert 999: no such alert"
    assert main(["--db", str(db), "alerts"]) == 0
    text = capsys.readouterr().out
    assert "\x1b" not in text and "words" in text


def test_silences_add_list_expire(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--db", str(db), "silences", "add", "alertname=raid", "community=~c.*"]
    assert main([*args, "--for", "2h", "--comment", "mods on it", "--json"]) == 0
    [s] = out_json(capsys)
    assert s["matchers"] == ["alertname=raid", "community=~c.*"] and s["state"] == "active"
    assert main(["--db", str(db), "alerts", "--json"]) == 0
    silenced = {r["rule"]: r["silenced_by"] for r in out_json(capsys)}
    assert silenced == {"raid": [s["id"]], "words": []}
    assert main(["--db", str(db), "silences", "expire", str(s["id"])]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "silences", "--json"]) == 0
    assert [x["state"] for x in out_json(capsys)] == ["expired"]
    assert main(["--db", str(db), "silences", "add", "bad matcher", "--comment", "x"]) == 1
    assert "expected label=value" in capsys.readouterr().err
    assert main(["--db", str(db), "silences", "add", "a=b", "--for", "soon", "--comment", "x"]) == 1


def test_shipped_rule_examples_pass_and_cover_every_kind(
    capsys: pytest.CaptureFixture[str],
) -> None:
    kinds = set(RULE_KINDS)
    assert "source" in kinds
    assert {p.name.removesuffix(".test.toml") for p in EXAMPLES} == kinds
    assert main(["rules", "test", *map(str, EXAMPLES)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(kinds) and all(": ok (" in line for line in lines)


def test_a_broken_expectation_fails_with_a_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "raid.test.toml"
    shutil.copy(ROOT / "examples" / "rules" / "raid.test.toml", broken)
    text = broken.read_text().replace("joins = 8", "joins = 12")
    broken.write_text(text)
    assert main(["rules", "test", str(broken)]) == 1
    out = capsys.readouterr().out
    assert f"{broken}: FAILED (2 of 4 expectations)" in out
    assert "at 40s:\n  - expected raid firing {community='test'}" in out
    bad = tmp_path / "bad.test.toml"
    bad.write_text('[[rules]]\nname = "x"\nkind = "nope"\n[[expect]]\nat = "1s"\n')
    assert main(["rules", "test", str(bad)]) == 1
    assert "ERROR rules.0" in capsys.readouterr().out


def test_rules_check_and_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(ROOT / "cockpit.toml"), "rules", "check"]) == 0
    assert "9 rules, 0 receivers ok" in capsys.readouterr().out
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[rules]]\nname = "a"\nkind = "raid"\njoins = 0\n')
    assert main(["--config", str(cfg), "rules", "check"]) == 1
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"cockpit: {cfg}:4: rules[0].joins: Input should be greater than or equal to 1"
    )
    cfg.write_text('[[rules]]\nname = "a"\nkind = "keyword"\nkeywords = ["x"]\nregex = ["("]\n')
    assert main(["--config", str(cfg), "rules", "check"]) == 1
    assert "regex '('" in capsys.readouterr().err
    cfg.write_text(
        '[[receivers]]\nname = "a"\nurls = ["json://x"]\nescalate_to = "b"\n'
        '[[rules]]\nname = "r"\nkind = "raid"\n[[rules]]\nname = "r"\nkind = "flood"\n'
    )
    assert main(["--config", str(cfg), "rules", "check"]) == 1
    assert "escalate_to 'b' is not a receiver" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alertname=raid", "--for", "800d", "--comment", "x"], "at most 366 days"),
        (["alertname=raid", "--for", "1h", "--comment", "   "], "needs a comment"),
    ],
)
def test_silence_refusals_are_one_line_and_store_nothing(
    db: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """The same checks as the pane's silence dialog (cockpit.alerts.operations)."""
    assert main(["--db", str(db), "silences", "add", *args]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert main(["--db", str(db), "silences", "--json"]) == 0
    assert out_json(capsys) == []
