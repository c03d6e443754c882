"""Every bad argument is one line on stderr and exit 1 or 2, never a traceback (issue 18).

Each case runs through the CLI's main() as a user would type it; what overflowed before
(datetime arithmetic, SQLite's 64-bit integers, tomllib's recursion, a socket's port)
is refused where the value is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cockpit.cli import main

ROW = {
    "platform": "discord",
    "id": "1",
    "kind": "message",
    "ts": "2024-05-01T12:00:00Z",
    "channel": "general",
    "author": "Alice",
    "author_id": "100",
    "text": "hello",
}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no ./cockpit.toml: defaults
    monkeypatch.delenv("COCKPIT_DB", raising=False)
    source = tmp_path / "a.jsonl"
    source.write_text(json.dumps(ROW) + "\n", encoding="utf-8")
    store = tmp_path / "c.db"
    assert main(["--db", str(store), "import", str(source)]) == 0
    return store


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's bad usage
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


CASES = [
    (["feed", "--since", "1000000d"], 1, "--since: duration '1000000d' is too long"),
    (["feed", "--since", "99999999999d"], 1, "--since: duration '99999999999d' is too long"),
    (["feed", "--since", "9999-12-31T23:59:59-14:00"], 1, "out of range"),
    (["feed", "--limit", "99999999999999999999"], 1, "--limit 99999999999999999999: expected"),
    (["leaderboard", "--limit", "99999999999999999999"], 1, "--limit 99999999999999999999"),
    (["report", "--limit", "99999999999999999999"], 1, "--limit 99999999999999999999"),
    (["alerts", "--limit", "99999999999999999999"], 1, "--limit 99999999999999999999"),
    (["alerts", "ack", "99999999999999999999999"], 1, "no such alert"),
    (["alerts", "resolve", "-5"], 1, "no such alert"),
    (["silences", "expire", "99999999999999999999999"], 1, "no such silence"),
    (
        ["silences", "add", "rule=x", "--for", "99999999999w", "--comment", "c"],
        1,
        "--for: duration '99999999999w' is too long",
    ),
    (["calendar", "add", "AMA", "--start", "9999-12-31 23:59"], 1, "--start '9999-12-31 23:59'"),
    (["calendar", "add", "AMA", "--start", "9999-12-31"], 1, "out of range"),
    (
        ["calendar", "add", "AMA", "--start", "2030-01-01 10:00", "--duration", "99999999w"],
        1,
        "--duration: duration '99999999w' is too long",
    ),
    (["calendar", "--days", "1e20"], 2, "argument --days: '1e20'"),
    (["calendar", "--days", "100000000"], 1, "--days 100000000: expected a positive number"),
    (["calendar", "--from", "9999-12-31"], 1, "--from '9999-12-31': out of range"),
    (["calendar", "suggest", "--days", "100000"], 1, "--days 100000"),
]


@pytest.mark.parametrize(("argv", "code", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_argument_is_one_line(
    db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    got, err = run(["--db", str(db), *argv], capsys)
    assert (got, err.count("\n")) == (code, 1), err
    assert message in err and "Traceback" not in err


def test_bad_usage_is_one_line_too(capsys: pytest.CaptureFixture[str]) -> None:
    got, err = run(["feed", "--no-such-flag"], capsys)
    assert got == 2 and err.count("\n") == 1 and "unrecognized arguments" in err


def test_toml_nested_thousands_deep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    got, err = run(["--config", str(deep), "config", "check"], capsys)
    assert (got, err.count("\n")) == (1, 1) and "nested too deeply" in err, err
    got, err = run(["rules", "test", str(deep)], capsys)
    assert (got, err.count("\n")) == (1, 1) and "nested too deeply" in err, err


@pytest.mark.parametrize("content", [None, "garbage = [\n"], ids=["missing", "malformed"])
def test_rules_test_of_a_bad_file_says_why_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None
) -> None:
    path = tmp_path / "rules_test.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    got, err = run(["rules", "test", str(path)], capsys)
    assert (got, err.count("\n")) == (1, 1), err
    assert str(path) in err and ("file not found" if content is None else "Invalid value") in err


def test_source_port_out_of_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FORUM_KEY", "s3cret-key")
    config = tmp_path / "cockpit.toml"
    config.write_text(
        '[[sources]]\ntype = "discourse"\nbase_url = "http://127.0.0.1:99999/${FORUM_KEY}"\n'
        'api_key = "${FORUM_KEY}"\n',
        encoding="utf-8",
    )
    got, err = run(["--config", str(config), "collect", "--check"], capsys)
    assert (got, err.count("\n")) == (1, 1), err
    assert "port 99999 is out of range" in err and "s3cret" not in err


def test_attach_to_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "store").mkdir()
    got, err = run(["--db", str(tmp_path / "store"), "--attach"], capsys)
    assert (got, err.count("\n")) == (1, 1) and "is a directory" in err, err
