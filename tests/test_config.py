from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.config import key_lines, load_config
from cockpit.errors import ConfigError
from cockpit.registry import registry

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "cockpit.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_example_config_is_valid() -> None:
    cfg = load_config(ROOT / "cockpit.toml", registry())
    assert cfg.cockpit.community == "Demo Community"
    assert [s.type for s in cfg.sources] == ["demo"]
    assert cfg.store_path() == ROOT / "cockpit.db"


def test_defaults_without_a_file() -> None:
    cfg = load_config(None, registry())
    assert cfg.cockpit.timezone == "UTC" and cfg.sources == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[cockpit]\ncommunity = 'x'\ncolour = 'red'\n",
            r"cockpit.toml:3: cockpit.colour: unknown key",
        ),
        (
            "[cockpit]\ntimezone = 'Mars/Olympus'\n",
            r"cockpit.toml:2: cockpit.timezone: .*unknown time zone 'Mars/Olympus'",
        ),
        (
            "[cockpit]\nregions = ['UTC', 'Nowhere/City']\n",
            r"cockpit.toml:2: cockpit.regions: .*Nowhere/City",
        ),
        (
            "[cockpit]\ncommunity = 3\n",
            r"cockpit.toml:2: cockpit.community: Input should be a valid string",
        ),
        ("[weird]\nx = 1\n", r"cockpit.toml:1: weird: unknown key"),
        ("[[sources]]\nname = 'a'\n", r"cockpit.toml:1: sources\[0\]: missing `type`"),
        (
            "[[sources]]\ntype = 'telepathy'\n",
            r"cockpit.toml:2: sources\[0\].type: unknown source type 'telepathy'",
        ),
        (
            "[[sources]]\ntype = 'jsonl'\npath = 'a.jsonl'\n\n[[sources]]\ntype = 'jsonl'\nname = 'b'\npoll_interval = -1\npath = 'b'\n",
            r"cockpit.toml:8: sources\[1\].poll_interval: Input should be greater than 0",
        ),
        (
            "[[sources]]\ntype = 'jsonl'\npath = 'a'\nfolow = true\n",
            r"cockpit.toml:4: sources\[0\].folow: unknown key",
        ),
        (
            "[[sources]]\ntype = 'jsonl'\npath = 'a'\n[[sources]]\ntype = 'jsonl'\npath = 'b'\n",
            r"sources\[1\].name: source name 'jsonl' is used twice",
        ),
        (
            "[import]\ntimezone = 'Europe/Berln'\n",
            r"cockpit.toml:2: import.timezone: .*Europe/Berln",
        ),
        ("[cockpit\n", r"cockpit.toml: invalid TOML: .*line 1"),
    ],
)
def test_bad_config_names_key_line_and_expectation(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, text), registry())


def test_env_substitution_and_missing_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEED_FILE", "secret-path.jsonl")
    cfg = load_config(
        write(tmp_path, "[[sources]]\ntype = 'jsonl'\npath = '${FEED_FILE}'\n"), registry()
    )
    assert cfg.sources[0].settings.path == "secret-path.jsonl"  # type: ignore[attr-defined]
    assert ("sources", 0, "path") in cfg.secret_paths
    monkeypatch.delenv("FEED_FILE")
    with pytest.raises(
        ConfigError,
        match=r"cockpit.toml:3: sources\[0\].path: environment variable FEED_FILE is not set",
    ):
        load_config(
            write(tmp_path, "[[sources]]\ntype = 'jsonl'\npath = '${FEED_FILE}'\n"), registry()
        ).require_secrets()


def test_secret_values_never_appear_in_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE", "hunter2")
    text = "[[sources]]\ntype = 'jsonl'\npath = 'x'\nbatch = '${RATE}'\n"
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), registry())
    assert "hunter2" not in str(info.value)
    assert "sources[0].batch" in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", registry())


def test_store_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(write(tmp_path, "[cockpit]\nstore = 'data/x.db'\n"), registry())
    monkeypatch.delenv("COCKPIT_DB", raising=False)
    assert cfg.store_path() == tmp_path / "data" / "x.db"
    monkeypatch.setenv("COCKPIT_DB", "/tmp/env.db")
    assert cfg.store_path() == Path("/tmp/env.db")
    assert cfg.store_path("/tmp/flag.db") == Path("/tmp/flag.db")


def test_key_lines_handles_arrays_of_tables_and_dotted_keys() -> None:
    lines = key_lines("a = 1\n[t]\nb.c = 2\n[[s]]\nx = 1\n[[s]]\nx = 2\n")
    assert lines[("a",)] == 1
    assert lines[("t", "b", "c")] == 3
    assert lines[("s", 0, "x")] == 5
    assert lines[("s", 1, "x")] == 7


def test_feature_sections_are_validated_by_their_feature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    from pydantic import BaseModel, ConfigDict, TypeAdapter

    import cockpit.config as config

    class Knobs(BaseModel):
        model_config = ConfigDict(extra="forbid")
        level: int = 1

    module = types.ModuleType("fake_feature_config")
    module.SECTIONS = {"knobs": TypeAdapter(Knobs)}  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "fake_feature_config", module)
    monkeypatch.setattr(
        config, "FEATURE_CONFIG_MODULES", ("fake_feature_config", "cockpit.nonexistent.config")
    )
    cfg = load_config(write(tmp_path, "[knobs]\nlevel = 3\n"), registry())
    assert cfg.section("knobs").level == 3
    assert load_config(None, registry()).section("knobs").level == 1
    with pytest.raises(ConfigError, match=r"cockpit.toml:2: knobs.levle: unknown key"):
        load_config(write(tmp_path, "[knobs]\nlevle = 3\n"), registry())
    with pytest.raises(
        ConfigError, match=r"cockpit.toml:2: knobs.level: Input should be a valid integer"
    ):
        load_config(write(tmp_path, "[knobs]\nlevel = 'high'\n"), registry())
