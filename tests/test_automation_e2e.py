"""Automation end to end: a real `cockpit collect` holds the Discord token (a loopback
stand-in serves the REST API and records every request). A newcomer is welcomed; a scam bot
that joins and posts a lure is removed by the new-member screen (its message deleted, it is
banned) and never welcomed; a spam post by a regular is proposed, not acted on. The
collector is killed with SIGKILL and started again: nothing is called twice."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from standins.discord import GUILD, TOKEN, DiscordStandIn
from test_moderation_e2e import Collector

from cockpit.model import Activity, Kind
from cockpit.moderation.repository import CaseQuery
from cockpit.store.sqlite import SQLiteStore
from cockpit.timeutil import utcnow

pytestmark = pytest.mark.timeout(240)

CHAN = "2000000000000000001"
BOT = "3000000000000000066"
NEWBIE = "3000000000000000077"
REGULAR = "3000000000000000088"


def config_text(dc: DiscordStandIn) -> str:
    return f"""
[cockpit]
community = "main"
store = "store.db"

[collect]
port = 0

[alerting]
evaluation_interval = "1s"

[moderation]
wait = 20

[welcome]
enabled = true
delay = "2s"
rules = "#rules"
[[welcome.messages]]
text = "Welcome {{mention}}! Read {{rules}}."

[[rules]]
name = "screen"
kind = "new_member"
actions = [{{ do = "delete" }}, {{ do = "ban" }}]
mode = "auto"

[[rules]]
name = "nitro"
kind = "keyword"
keywords = ["free nitro"]
per = "author"
actions = [{{ do = "delete" }}]

[[sources]]
type = "discord"
name = "dc"
token = "{TOKEN}"
guild_ids = ["{GUILD}"]
base_url = "{dc.base_url}"
gateway_url = "ws://127.0.0.1:9/"
backfill = false
"""


def activity(n: int, kind: Kind, uid: str, name: str, text: str = "") -> Activity:
    return Activity(
        platform="discord",
        source_id=str(9000 + n),
        kind=kind,
        ts=utcnow(),
        channel="general",
        channel_id=CHAN,
        author=name,
        author_id=uid,
        author_handle=name.lower(),
        text=text,
        community="main",
    )


async def write(path: Path, rows: list[Activity]) -> None:
    store = await SQLiteStore.open(path)
    try:
        await store.write(rows)
    finally:
        await store.close()


def calls(dc: DiscordStandIn) -> list[tuple[str, str]]:
    return [
        (r.method, r.path.split("/api/v10")[-1])
        for r in dc.requests
        if r.method in ("PUT", "POST", "DELETE", "PATCH")
    ]


async def until(check: object, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():  # type: ignore[operator]
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.1)


async def test_welcome_screen_and_proposal_once_across_kill_9(tmp_path: Path) -> None:
    async with DiscordStandIn() as dc:
        for uid in (BOT, NEWBIE, REGULAR):
            dc.add_member(uid)
        dc.add_channel(CHAN)
        db = tmp_path / "store.db"
        # the regular has been around for a month (no join the cockpit saw)
        old = activity(0, Kind.MESSAGE, REGULAR, "Regular", "hi all")
        await write(db, [replace(old, ts=utcnow() - timedelta(days=30))])
        cfg = tmp_path / "cockpit.toml"
        cfg.write_text(config_text(dc), encoding="utf-8")
        first = Collector(tmp_path, cfg, 1)
        second: Collector | None = None
        try:
            await first.ready()
            await write(
                db,
                [
                    activity(1, Kind.JOIN, NEWBIE, "Newbie"),
                    activity(2, Kind.JOIN, BOT, "Support Bot"),
                    activity(3, Kind.MESSAGE, BOT, "Support Bot",
                             "DM me to claim your airdrop: https://claim-airdrop.xyz/r"),
                    activity(4, Kind.MESSAGE, REGULAR, "Regular", "free nitro for all"),
                ],
            )  # fmt: skip
            for uid, mid in ((BOT, "9003"), (REGULAR, "9004")):
                dc.add_message(CHAN, mid, author=uid)
            want = {
                ("DELETE", f"/channels/{CHAN}/messages/9003"),
                ("PUT", f"/guilds/{GUILD}/bans/{BOT}"),
                ("POST", f"/channels/{CHAN}/messages"),
            }
            await until(lambda: want <= set(calls(dc)))
            await asyncio.sleep(3)  # anything else would have happened by now
            first.proc.send_signal(signal.SIGKILL)
            await first.wait()
            second = Collector(tmp_path, cfg, 2)
            await second.ready()
            await asyncio.sleep(6)  # evaluations, welcomes and the executor have run again
        finally:
            await first.stop()
            if second is not None:
                await second.stop()
        made = calls(dc)
        assert sorted(made) == sorted(want), made  # each once; the regular's post untouched
        [welcome] = [r for r in dc.requests if r.method == "POST"]
        assert f"<@{NEWBIE}>" in (welcome.json or {}).get("content", "")
        store = await SQLiteStore.open(db, readonly=True)
        try:
            cases = await store.moderation.cases(CaseQuery())
        finally:
            await store.close()
        got = sorted((c.operator, c.action, c.state) for c in cases)
        assert got == [
            ("rule:nitro", "delete", "proposed"),
            ("rule:screen", "ban", "done"),
            ("rule:screen", "delete", "done"),
            ("rule:welcome", "say", "done"),
        ]
