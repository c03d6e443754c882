"""The command line as a user runs it: exit codes, one-line errors, --json output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.cli import main

VENV_BIN = Path(sys.executable).parent


def jsonl(path: Path) -> Path:
    rows = [
        {
            "platform": "discord",
            "id": "1",
            "kind": "message",
            "ts": "2024-05-01T12:00:00Z",
            "channel": "general",
            "author": "Alice",
            "author_id": "100",
            "author_handle": "alice",
            "text": "hello [bold red]world[/] \u001b[31m",
        },
        {
            "platform": "discord",
            "id": "2",
            "kind": "message",
            "ts": "2024-05-01T14:01:00+02:00",
            "channel": "help",
            "author": "Bob",
            "author_id": "200",
            "text": "how do I reset my key?",
            "reply_to": "1",
        },
        {
            "platform": "telegram",
            "id": "-1001:5",
            "kind": "join",
            "ts": "2024-05-01T12:02:00Z",
            "channel": "tg",
            "author": "Alice",
            "author_id": "555",
            "author_handle": "alice",
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no ./cockpit.toml: defaults
    monkeypatch.delenv("COCKPIT_DB", raising=False)
    d = tmp_path / "c.db"
    assert main(["--db", str(d), "import", str(jsonl(tmp_path / "a.jsonl"))]) == 0
    return d


def test_import_prints_per_file_counts(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--db", str(db), "import", str(tmp_path / "a.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "a.jsonl: 0 new, 3 duplicate, 0 quarantined (already imported)" in out


def test_feed_json_is_one_array_with_the_documented_fields(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--db", str(db), "feed", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [a["id"] for a in data] == ["1", "2", "-1001:5"]  # oldest first
    first = data[0]
    for key in (
        "platform",
        "id",
        "kind",
        "ts",
        "channel",
        "author",
        "author_id",
        "text",
        "reply_to",
    ):
        assert key in first
    assert data[1]["ts"] == "2024-05-01T12:01:00Z"
    assert data[1]["reply_to"] == "1"


def test_feed_filters(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    main(["--db", str(db), "feed", "--json", "--platform", "telegram"])
    assert [a["id"] for a in json.loads(capsys.readouterr().out)] == ["-1001:5"]
    main(["--db", str(db), "feed", "--json", "--search", "reset key"])
    assert [a["id"] for a in json.loads(capsys.readouterr().out)] == ["2"]
    main(["--db", str(db), "feed", "--json", "--channel", "#help"])
    assert [a["id"] for a in json.loads(capsys.readouterr().out)] == ["2"]
    main(["--db", str(db), "feed", "--json", "--member", "Bob", "--kind", "message"])
    assert [a["id"] for a in json.loads(capsys.readouterr().out)] == ["2"]
    main(["--db", str(db), "feed", "--json", "--since", "2024-05-01T12:01:30"])
    assert [a["id"] for a in json.loads(capsys.readouterr().out)] == ["-1001:5"]


def test_feed_text_is_inert(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    main(["--db", str(db), "feed", "--tz", "Asia/Kolkata"])
    out = capsys.readouterr().out
    assert "hello [bold red]world[/] \\x1b[31m" in out
    assert "\x1b" not in out
    assert "2024-05-01 17:30" in out  # 12:00 UTC in Kolkata


def test_ambiguous_member_lists_candidates(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["--db", str(db), "feed", "--member", "alice"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("cockpit: member 'alice' is ambiguous:")
    assert "discord" in err and "telegram" in err and "\n" not in err


def test_members_json_and_show(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["--db", str(db), "members", "--json"]) == 0
    members = json.loads(capsys.readouterr().out)
    assert {m["display_name"] for m in members} == {"Alice", "Bob"}
    assert {m["platform"] for m in members} == {"discord", "telegram"}
    bob = next(m for m in members if m["display_name"] == "Bob")
    assert main(["--db", str(db), "members", "show", f"#{bob['id']}", "--json"]) == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert shown["platform_user_id"] == "200" and [r["id"] for r in shown["recent"]] == ["2"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["feed", "--since", "lastweek"], "--since 'lastweek': expected a duration"),
        (["feed", "--tz", "Moon/Base"], "--tz: unknown time zone 'Moon/Base'"),
        (["feed", "--limit", "0"], "--limit 0: expected a positive number"),
        (["feed", "--member", "nobody"], "no member matches 'nobody'"),
        (["members", "show", "ghost"], "no member matches 'ghost'"),
    ],
)
def test_user_errors_exit_1_with_one_line(
    db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    capsys.readouterr()
    assert main(["--db", str(db), *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_missing_store_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--db", str(tmp_path / "none.db"), "feed"]) == 1
    assert "no store here yet" in capsys.readouterr().err


def test_bad_usage_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["feed", "--no-such-flag"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_import_of_a_bad_file_exits_1_but_imports_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\x00\x01\x02garbage")
    good = jsonl(tmp_path / "good.jsonl")
    assert (
        main(
            [
                "--db",
                str(tmp_path / "x.db"),
                "import",
                str(bad),
                str(good),
                str(tmp_path / "missing.txt"),
            ]
        )
        == 1
    )
    cap = capsys.readouterr()
    assert "good.jsonl: 3 new" in cap.out
    assert "bad.bin: not a format cockpit can import" in cap.err
    assert "missing.txt: no such file or directory" in cap.err


def test_config_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cockpit.toml").write_text(
        "[cockpit]\ntimezone = 'Asia/Kathmandu'\n", encoding="utf-8"
    )
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: cockpit.toml") and "Asia/Kathmandu" in out
    (tmp_path / "cockpit.toml").write_text("[cockpit]\ntimezone = 5\n", encoding="utf-8")
    assert main(["config", "check"]) == 1
    assert (
        "cockpit.toml:2: cockpit.timezone: Input should be a valid string"
        in capsys.readouterr().err
    )
    assert main(["--config", str(tmp_path / "other.toml"), "config", "check"]) == 1


def test_core_import_does_not_load_textual() -> None:
    code = "import sys, cockpit.cli, cockpit.store.sqlite, cockpit.config, cockpit.importing; print('textual' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_console_script_is_installed(tmp_path: Path) -> None:
    r = subprocess.run(
        [str(VENV_BIN / "cockpit"), "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert r.returncode == 0 and r.stdout.startswith("cockpit ")


def test_the_demo_watches_with_the_default_rules_when_the_config_has_none() -> None:
    from cockpit.commands.tui import demo_sections

    sections = demo_sections({})
    names = {rule.name for rule in sections["rules"]}
    assert {"scam-words", "flood", "raid"} <= names
    assert demo_sections({"rules": []})["rules"] == []  # the config's own choice wins


def test_read_commands_run_without_the_sources_secrets(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """feed, leaderboard, members... read the store: an unset ${TOKEN} does not stop them;
    only what starts the sources (collect) refuses, naming the file, line and variable."""
    monkeypatch.delenv("CC_TEST_DISCORD_TOKEN", raising=False)
    cfg = tmp_path / "secrets.toml"
    cfg.write_text(
        "[[sources]]\ntype = 'discord'\ntoken = '${CC_TEST_DISCORD_TOKEN}'\nguild_ids = ['1']\n"
        "base_url = 'http://127.0.0.1:9'\ngateway_url = 'ws://127.0.0.1:9'\n",
        encoding="utf-8",
    )
    base = ["--config", str(cfg), "--db", str(db)]
    for command in (["feed"], ["leaderboard"], ["members"], ["health"], ["alerts"]):
        assert main([*base, *command, "--json"]) == 0, command
    capsys.readouterr()
    assert main([*base, "collect"]) == 1
    err = capsys.readouterr().err
    assert "secrets.toml:3: sources[0].token: environment variable CC_TEST_DISCORD_TOKEN" in err


def test_hash_number_is_exactly_that_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`#N` is member number N even when another member's platform id is N (the ambiguity
    error asks for the #id, so it must work); a bare N keeps the broad lookup."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COCKPIT_DB", raising=False)
    rows = [
        {
            "platform": "discord",
            "id": str(i),
            "kind": "message",
            "ts": f"2024-05-01T12:0{i}:00Z",
            "channel": "general",
            "author": name,
            "author_id": uid,
            "text": "hi",
        }
        for i, (name, uid) in enumerate(
            [("Ann", "900"), ("Ben", "901"), ("Cho", "1"), ("Dee", "2")]
        )
    ]
    src = tmp_path / "m.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = tmp_path / "m.db"
    assert main(["--db", str(db), "import", str(src)]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "members", "--json"]) == 0
    ids = {m["display_name"]: m["id"] for m in json.loads(capsys.readouterr().out)}
    ann = ids["Ann"]
    # Cho's or Dee's platform id is Ann's number: a bare N is ambiguous, #N is Ann
    assert str(ann) in ("1", "2")
    assert main(["--db", str(db), "members", "show", str(ann), "--json"]) == 1
    assert "ambiguous" in capsys.readouterr().err
    assert main(["--db", str(db), "members", "show", f"#{ann}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["display_name"] == "Ann"
    assert main(["--db", str(db), "leaderboard", "--explain", f"#{ann}", "--json"]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "members", "link", f"#{ann}", f"#{ids['Ben']}"]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "members", "show", "#999"]) == 1
    assert "no member #999" in capsys.readouterr().err


def test_tables_measure_cells_cjk_stays_aligned_and_cuts_show_an_ellipsis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cockpit.cells import cells

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COCKPIT_DB", raising=False)
    names = ["Ann", "山田太郎", "佐藤花子さんは長い名前を持っています", "A" * 40]
    rows = [
        {"platform": "discord", "id": str(i), "kind": "message", "ts": f"2024-05-01T12:0{i}:00Z",
         "channel": "一般" if i % 2 else "general", "author": n, "author_id": str(700 + i),
         "text": "hello"}
        for i, n in enumerate(names)
    ]  # fmt: skip
    src = tmp_path / "cjk.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = tmp_path / "cjk.db"
    assert main(["--db", str(db), "import", str(src)]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "members"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("#")]
    assert len(lines) == 4
    # the activity count column starts at the same cell on every line
    starts = {cells(ln[: ln.rindex("      1")]) for ln in lines}
    assert len(starts) == 1, lines
    assert any("…" in ln and "佐藤" in ln for ln in lines)
    assert any("A" * 23 + "…" in ln for ln in lines)
    assert main(["--db", str(db), "feed"]) == 0
    feed = capsys.readouterr().out.splitlines()
    assert len({cells(ln[: ln.index("hello")]) for ln in feed}) == 1, feed
