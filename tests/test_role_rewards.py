"""Role rewards on a real SQLite file, carried out on a loopback Discord stand-in that
records every request: levels from the 30-day leaderboard become roles as people rise, the
old role goes as they move up or fall, once a day per account, each change a case; a
platform without roles is named and skipped; a role a moderator gave by hand is left
alone; a failed change is asked again the next day, never twice the same day."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from standins.discord import GUILD, TOKEN, DiscordStandIn

from cockpit.cli import main
from cockpit.config import CockpitSettings, Config, SourceConfig
from cockpit.model import Activity, Kind
from cockpit.moderation import service
from cockpit.moderation.config import ModerationSettings
from cockpit.moderation.executor import ActionExecutor
from cockpit.moderation.repository import Case, CaseQuery
from cockpit.moderation.role_rewards import OPERATOR, RoleSync, apply_changes, plan_changes
from cockpit.moderation.targets import resolve
from cockpit.plugin_api import SourceContext
from cockpit.plugins.discord import DiscordSettings
from cockpit.plugins.discord.actions import DiscordActor
from cockpit.registry import registry as load_registry
from cockpit.scoring.config import Levels, ScoringSettings
from cockpit.store.sqlite import SQLiteStore

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CORE = "1100000000000000042"
CONTRIB = "1100000000000000043"
LENA, ANA, BOB = "3000000000000000501", "3000000000000000502", "3000000000000000503"
ROLES = {"core": {"discord": CORE, "telegram": "77"}, "contributor": {"discord": CONTRIB}}


def posts(uid: str, name: str, n: int, end: datetime, platform: str = "discord") -> list[Activity]:
    """`n` substantive messages, three minutes apart (past the cooldown), up to `end`."""
    return [
        Activity(
            platform=platform,
            source_id=f"{uid}-{end:%j}-{i}",
            kind=Kind.MESSAGE,
            ts=end - timedelta(minutes=3 * i),
            channel="general",
            channel_id="2000000000000000001",
            author=name,
            author_id=uid,
            author_handle=name.lower(),
            text=f"a substantive message about staking, number {i}",
            community="main",
        )
        for i in range(n)
    ]


def config(roles: dict[str, Any] | None = None) -> Config:
    dc = SourceConfig(
        "dc", "discord", "main", True, DiscordSettings(token=TOKEN, guild_ids=[GUILD])
    )
    scoring = ScoringSettings(
        levels=Levels(regular=1, contributor=5, core=20),
        roles=ROLES if roles is None else roles,
    )
    return Config(
        None,
        CockpitSettings(community="main"),
        None,
        [dc],
        sections={"moderation": ModerationSettings(wait=5), "scoring": scoring},
    )


class Rig:
    def __init__(self, store: SQLiteStore, dc: DiscordStandIn) -> None:
        self.store, self.dc, self.cfg = store, dc, config()
        self.registry = load_registry()
        settings = DiscordSettings(token=TOKEN, guild_ids=[GUILD], base_url=dc.base_url)
        self.actor = DiscordActor(settings, SourceContext("dc", "main", Path(".")))
        self.executor = ActionExecutor(store, {("discord", "main"): self.actor}, "test:1:roles")

    async def write(self, rows: list[Activity]) -> None:
        await self.store.write(rows)
        await self.store.scoring(self.cfg.scoring).catch_up()

    async def sync(self, now: datetime) -> list[str]:
        """Plan and ask; the token holder carries out; the role calls made, in order."""
        before = len(self.dc.requests)
        changes = await plan_changes(self.store, self.cfg, self.registry, "main", now)
        await apply_changes(self.store, self.cfg, "main", changes, now)
        await self.executor.run_once()
        return [
            f"{r.method} {r.path.split(f'/guilds/{GUILD}/members/')[-1]}"
            for r in self.dc.requests[before:]
            if "/roles/" in r.path
        ]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = await SQLiteStore.open(tmp_path / "store.db")
    async with DiscordStandIn() as dc:
        dc.roles |= {CORE, CONTRIB}
        for uid in (LENA, ANA, BOB):
            dc.add_member(uid)
        r = Rig(store, dc)
        try:
            yield r
        finally:
            await r.actor.aclose()
            await store.close()


async def test_roles_follow_levels_up_and_down_once_a_day(rig: Rig) -> None:
    await rig.write(posts(LENA, "Lena", 60, NOW))  # 30 points: core
    await rig.write(posts(ANA, "Ana", 14, NOW))  # 7: contributor
    await rig.write(posts(BOB, "Bob", 3, NOW))  # 1.5: regular, which has no role
    await rig.write(posts("tg-9", "Tomo", 60, NOW, platform="telegram"))

    plan = await plan_changes(rig.store, rig.cfg, rig.registry, "main", NOW)
    lines = [c.line() for c in plan]
    assert [(c.action, c.user_id, c.role, c.skip) for c in plan] == [
        ("role_add", LENA, CORE, None),
        ("role_add", ANA, CONTRIB, None),
        ("role_add", "tg-9", "77", "telegram cannot role add from the cockpit"),
    ]
    assert lines[0].startswith("give core role 1100000000000000042 to @lena on discord: level core")

    assert await rig.sync(NOW) == [f"PUT {LENA}/roles/{CORE}", f"PUT {ANA}/roles/{CONTRIB}"]
    assert rig.dc.members[LENA]["roles"] == [CORE] and rig.dc.members[ANA]["roles"] == [CONTRIB]
    cases = await rig.store.moderation.cases(CaseQuery())
    assert {(c.action, c.role, c.state, c.operator) for c in cases} == {
        ("role_add", CORE, "done", OPERATOR),
        ("role_add", CONTRIB, "done", OPERATOR),
    }
    assert all(c.reason.startswith("role reward: level ") for c in cases)
    # the same day again (a restart, a sync by hand): nothing more
    assert await rig.sync(NOW + timedelta(hours=3)) == []
    assert len(await rig.store.moderation.cases(CaseQuery())) == 2

    # the next day Ana is core: the contributor role goes first, then core comes
    day2 = NOW + timedelta(days=1)
    await rig.write(posts(ANA, "Ana", 40, day2))
    assert await rig.sync(day2) == [f"DELETE {ANA}/roles/{CONTRIB}", f"PUT {ANA}/roles/{CORE}"]
    assert rig.dc.members[ANA]["roles"] == [CORE]

    # six weeks of silence: both fall below contributor, and their core roles are taken
    later = NOW + timedelta(days=45)
    assert await rig.sync(later) == [f"DELETE {LENA}/roles/{CORE}", f"DELETE {ANA}/roles/{CORE}"]
    assert rig.dc.members[LENA]["roles"] == [] and rig.dc.members[ANA]["roles"] == []
    assert await rig.sync(later + timedelta(days=1)) == []
    # role changes are not moderation: the automation caps do not count them
    assert await rig.store.moderation.automatic_steps(NOW - timedelta(days=1)) == 0


async def test_a_failed_change_is_asked_again_the_next_day_only(rig: Rig) -> None:
    await rig.write(posts(LENA, "Lena", 60, NOW))
    rig.dc.granted.discard("MANAGE_ROLES")
    assert await rig.sync(NOW) == [f"PUT {LENA}/roles/{CORE}"]
    (case,) = await rig.store.moderation.cases(CaseQuery())
    assert case.state == "failed" and "MANAGE_ROLES" in case.steps[0].detail
    # the same day: listed, but asked once (the day's case answers for it)
    assert await rig.sync(NOW + timedelta(hours=1)) == []
    assert len(await rig.store.moderation.cases(CaseQuery())) == 1
    rig.dc.granted.add("MANAGE_ROLES")
    assert await rig.sync(NOW + timedelta(days=1)) == [f"PUT {LENA}/roles/{CORE}"]
    assert rig.dc.members[LENA]["roles"] == [CORE]


async def test_a_role_given_by_hand_is_not_taken_and_unmapped_roles_are_left(rig: Rig) -> None:
    await rig.write(posts(BOB, "Bob", 3, NOW))
    await rig.write(posts(LENA, "Lena", 60, NOW))
    # a moderator gives Bob the core role by hand
    plan = await resolve(rig.store, rig.registry, rig.cfg, "role_add", "bob", community="main")
    await service.submit(
        rig.store, rig.cfg, plan, reason="hosts our AMAs", operator="alice", now=NOW, role=CORE
    )
    assert await rig.sync(NOW) == [f"PUT {BOB}/roles/{CORE}", f"PUT {LENA}/roles/{CORE}"]
    assert all(c.user_id != BOB for c in await plan_changes(
        rig.store, rig.cfg, rig.registry, "main", NOW + timedelta(days=2)
    ))  # fmt: skip
    # the core role is no longer mapped: Lena falls, and the role is not the cockpit's to take
    rig.cfg = config({"contributor": {"discord": CONTRIB}})
    assert await rig.sync(NOW + timedelta(days=45)) == []
    assert rig.dc.members[LENA]["roles"] == [CORE]


async def test_the_daily_job_syncs_once_per_day(rig: Rig) -> None:
    await rig.write(posts(LENA, "Lena", 60, NOW))
    clock = [NOW]
    job = RoleSync(rig.store, rig.registry, rig.cfg, clock=lambda: clock[0])
    assert len(await job.tick()) == 1
    assert await job.tick() == []  # the same day: not even planned
    clock[0] = NOW + timedelta(days=1)
    assert await job.tick() == []  # planned: nothing changed
    assert job.synced == "2026-11-03"


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ({"legend": {"discord": "1"}}, "'legend': expected a level (regular, contributor, core)"),
        ({"core": "123"}, 'core: expected { platform = "ROLE_ID" }'),
        ({"core": {}}, 'core: expected { platform = "ROLE_ID" }'),
        ({"core": {"discord": ""}}, "core.discord: expected the role's id"),
        ({"core": {"discord": True}}, "core.discord: expected the role's id"),
    ],
)
def test_bad_role_maps_are_refused_in_one_line(roles: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ScoringSettings(roles=roles)
    assert f"[scoring.roles] {message}" in str(caught.value)


def test_role_ids_may_be_numbers_and_are_kept_as_text() -> None:
    s = ScoringSettings.model_validate({"roles": {"core": {"discord": 1100000000000000042}}})
    assert s.roles == {"core": {"discord": "1100000000000000042"}}


async def seed(path: Path, rows: list[Activity]) -> None:
    store = await SQLiteStore.open(path)
    await store.write(rows)
    await store.close()


async def logged(path: Path) -> list[Case]:
    store = await SQLiteStore.open(path)
    try:
        return await store.moderation.cases(CaseQuery())
    finally:
        await store.close()


def test_cli_sync_roles_dry_run_then_for_real(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "store.db"
    asyncio.run(seed(db, posts(LENA, "Lena", 60, datetime.now(UTC) - timedelta(hours=1))))
    cfg = tmp_path / "cockpit.toml"
    base = (
        '[cockpit]\ncommunity = "main"\nstore = "store.db"\n\n'
        "[scoring.levels]\nregular = 1\ncontributor = 5\ncore = 20\n\n"
    )
    cfg.write_text(base, encoding="utf-8")
    assert main(["--config", str(cfg), "leaderboard", "--sync-roles"]) == 1
    assert "no [scoring.roles]" in capsys.readouterr().err
    cfg.write_text(base + f'[scoring.roles]\ncore = {{ discord = "{CORE}" }}\n', encoding="utf-8")
    assert main(["--config", str(cfg), "leaderboard", "--dry-run"]) == 1
    assert "only with --sync-roles" in capsys.readouterr().err

    assert main(["--config", str(cfg), "leaderboard", "--sync-roles", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"would: give core role {CORE} to @lena on discord: level core")
    assert asyncio.run(logged(db)) == []  # a dry run asks nothing

    assert main(["--config", str(cfg), "leaderboard", "--sync-roles", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["action"], row["role"], row["user_id"], row["left"]) == (
        "role_add",
        CORE,
        LENA,
        None,
    )
    (case,) = asyncio.run(logged(db))
    assert row["case"] == case.number and case.state == "pending" and case.role == CORE
    # asked again the same day: nothing new
    assert main(["--config", str(cfg), "leaderboard", "--sync-roles"]) == 0
    assert "roles are in step" in capsys.readouterr().out


def test_mod_role_add_needs_a_role_and_role_needs_a_role_action(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(seed(tmp_path / "store.db", posts(LENA, "Lena", 1, NOW)))
    cfg = tmp_path / "cockpit.toml"
    cfg.write_text('[cockpit]\ncommunity = "main"\nstore = "store.db"\n', encoding="utf-8")
    code = main(["--config", str(cfg), "mod", "ban", "lena", "--reason", "r", "--role", "1"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "--role: only role_add and role_remove take a role, not ban" in err
    code = main(["--config", str(cfg), "mod", "role_add", "lena", "--reason", "helps a lot"])
    err = capsys.readouterr().err
    assert code == 1 and "role_add needs the platform's role id (--role ID)" in err
    assert asyncio.run(logged(tmp_path / "store.db")) == []
