"""The demo's hands: every action on every simulated platform is done, and what a ban, a
timeout or a lock means shows in what the simulated members can still post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cockpit.model import Activity, Kind
from cockpit.plugin_api import ACTIONS, ActionCall, ActionTarget, SourceContext
from cockpit.plugins.demo import DemoSettings, plugin
from cockpit.plugins.demo.actions import PLATFORMS, state_of

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def actor(name: str):  # type: ignore[no-untyped-def]
    st = plugin.sources["demo"]
    assert st.actor is not None
    return st.actor(DemoSettings(), SourceContext(name, "main", Path(".")))


def post(platform: str, author: str = "u1", channel: str = "c1", at: datetime = NOW) -> Activity:
    return Activity(
        platform=platform,
        source_id=f"{author}-{at.timestamp()}",
        kind=Kind.MESSAGE,
        ts=at,
        channel="general",
        author=author,
        author_id=author,
        channel_id=channel,
        text="hi",
    )


def call(action: str, platform: str, **kw: object) -> ActionCall:
    target = ActionTarget(platform, "main", "u1", "c1", ("m1", "m2"), "@u1")
    return ActionCall(action, target, "demo", f"k-{action}-{platform}", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_every_action_is_done_on_every_platform(platform: str) -> None:
    a = actor(f"demo-all-{platform}")
    assert a.actions[platform] == ACTIONS
    for action in sorted(ACTIONS):
        until = NOW + timedelta(hours=1) if action in ("timeout",) else None
        out = await a.perform(
            call(action, platform, until=until, text="hello", slowmode_seconds=5, role="42")
        )
        assert out.status == "done", (action, out.detail)
        assert out.detail and "\n" not in out.detail
    await a.aclose()


async def test_banned_and_timed_out_members_stop_posting_locked_channels_go_quiet() -> None:
    name = "demo-effects"
    a = actor(name)
    state = state_of(name)
    assert state.allows(post("discord"))
    await a.perform(call("ban", "discord"))
    assert not state.allows(post("discord"))
    assert state.allows(post("telegram"))  # only where the ban is
    await a.perform(call("unban", "discord"))
    assert state.allows(post("discord"))
    await a.perform(call("timeout", "slack", until=NOW + timedelta(hours=1)))
    assert not state.allows(post("slack"))
    assert state.allows(post("slack", at=NOW + timedelta(hours=2)))  # the time is up
    lock = await a.perform(call("lock", "telegram"))
    assert not state.allows(post("telegram", author="someone-else"))
    await a.perform(call("unlock", "telegram", restore=lock.restore))
    assert state.allows(post("telegram", author="someone-else"))
    checked = await a.verify(call("ban", "discord"))
    assert checked is not None and checked.status == "failed"
    await a.aclose()
