"""`cockpit mod` and `cockpit cases` as an operator types them: against a real `cockpit
collect` running the demo (which can act on every simulated platform), and without one (the
request is withdrawn, never run later). Refusals are one line, naming what and where."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.alerts.engine import Alert
from cockpit.cli import main
from cockpit.store.sqlite import SQLiteStore
from factories import act

pytestmark = pytest.mark.timeout(120)


def write_config(tmp: Path, extra: str = "", demo: bool = True) -> Path:
    cfg = tmp / "cockpit.toml"
    source = (
        '[[sources]]\ntype = "demo"\nname = "demo"\nhistory_days = 0.05\nrate = 5\n'
        "members = 60\ncalendar = false\n"
        if demo
        else ""
    )
    cfg.write_text(
        f'[cockpit]\ncommunity = "c1"\nstore = "store.db"\n\n[collect]\nport = 0\n\n'
        f"{source}\n{extra}",
        encoding="utf-8",
    )
    return cfg


def cli(cfg: Path, *args: str) -> list[str]:
    return ["--config", str(cfg), *args]


async def seed(tmp: Path) -> None:
    s = await SQLiteStore.open(tmp / "store.db")
    await s.write([act(i, community="c1", author_handle=f"user{i % 7}") for i in range(1, 15)])
    # a member on a platform that cannot ban (WhatsApp's Cloud API only sends)
    await s.write([act(99, community="c1", platform="whatsapp", author="wa1", author_handle="wa1")])
    # an alert about a scam wave: four messages by three authors, one of them staff
    wave = [(await s.activity("discord", str(i))) for i in (2, 3, 9, 6)]
    ids = [r.id for r in wave if r is not None]
    alert = Alert("fp-scam", "scam", "critical", {"community": "c1"}, {}, [], "firing", 0, 0)
    alert.ids, alert.summary, alert.fired_at = ids, "'airdrop' x4", 0
    await s.alerts.save([alert], 0)
    await s.close()


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    import asyncio

    asyncio.run(seed(tmp_path))
    return tmp_path


def test_without_a_token_holder_the_request_is_withdrawn(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(seeded)
    code = main(cli(cfg, "mod", "ban", "user1", "--reason", "spam", "--wait", "0.5"))
    err = capsys.readouterr().err
    assert code == 1
    assert "withdrawn" in err and "cockpit collect" in err
    assert main(cli(cfg, "cases", "--json")) == 0
    cases = json.loads(capsys.readouterr().out)
    assert [c["state"] for c in cases] == ["withdrawn"]
    assert cases[0]["steps"][0]["status"] == "withdrawn"


@pytest.mark.parametrize(
    ("args", "extra", "demo", "says"),
    [
        (["ban", "user1"], "", True, "a reason is required"),
        (["ban", "wa1", "--reason", "x"], "", False, "whatsapp cannot ban from the cockpit"),
        (["timeout", "user1", "--reason", "x", "--for", "30d"], "", True, "at most 28 days"),
        (["timeout", "user1", "--reason", "x"], "", True, "timeout needs --for"),
        (["kick", "user1", "--reason", "x", "--for", "1h"], "", True, "kick is not temporary"),
        (["ban", "nobody-here", "--reason", "x"], "", True, "no member matches 'nobody-here'"),
        (["lock", "user1", "--reason", "x"], "", True, "lock needs a channel"),
        (["ban", "user1", "--reason", "x", "--dm"], "", True, "--dm: only say and warn"),
        (["role_add", "user1", "--reason", "x"], "", True, "needs the platform's role id"),
        (["delete", "user1", "--reason", "x"], "", True, "delete needs a message"),
        (["lock", "#nowhere", "--reason", "x"], "", True, "no channel '#nowhere'"),
        (
            ["ban", "user1", "--reason", "x"],
            '[moderation]\nprotected = ["user1"]\n',
            True,
            "is protected",
        ),
        (
            ["ban", "user1", "--reason", "x"],
            '[moderation]\nmoderators = ["somebody-else"]\noperator = "mira"\n',
            True,
            "'mira' may not act",
        ),
    ],
)
def test_refusals_are_one_line(
    seeded: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    extra: str,
    demo: bool,
    says: str,
) -> None:
    cfg = write_config(seeded, extra, demo)
    code = main(cli(cfg, "mod", *args, "--wait", "0.2"))
    err = capsys.readouterr().err
    assert code == 1, err
    assert says in err and len(err.strip().splitlines()) == 1, err
    assert main(cli(cfg, "cases", "--json")) == 0
    assert json.loads(capsys.readouterr().out) == []  # nothing was submitted


def test_unknown_action_is_bad_usage(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(seeded)
    with pytest.raises(SystemExit) as exc:
        main(cli(cfg, "mod", "nuke", "user1", "--reason", "x"))
    assert exc.value.code == 2


class Collector:
    def __init__(self, tmp: Path, cfg: Path) -> None:
        self.log = (tmp / "collect.log").open("ab")
        self.tmp = tmp
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cockpit", "--config", str(cfg), "collect"],
            cwd=tmp,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def ready(self, timeout: float = 40) -> None:
        end = time.monotonic() + timeout
        while "acting for" not in (self.tmp / "collect.log").read_text(errors="replace"):
            assert self.proc.poll() is None, (self.tmp / "collect.log").read_text()
            assert time.monotonic() < end, (self.tmp / "collect.log").read_text()
            time.sleep(0.1)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def collector(seeded: Path) -> Iterator[tuple[Path, Collector]]:
    cfg = write_config(seeded)
    c = Collector(seeded, cfg)
    c.ready()
    yield cfg, c
    c.stop()


def test_ban_timeout_delete_lock_revert_through_a_running_collector(
    collector: tuple[Path, Collector], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, _ = collector
    assert main(cli(cfg, "mod", "ban", "user1", "--reason", "spam wave", "--for", "1h")) == 0
    out = capsys.readouterr().out
    assert "case 1: ban" in out and ": done" in out and "banned @user1" in out
    assert main(cli(cfg, "mod", "delete", "discord:3", "--reason", "scam link")) == 0
    assert "deleted 1 message" in capsys.readouterr().out
    assert main(cli(cfg, "feed", "--json", "--limit", "50")) == 0
    deleted = {a["id"] for a in json.loads(capsys.readouterr().out) if a.get("deleted")}
    assert "3" in deleted
    assert main(cli(cfg, "mod", "lock", "discord:#general", "--reason", "raid")) == 1
    assert "ambiguous" in capsys.readouterr().err  # the seed's and the demo's #general
    assert main(cli(cfg, "mod", "lock", "discord:5", "--reason", "raid")) == 0  # its channel
    capsys.readouterr()
    assert main(cli(cfg, "cases", "revert", "3")) == 0  # unlock puts back what was there
    assert "unlock" in capsys.readouterr().out
    assert main(cli(cfg, "cases", "revert", "2")) == 1  # a delete cannot be undone
    assert "cannot be undone" in capsys.readouterr().err
    assert main(cli(cfg, "cases", "note", "1", "appealed by email")) == 0
    capsys.readouterr()
    assert main(cli(cfg, "members", "note", "user1", "repeat offender, watch #general")) == 0
    assert "note added to #" in capsys.readouterr().out
    assert main(cli(cfg, "members", "note", "nobody-here", "x")) == 1
    assert "nobody-here" in capsys.readouterr().err
    assert main(cli(cfg, "members", "show", "user1")) == 0
    shown = capsys.readouterr().out
    assert "banned on discord until" in shown and "(case 1)" in shown, shown
    assert "repeat offender, watch #general" in shown, shown
    assert main(cli(cfg, "members", "show", "user1", "--json")) == 0
    (shown_json,) = json.loads(capsys.readouterr().out)
    record = shown_json["moderation"]
    assert [r["kind"] for r in record["restrictions"]] == ["ban"] and record["cases"] == [1]
    notes = [n["text"] for n in record["notes"]]  # the case's note shows on the member too
    assert notes == ["repeat offender, watch #general", "case 1: appealed by email"], notes
    assert main(cli(cfg, "cases", "--member", "user1", "--json")) == 0
    cases = json.loads(capsys.readouterr().out)
    assert [c["action"] for c in cases] == ["ban"]
    kinds = [e["kind"] for e in cases[0]["events"]]
    assert kinds == ["requested", "claimed", "done", "note"]
    export = cfg.parent / "audit.jsonl"
    assert main(cli(cfg, "cases", "export", str(export))) == 0
    lines = [json.loads(x) for x in export.read_text().splitlines()]
    assert [c["case"] for c in lines] == [1, 2, 3, 4]
    assert lines[3]["reverts"] == 3 and lines[2]["state"] == "reverted"
    # a warning by direct message, and a role by hand
    args = ["mod", "warn", "user2", "--dm", "--text", "keep it civil", "--reason", "insults"]
    assert main(cli(cfg, *args)) == 0
    out = capsys.readouterr().out
    assert ": done" in out and "sent a DM to @user2 on discord" in out, out
    assert main(cli(cfg, "mod", "role_add", "user2", "--role", "77", "--reason", "hosts AMAs")) == 0
    assert "gave @user2 on discord the role 77" in capsys.readouterr().out
    assert main(cli(cfg, "cases", "--json", "--limit", "2")) == 0
    role, warn = json.loads(capsys.readouterr().out)
    assert role["role"] == "77" and role["state"] == "done"
    assert warn["steps"][0]["channel_id"] is None and warn["steps"][0]["user_id"]


def test_acting_on_an_alert_acts_on_what_it_points_at(
    collector: tuple[Path, Collector], capsys: pytest.CaptureFixture[str]
) -> None:
    """`alert:N`: its messages deleted per channel, its authors timed out, staff left out."""
    cfg, _ = collector
    assert main(cli(cfg, "alerts", "--json")) == 0
    (alert,) = [a for a in json.loads(capsys.readouterr().out) if a["rule"] == "scam"]
    target = f"alert:{alert['id']}"
    assert main(cli(cfg, "mod", "delete", target, "--reason", "scam wave", "--dry-run")) == 0
    out = capsys.readouterr().out
    assert "delete 4 messages in #" in out, out
    staff = cfg.parent / "staff.toml"  # the same store, with user6 protected as staff
    staff.write_text(cfg.read_text() + '[moderation]\nprotected = ["user6"]\n')
    code = main(cli(staff, "mod", "timeout", target, "--reason", "scam wave", "--for", "1h"))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "@user2" in out and "@user3" in out and "left out" in out, out
    assert main(cli(cfg, "cases", "--json")) == 0
    (case,) = json.loads(capsys.readouterr().out)
    assert case["alert_id"] == alert["id"] and case["action"] == "timeout"
    assert sorted(s["user_id"] for s in case["steps"]) == ["1002", "1003"]
    assert {s["status"] for s in case["steps"]} == {"done"}
    assert main(cli(cfg, "mod", "delete", target, "--reason", "scam wave")) == 0
    assert "deleted 4 messages" in capsys.readouterr().out
    assert main(cli(cfg, "mod", "delete", target, "--reason", "again")) == 1
    assert "deleted already" in capsys.readouterr().err  # nothing twice
    assert main(cli(cfg, "mod", "lock", target, "--reason", "x")) == 1
    assert "does not apply to an alert" in capsys.readouterr().err
    assert main(cli(cfg, "mod", "ban", "alert:x", "--reason", "x")) == 1
    assert "not an alert number" in capsys.readouterr().err


RULE = """
[[rules]]
name = "nitro"
kind = "keyword"
keywords = ["free nitro"]
per = "author"
severity = "critical"
actions = [{ do = "delete" }, { do = "timeout", for = "1h" }]
"""


def test_a_rule_proposes_and_the_cli_confirms_or_rejects(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A running collector's rule proposes delete+timeout for each scam author; `alerts act`
    runs one proposal through the collector, `alerts reject` drops the other."""
    import asyncio
    from datetime import UTC, datetime

    cfg = write_config(seeded, RULE)
    c = Collector(seeded, cfg)
    try:
        c.ready()

        async def scam() -> None:
            s = await SQLiteStore.open(seeded / "store.db")
            now = datetime.now(UTC)
            await s.write(
                [
                    act(500 + i, community="c1", ts=now, text="FREE NITRO here", author=who,
                        author_id=f"66{i}", author_handle=who)
                    for i, who in enumerate(("nitro1", "nitro2"))
                ]
            )  # fmt: skip
            await s.close()

        asyncio.run(scam())
        end = time.monotonic() + 30
        proposed: list[dict[str, object]] = []
        while time.monotonic() < end and len(proposed) < 4:
            assert main(cli(cfg, "cases", "--state", "proposed", "--json")) == 0
            proposed = json.loads(capsys.readouterr().out)
            time.sleep(0.3)
        assert len(proposed) == 4, (seeded / "collect.log").read_text()
        assert {p["operator"] for p in proposed} == {"rule:nitro"}
        first, second = sorted({int(str(p["alert_id"])) for p in proposed})
        assert main(cli(cfg, "alerts", "act", str(first))) == 0
        out = capsys.readouterr().out
        assert "delete" in out and "timeout" in out and out.count(": done") == 2, out
        assert main(cli(cfg, "alerts", "reject", str(second))) == 0
        assert out.count("case ") == 2
        assert "rejected" in capsys.readouterr().out
        assert main(cli(cfg, "alerts", "act", str(second))) == 1
        assert "has no proposed action" in capsys.readouterr().err
        assert main(cli(cfg, "cases", "--json")) == 0
        states = sorted(c["state"] for c in json.loads(capsys.readouterr().out))
        assert states == ["done", "done", "rejected", "rejected"]
    finally:
        c.stop()


def test_calendar_announce_refuses_in_one_line(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(seeded)
    assert main(cli(cfg, "calendar", "announce", "zzz", "--now")) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("cockpit:") and "zzz" in err and "\n" not in err
    from datetime import UTC, datetime, timedelta

    day = (datetime.now(UTC) + timedelta(days=30)).date()
    assert main(cli(cfg, "calendar", "add", "AMA", "--start", f"{day} 15:00",
                    "--tz", "UTC", "--duration", "1h")) == 0  # fmt: skip
    capsys.readouterr()
    assert main(cli(cfg, "calendar", "--json", "--from", str(day), "--days", "1")) == 0
    (event,) = json.loads(capsys.readouterr().out)
    assert main(cli(cfg, "calendar", "announce", event["uid"][:8], "--now")) == 1
    assert "no channel to announce in" in capsys.readouterr().err
