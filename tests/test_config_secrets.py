"""A value from `${NAME}` is never printed back (issue 18): not when a validator echoes the
field it refused (a zone, a source or receiver name, a regex), not in `config check`'s summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.cli import main

SECRET = "tok-7f3a9'c2e1"  # a quote: Python's repr would escape it in messages

CASES = {
    "zone": '[cockpit]\ntimezone = "${SECRET}"\n',
    "region": '[cockpit]\nregions = ["Europe/Berlin", "${SECRET}"]\n',
    "import zone": '[import]\ntimezone = "Mars/${SECRET}"\n',
    "source name": (
        '[[sources]]\ntype = "jsonl"\nname = "${SECRET}"\npath = "a.jsonl"\n'
        '[[sources]]\ntype = "jsonl"\nname = "${SECRET}"\npath = "b.jsonl"\n'
    ),
    "receiver name": (
        '[[receivers]]\nname = "${SECRET}"\nurls = ["json://localhost"]\n'
        '[[receivers]]\nname = "${SECRET}"\nurls = ["json://localhost"]\n'
    ),
    "escalation": (
        '[[receivers]]\nname = "a"\nurls = ["json://localhost"]\nescalate_to = "${SECRET}"\n'
    ),
    "regex": '[[rules]]\nname = "r"\nkind = "keyword"\nregex = ["(${SECRET}"]\n',
    "rule name": (
        '[[rules]]\nname = "${SECRET}"\nkind = "raid"\n'
        '[[rules]]\nname = "${SECRET}"\nkind = "flood"\n'
    ),
}


@pytest.mark.parametrize("body", CASES.values(), ids=CASES.keys())
def test_a_refused_field_from_the_environment_is_not_echoed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    body: str,
) -> None:
    monkeypatch.setenv("SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cockpit.toml").write_text(body, encoding="utf-8")
    assert main(["config", "check"]) == 1
    cap = capsys.readouterr()
    assert cap.err.count("\n") == 1 and cap.err.startswith("cockpit: cockpit.toml:"), cap.err
    assert "7f3a9" not in cap.out + cap.err
    assert "${SECRET}" in cap.err  # the message still says which value it was


def test_config_check_summary_hides_values_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMMUNITY", "secret-guild-4411")
    monkeypatch.setenv("FEED", "hidden-name-9982")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cockpit.toml").write_text(
        '[cockpit]\ncommunity = "${COMMUNITY}"\n'
        '[[sources]]\ntype = "jsonl"\nname = "${FEED}"\npath = "a.jsonl"\n',
        encoding="utf-8",
    )
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "4411" not in out and "9982" not in out
    assert "community: ${COMMUNITY}" in out and "source '${FEED}'" in out
