"""The plugin kit's validators and the plugin API's capability declaration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cockpit.model import Activity, Kind, Quarantined
from cockpit.plugin_api import ACTIONS, Plugin
from cockpit.plugin_kit import (
    RAW_LIMIT,
    Malformed,
    epoch_seconds,
    integer,
    newest,
    obj,
    optional_string,
    raw_bytes,
    raw_json,
    reason_for,
    string,
)
from cockpit.registry import registry


def test_validators_say_what_is_wrong_in_one_line() -> None:
    assert obj({"a": 1}, "chat") == {"a": 1}
    assert integer(7, "id") == 7 and string("x", "name") == "x"
    assert epoch_seconds(0, "date") == datetime(1970, 1, 1, tzinfo=UTC)
    assert optional_string("") is None and optional_string(3) is None
    for call, message in [
        (lambda: obj([], "chat"), "chat is not an object"),
        (lambda: integer(True, "id"), "id is not an integer"),
        (lambda: string("", "name"), "name is missing or not a string"),
        (lambda: epoch_seconds(10**20, "date"), "date is out of range"),
        (lambda: epoch_seconds("5", "date"), "date is not an integer"),
    ]:
        with pytest.raises(Malformed, match=message):
            call()
    assert issubclass(Malformed, ValueError)
    assert reason_for(Malformed("bad")) == "bad"
    assert reason_for(KeyError("id")) == "KeyError: 'id'"


def test_raw_text_is_bounded() -> None:
    assert len(raw_json({"text": "x" * 10_000})) == RAW_LIMIT
    assert raw_bytes(b"\xff" + b"a" * 10_000)[:2] == "\ufffda"
    assert len(raw_bytes(b"a" * 10_000)) == RAW_LIMIT


def test_newest_looks_at_activities_only() -> None:
    def at(hour: int) -> Activity:
        ts = datetime(2026, 1, 1, hour, tzinfo=UTC)
        return Activity("p", str(hour), Kind.MESSAGE, ts, "c", "a", "a")

    q = Quarantined("p", "o", "here", "why", "raw")
    assert newest([at(3), q, at(5), at(4)]) == datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert newest([q]) is None


def test_actions_are_the_mod_commands_and_declared_by_every_plugin() -> None:
    assert {
        "delete", "purge", "warn", "timeout", "kick", "ban", "unban", "lock", "unlock",
        "slowmode", "say", "role_add", "role_remove",
    } == ACTIONS  # fmt: skip
    with pytest.raises(ValueError, match="unknown actions \\['explode'\\]"):
        Plugin("x", "x", actions=frozenset({"explode", "ban"}))
    assert Plugin("x", "x", actions=frozenset({"ban"})).actions == {"ban"}
    for plugin in registry().plugins.values():
        assert plugin.actions <= ACTIONS
