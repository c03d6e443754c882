"""Acting from the TUI (Pilot): `a` on a feed row opens the Act dialog with only what the
platform supports; choosing ban shows the plan; a reason and Enter submit it through the
same service as `cockpit mod`; the token holder's answer shows in the dialog and in the
Cases view (key C). Without a token holder the request is withdrawn, never run later."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest_app import NOW, config, seed_store, until
from rich.text import Text
from textual.widgets import DataTable, Input, OptionList, Static

from cockpit.alerts.engine import Alert
from cockpit.app import CockpitApp
from cockpit.config import Config, SourceConfig
from cockpit.moderation import service
from cockpit.moderation.alert_targets import resolve_alert
from cockpit.moderation.config import ModerationSettings
from cockpit.moderation.executor import ActionExecutor
from cockpit.moderation.repository import CaseQuery
from cockpit.plugin_api import ACTIONS, ActionCall, ActionOutcome
from cockpit.plugins.demo import DemoSettings
from cockpit.registry import registry as load_registry
from cockpit.store.base import FeedQuery
from cockpit.store.sqlite import SQLiteStore
from cockpit.widgets.alerts import AlertsPane
from cockpit.widgets.member import MemberScreen
from cockpit.widgets.member_cases import ModerationRecord, NoteScreen
from cockpit.widgets.moderation import ActScreen, CasesScreen


class Recorder:
    def __init__(self, platforms: list[str]) -> None:
        self.actions = {p: ACTIONS for p in platforms}
        self.calls: list[ActionCall] = []

    async def perform(self, call: ActionCall) -> ActionOutcome:
        self.calls.append(call)
        return ActionOutcome("done", f"banned {call.target.label}")

    async def verify(self, call: ActionCall) -> ActionOutcome | None:
        return None

    async def aclose(self) -> None:
        pass


def demo_config(wait: float) -> Config:
    base = config()
    demo = SourceConfig("demo", "demo", base.cockpit.community, True, DemoSettings())
    return Config(
        None,
        base.cockpit,
        None,
        [demo],
        sections={"moderation": ModerationSettings(wait=wait, reasons=["Spam", "Scam link"])},
    )


def app_on(path: Path, wait: float) -> CockpitApp:
    return CockpitApp(
        store_path=path,
        config=demo_config(wait),
        registry=load_registry(),
        attach=False,
        clock=lambda: NOW,
        live=False,
    )


def options(screen: ActScreen) -> list[str]:
    listing = screen.query_one("#act-choice", OptionList)
    return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]


def status(screen: ActScreen) -> str:
    content = screen.query_one("#act-status", Static).render()
    return content.plain if isinstance(content, Text) else str(content)


async def test_ban_from_a_feed_row_through_the_token_holder(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await seed_store(path)
    app = app_on(path, wait=10)
    holder = await SQLiteStore.open(path)
    actor = Recorder(["telegram", "discord", "slack", "whatsapp", "discourse"])
    pairs = {(p, "acme"): actor for p in actor.actions}
    executor = ActionExecutor(holder, pairs, "test:1:x", wake_every=0.1)
    await executor.start()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.ready)
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ActScreen))
            screen = app.screen
            assert isinstance(screen, ActScreen)
            assert options(screen)[:4] == [
                "delete this message",
                "warn the author (a reply)",
                "time out the author",
                "ban the author",
            ]
            await pilot.press("down", "down", "down", "enter")  # ban
            await until(pilot, lambda: bool(screen.plans))
            reason = screen.query_one("#act-reason", Input)
            await until(pilot, lambda: reason.has_focus)
            await pilot.press("S", "p", "right")  # the preset completes
            assert reason.value == "Spam"
            await pilot.press("enter")
            await until(pilot, lambda: ": done" in status(screen), timeout=20)
            assert [c.action for c in actor.calls] == ["ban"]
            assert actor.calls[0].reason == "Spam"
            await pilot.press("escape")
            await pilot.press("C")
            await until(pilot, lambda: isinstance(app.screen, CasesScreen))
            table = app.screen.query_one(DataTable)
            await until(pilot, lambda: table.row_count == 1)
            assert "done" in str(table.get_row_at(0)[2])
            # n: a note on the case, which also lands on the member's record
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, NoteScreen))
            await pilot.press(*"appeal by mail", "enter")
            cases = app.screen
            assert isinstance(cases, CasesScreen)
            await until(pilot, lambda: any(e.kind == "note" for e in cases.cases[0].events))
            record = await holder.moderation.notes([cases.cases[0].member_id or 0])
            assert [n.text for n in record] == ["case 1: appeal by mail"]
            # r: revert it (an unban through the token holder), a new case linked to the first
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, NoteScreen))
            await pilot.press("enter")  # the default reason
            await until(pilot, lambda: table.row_count == 2, timeout=20)
            await until(pilot, lambda: [c.state for c in cases.cases] == ["done", "reverted"])
            assert [c.action for c in actor.calls] == ["ban", "unban"]
            assert actor.calls[1].reason == "revert case 1"
            assert cases.cases[0].reverts == 1
            await pilot.press("r")  # an unban cannot be undone: nothing is asked, nothing runs
            await pilot.pause()
            assert isinstance(app.screen, CasesScreen)
    finally:
        await executor.stop()
        await holder.close()


async def test_without_a_token_holder_the_dialog_says_withdrawn(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await seed_store(path)
    app = app_on(path, wait=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.ready)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ActScreen))
        screen = app.screen
        assert isinstance(screen, ActScreen)
        await pilot.press("down", "down", "down", "enter")
        await until(pilot, lambda: bool(screen.plans))
        await pilot.press(*"raid", "enter")
        await until(pilot, lambda: "withdrawn" in status(screen), timeout=20)
    store = await SQLiteStore.open(path)
    try:
        from cockpit.moderation.repository import CaseQuery

        cases = await store.moderation.cases(CaseQuery())
        assert [c.state for c in cases] == ["withdrawn"]
        assert await store.moderation.claim([("telegram", "acme")], "late", NOW) == []
    finally:
        await store.close()
    await asyncio.sleep(0)


def plain(widget: Static) -> str:
    content = widget.render()
    return content.plain if isinstance(content, Text) else str(content)


async def test_member_view_acts_shows_the_record_and_keeps_notes(tmp_path: Path) -> None:
    """`m` on a feed row, then: the record says nothing yet; `n` leaves a note; `a` bans
    the account through the token holder; the record then shows the ban and the note."""
    path = tmp_path / "s.db"
    await seed_store(path)
    app = app_on(path, wait=10)
    holder = await SQLiteStore.open(path)
    actor = Recorder(["telegram", "discord", "slack", "whatsapp", "discourse"])
    pairs = {(p, "acme"): actor for p in actor.actions}
    executor = ActionExecutor(holder, pairs, "test:1:x", wake_every=0.1)
    await executor.start()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.ready)
            await pilot.press("m")
            await until(pilot, lambda: isinstance(app.screen, MemberScreen))
            member = app.screen
            assert isinstance(member, MemberScreen)
            record = member.query_one(ModerationRecord)
            await until(pilot, lambda: "no cases, no notes" in plain(record))
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, NoteScreen))
            await pilot.press(*"warned in DM", "enter")
            await until(pilot, lambda: "warned in DM" in plain(record))
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, ActScreen))
            act = app.screen
            assert isinstance(act, ActScreen) and act.kind == "member"
            assert options(act) == ["time out", "ban", "kick", "unban"]
            await pilot.press("down", "enter")  # ban
            await until(pilot, lambda: bool(act.plans))
            await pilot.press(*"Spam", "enter")
            await until(pilot, lambda: ": done" in status(act), timeout=20)
            assert [c.action for c in actor.calls] == ["ban"]
            await pilot.press("escape")
            await until(pilot, lambda: "banned on" in plain(record), timeout=10)
            assert "case 1" in plain(record) and "warned in DM" in plain(record)
    finally:
        await executor.stop()
        await holder.close()


async def test_alerts_pane_acts_on_what_an_alert_points_at(tmp_path: Path) -> None:
    """`A` on an alert: the plan deletes its messages per channel, reviewed first."""
    path = tmp_path / "s.db"
    await seed_store(path)
    store = await SQLiteStore.open(path)
    rows = await store.feed(FeedQuery(limit=3))
    alert = Alert("fp", "scam", "critical", {"community": "acme"}, {}, [], "firing", 0, 0)
    alert.ids, alert.summary, alert.fired_at = [r.id for r in rows], "'airdrop' x3", 0
    await store.alerts.save([alert], 0)
    await store.close()
    app = app_on(path, wait=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.ready)
        await pilot.press("2")  # the Alerts pane
        await until(pilot, lambda: app.query_one(AlertsPane).current is not None)
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, ActScreen))
        act = app.screen
        assert isinstance(act, ActScreen) and act.kind == "alert"
        assert options(act)[0] == "delete its messages and time out their authors"
        await pilot.press("enter")
        await until(pilot, lambda: bool(act.plans))
        assert [p.action for p in act.plans] == ["delete", "timeout"]
        assert all(p.alert_id is not None for p in act.plans)
        shown = plain(act.query_one("#act-plan", Static))
        assert "delete" in shown and "timeout" in shown
        assert act.query_one("#act-for", Input).value == "1h"


async def test_alerts_pane_confirms_a_rule_proposal_with_one_key(tmp_path: Path) -> None:
    """A rule proposed a delete for an alert: the row says so, `y` confirms it (the token
    holder runs it once), `n` on another alert rejects its proposal (nothing runs)."""
    path = tmp_path / "s.db"
    await seed_store(path)
    store = await SQLiteStore.open(path)
    rows = await store.feed(FeedQuery(limit=4))
    for n, part in enumerate((rows[:2], rows[2:])):
        alert = Alert(f"fp{n}", "scam", "critical", {"community": "acme"}, {}, [], "firing", 0, 0)
        alert.ids, alert.summary, alert.fired_at = [r.id for r in part], f"'airdrop' {n}", 0
        await store.alerts.save([alert], 0)
    cfg = demo_config(10)
    registry = load_registry()
    for alert_row in await store.alerts.alerts():
        plan = await resolve_alert(store, registry, cfg, "delete", alert_row.id)
        await service.submit(
            store,
            cfg,
            plan,
            reason="rule scam",
            operator="rule:scam",
            now=NOW,
            status="proposed",
            origin=f"rule:scam:alert:{alert_row.id}:0",
        )
    actor = Recorder(["telegram", "discord", "slack", "whatsapp", "discourse"])
    executor = ActionExecutor(
        store, {(p, "acme"): actor for p in actor.actions}, "test:1:x", wake_every=0.1
    )
    await executor.start()
    app = app_on(path, wait=10)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.ready)
            await pilot.press("2")
            pane = app.query_one(AlertsPane)
            await until(pilot, lambda: pane.current is not None and pane.snapshot is not None)
            await until(pilot, lambda: len(pane.snapshot.proposed or {}) == 2)  # type: ignore[union-attr]
            first = pane.current
            assert first is not None
            assert "⚑ delete? y/n" in pane.table.get_row(str(first.id))[-1].plain
            await pilot.press("y")
            await until(pilot, lambda: len(actor.calls) >= 1, timeout=20)
            await pilot.press("down", "n")
            await until(pilot, lambda: not (pane.snapshot.proposed or {}), timeout=20)  # type: ignore[union-attr]
            await pilot.pause(0.5)
            assert [c.action for c in actor.calls] == ["delete"]
    finally:
        await executor.stop()
    states = sorted(c.state for c in await store.moderation.cases(CaseQuery()))
    await store.close()
    assert states == ["done", "rejected"]
