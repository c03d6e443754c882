"""`cockpit collect` wiring: config errors, health in the store, clean stop, --check."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakeplatform import FakePlatform, json_response, serve
from test_connector_telegram import FakeTelegram, msg_update

from cockpit.cli import main
from cockpit.collect.health import BOARD
from cockpit.collect.webhooks import Request, Response, WebhookRouter
from cockpit.commands.collect import check_sources
from cockpit.commands.context import Context
from cockpit.config import load_config
from cockpit.registry import registry
from cockpit.runtime import Runtime
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_collect import load_health


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "cockpit.toml"
    path.write_text('[cockpit]\ncommunity = "Builders"\n\n' + body, encoding="utf-8")
    return path


def test_bad_source_config_exits_1_with_the_line(tmp_path: Path, capsys: Any) -> None:
    path = write_config(
        tmp_path, '[[sources]]\ntype = "telegram"\nname = "tg"\ntoken = "x"\npoll_timeout = 99\n'
    )
    assert main(["--config", str(path), "--db", str(tmp_path / "s.db"), "collect"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"cockpit: {path}:8: sources[0].poll_timeout: Input should be less than or equal to 50"
    )
    assert "\n" not in err


async def test_collector_stores_activity_and_health_and_stops_cleanly(
    tmp_path: Path, store: SQLiteStore
) -> None:
    fake = FakeTelegram("TK", [msg_update(1, 1, "one"), msg_update(2, 2, "two")])
    async with serve(fake):
        path = write_config(
            tmp_path,
            f'[collect]\nhealth_every = 0.05\n\n[[sources]]\ntype = "telegram"\nname = "tg"\n'
            f'token = "TK"\nbase_url = "{fake.base_url}"\npoll_timeout = 0\n',
        )
        config = load_config(path, registry())
        board = BOARD  # connectors report into the process-wide board
        board.clear()
        collector = Runtime(config, store, registry(), router=WebhookRouter(), board=board)
        stop = asyncio.Event()
        task = asyncio.create_task(collector.run(stop))
        for _ in range(300):
            rows = await load_health(store)
            if rows and rows[0].events == 2:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await task
    [h] = await load_health(store)
    assert (h.name, h.type, h.community, h.state, h.events) == (
        "tg",
        "telegram",
        "Builders",
        "stopped",
        2,
    )
    assert h.last_event is not None and h.last_ok is not None
    assert await store.get_cursor("telegram:tg:update_id") == "2"
    rows = await store.fetchall("SELECT source_id, text FROM activity ORDER BY id")
    assert [tuple(r) for r in rows] == [("-1001234567890:1", "one"), ("-1001234567890:2", "two")]


async def test_check_reports_per_source(tmp_path: Path) -> None:
    fake = FakePlatform()

    async def me(request: Request) -> Response:
        return json_response(200, {"ok": True, "result": {"id": 1, "username": "cockpit_bot"}})

    async def hook(request: Request) -> Response:
        return json_response(200, {"ok": True, "result": {"url": ""}})

    async def refused(request: Request) -> Response:
        return json_response(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})

    fake.route("/botGOOD/getMe", me)
    fake.route("/botGOOD/getWebhookInfo", hook)
    fake.route("/botBAD/getMe", refused)
    async with serve(fake):
        path = write_config(
            tmp_path,
            f'[[sources]]\ntype = "telegram"\nname = "good"\ntoken = "GOOD"\nbase_url = "{fake.base_url}"\n\n'
            f'[[sources]]\ntype = "telegram"\nname = "bad"\ntoken = "BAD"\nbase_url = "{fake.base_url}"\n',
        )
        import argparse

        ctx = Context(
            argparse.Namespace(config=str(path), db=None), out=io.StringIO(), err=io.StringIO()
        )
        results = await check_sources(ctx)
    assert results[0] == {
        "source": "good",
        "type": "telegram",
        "ok": True,
        "detail": "bot @cockpit_bot, polling",
    }
    assert results[1]["ok"] is False
    assert "refused the token for getMe (HTTP 401: Unauthorized)" in results[1]["detail"]
    assert "BAD" not in results[1]["detail"]


async def test_check_ends_when_a_platform_never_answers(tmp_path: Path) -> None:
    """A stand-in that holds every request: the check reports it instead of retrying on."""
    fake = FakePlatform()
    never = asyncio.Event()

    async def hang(request: Request) -> Response:
        await never.wait()
        return json_response(200, {})

    fake.route("/botSLOW/getMe", hang)
    async with serve(fake):
        path = write_config(
            tmp_path,
            f'[[sources]]\ntype = "telegram"\nname = "slow"\ntoken = "SLOW"\n'
            f'base_url = "{fake.base_url}"\n',
        )
        import argparse

        ctx = Context(
            argparse.Namespace(config=str(path), db=None, timeout=0.3),
            out=io.StringIO(),
            err=io.StringIO(),
        )
        results = await check_sources(ctx)
        never.set()
    assert results == [
        {
            "source": "slow",
            "type": "telegram",
            "ok": False,
            "detail": "no answer within 0.3 s: is the platform reachable from here?",
        }
    ]


def test_collect_without_sources_is_an_error(tmp_path: Path, capsys: Any) -> None:
    path = write_config(tmp_path, "")
    assert main(["--config", str(path), "--db", str(tmp_path / "s.db"), "collect"]) == 1
    assert "no enabled [[sources]]" in capsys.readouterr().err


pytestmark = pytest.mark.timeout(60)


def test_json_log_lines_keep_tracebacks_and_write_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service log in JSON lines: the traceback of a failure is kept, and the time is UTC
    with a Z whatever the machine's zone."""
    import json
    import logging
    import time

    from cockpit.commands.collect import setup_logging

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        out = io.StringIO()
        setup_logging(out, "json", verbose=False)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("cockpit.test").exception("source failed")
        line = json.loads(out.getvalue().splitlines()[-1])
        assert line["msg"] == "source failed" and line["level"] == "error"
        assert "Traceback" in line["exc"] and "ValueError: boom" in line["exc"]
        assert line["ts"].endswith("Z")
        stamp = datetime.fromisoformat(line["ts"].replace("Z", "+00:00"))
        assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
        logging.getLogger().handlers[:] = []
