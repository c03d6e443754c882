"""End to end, as the issue asks: a real `cockpit collect` holds the Discord and Telegram
tokens (loopback stand-ins serve both APIs and record every request); an attached TUI
(Pilot) bans one person everywhere from the member view; the collector is killed with
SIGKILL while Discord has taken the ban but not yet answered; a new collector starts. Each
platform is called exactly once for the ban, and the case ends complete: done on both, the
Discord step checked on the platform rather than repeated."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from conftest_app import until
from standins.discord import GUILD, TOKEN, DiscordStandIn
from standins.telegram import CHAT, TelegramStandIn
from standins.telegram import TOKEN as TG_TOKEN
from textual.widgets import Input, OptionList, Static

from cockpit.app import CockpitApp
from cockpit.config import load_config
from cockpit.model import Activity, Kind
from cockpit.moderation.repository import CaseQuery
from cockpit.registry import registry as load_registry
from cockpit.store.sqlite import SQLiteStore
from cockpit.timeutil import utcnow
from cockpit.widgets.member import MemberScreen
from cockpit.widgets.messages import OpenMember
from cockpit.widgets.moderation import ActScreen

pytestmark = pytest.mark.timeout(240)

DC_USER = "3000000000000000042"
DC_CHAN = "2000000000000000001"
TG_USER = "777000111"


def config_text(dc: DiscordStandIn, tg: TelegramStandIn) -> str:
    return f"""
[cockpit]
community = "main"
store = "store.db"

[collect]
port = 0

[moderation]
wait = 20

[[sources]]
type = "discord"
name = "dc"
token = "{TOKEN}"
guild_ids = ["{GUILD}"]
base_url = "{dc.base_url}"
gateway_url = "ws://127.0.0.1:9/"
backfill = false

[[sources]]
type = "telegram"
name = "tg"
token = "{TG_TOKEN}"
base_url = "{tg.base_url}"
poll_timeout = 1
"""


async def seed(path: Path) -> int:
    """Mallory on Discord and on Telegram, linked as one person; returns the Discord member."""
    now = utcnow()
    rows = [
        Activity(
            platform="discord",
            source_id="5000",
            kind=Kind.MESSAGE,
            ts=now - timedelta(minutes=5),
            channel="general",
            channel_id=DC_CHAN,
            author="Mallory",
            author_id=DC_USER,
            author_handle="mallory",
            text="free airdrop, claim now",
            community="main",
        ),
        Activity(
            platform="telegram",
            source_id="77",
            kind=Kind.MESSAGE,
            ts=now - timedelta(minutes=4),
            channel="Main chat",
            channel_id=CHAT,
            author="Mallory",
            author_id=TG_USER,
            author_handle="mallory",
            text="free airdrop, claim now",
            community="main",
        ),
    ]
    store = await SQLiteStore.open(path)
    try:
        await store.write(rows)
        members = {m.platform: m for m in await store.find_members("mallory", "main")}
        await store.identity.link(members["discord"].id, members["telegram"].id)
        return members["discord"].id
    finally:
        await store.close()


class Collector:
    """`cockpit collect` in its own process, its log in a file."""

    def __init__(self, tmp: Path, cfg: Path, n: int) -> None:
        self.path = tmp / f"collect-{n}.log"
        self.log = self.path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cockpit", "--config", str(cfg), "collect"],
            cwd=tmp,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    async def ready(self, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while "acting for" not in self.path.read_text(errors="replace"):
            assert self.proc.poll() is None, self.path.read_text()
            assert loop.time() < end, self.path.read_text()
            await asyncio.sleep(0.1)

    async def wait(self) -> None:
        while self.proc.poll() is None:
            await asyncio.sleep(0.05)
        self.log.close()

    async def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            loop = asyncio.get_running_loop()
            end = loop.time() + 30
            while self.proc.poll() is None and loop.time() < end:
                await asyncio.sleep(0.1)
            if self.proc.poll() is None:
                self.proc.kill()
        await self.wait()


def text_of(screen: ActScreen, selector: str) -> str:
    content = screen.query_one(selector, Static).render()
    return getattr(content, "plain", str(content))


def ban_calls(dc: DiscordStandIn, tg: TelegramStandIn) -> tuple[int, int]:
    put = [r for r in dc.seen("PUT") if f"/guilds/{GUILD}/bans/" in r.path]
    banned = tg.seen("POST", "/banChatMember")
    return len(put), len(banned)


async def test_ban_everywhere_from_an_attached_tui_survives_kill_9(tmp_path: Path) -> None:
    async with DiscordStandIn() as dc, TelegramStandIn() as tg:
        dc.add_member(DC_USER)
        dc.add_channel(DC_CHAN)
        tg.add_member(TG_USER)
        held = dc.hold("PUT", "/guilds/{gid}/bans/{uid}")  # takes effect, never answers
        member_id = await seed(tmp_path / "store.db")
        cfg = tmp_path / "cockpit.toml"
        cfg.write_text(config_text(dc, tg), encoding="utf-8")
        registry = load_registry()
        first = Collector(tmp_path, cfg, 1)
        second: Collector | None = None
        try:
            await first.ready()
            app = CockpitApp(
                store_path=tmp_path / "store.db",
                config=load_config(cfg, registry),
                registry=registry,
                attach=True,
            )
            async with app.run_test(size=(80, 24)) as pilot:
                await until(pilot, lambda: app.ready, timeout=30)
                app.post_message(OpenMember(member_id))
                await until(pilot, lambda: isinstance(app.screen, MemberScreen))
                member = app.screen
                assert isinstance(member, MemberScreen)
                await until(pilot, lambda: len(member.accounts()) == 2)
                await pilot.press("A")  # act everywhere
                await until(pilot, lambda: isinstance(app.screen, ActScreen))
                act = app.screen
                assert isinstance(act, ActScreen) and act.everywhere
                choice = act.query_one("#act-choice", OptionList)
                labels = [
                    str(choice.get_option_at_index(i).prompt) for i in range(choice.option_count)
                ]
                await pilot.press(*["down"] * labels.index("ban"), "enter")
                await until(pilot, lambda: bool(act.plans))
                plan = text_of(act, "#act-plan")
                assert "discord" in plan and "telegram" in plan, plan
                reason = act.query_one("#act-reason", Input)
                await until(pilot, lambda: reason.has_focus)
                await pilot.press(*"scam wave", "enter")

                await asyncio.wait_for(held.wait(), 60)  # Discord has banned; no answer yet
                first.proc.send_signal(signal.SIGKILL)
                await first.wait()
                second = Collector(tmp_path, cfg, 2)
                await second.ready()
                await until(pilot, lambda: ": done" in text_of(act, "#act-status"), timeout=60)
        finally:
            await first.stop()
            if second is not None:
                await second.stop()

        assert ban_calls(dc, tg) == (1, 1)  # each platform exactly once
        assert DC_USER in dc.bans and tg.members[TG_USER]["status"] == "kicked"
        store = await SQLiteStore.open(tmp_path / "store.db", readonly=True)
        try:
            (case,) = await store.moderation.cases(CaseQuery())
            assert case.state == "done" and case.operator and case.reason == "scam wave"
            assert sorted(s.target.platform for s in case.steps) == ["discord", "telegram"]
            assert all(s.status == "done" for s in case.steps)
            kinds = [e.kind for e in case.events]
            assert kinds[0] == "requested" and "verified" in kinds, kinds
            assert case.person_id is not None
            found = await store.moderation.restrictions([member_id], utcnow())
            assert [r.platform for r in found] == ["discord"]
        finally:
            await store.close()
