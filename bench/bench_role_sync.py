"""The daily role-reward sync on a community of many members: planning (the 30-day
leaderboard of everyone, the accounts, the replay of the role log) and asking (one case per
change), then the next day's plan once those roles are given. On SQLite and PostgreSQL.

Budget: the sync of 20,000 members with several thousand changes well under a minute (it
runs once a day, in the background, under the reminders' lease).

Run: .venv/bin/python bench/bench_role_sync.py [--members 20000] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pgbench_server import server

from cockpit.config import CockpitSettings, Config, SourceConfig
from cockpit.model import Activity, Kind
from cockpit.moderation.repository import CaseQuery
from cockpit.moderation.role_rewards import apply_changes, plan_changes
from cockpit.plugin_api import ActionOutcome
from cockpit.plugins.discord import DiscordSettings
from cockpit.registry import registry as load_registry
from cockpit.scoring.config import Levels, ScoringSettings
from cockpit.store import open_store

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
ROLES = {"core": {"discord": "3"}, "contributor": {"discord": "2"}, "regular": {"discord": "1"}}


def config() -> Config:
    dc = SourceConfig("dc", "discord", "main", True, DiscordSettings(token="x", guild_ids=["1"]))
    scoring = ScoringSettings(levels=Levels(regular=2, contributor=10, core=40), roles=ROLES)
    return Config(
        None, CockpitSettings(community="main"), None, [dc], sections={"scoring": scoring}
    )


def community(members: int, seed: int = 7) -> list[Activity]:
    """Messages over 30 days from a long-tailed crowd (a few post a lot, most a little)."""
    rng = random.Random(seed)
    out: list[Activity] = []
    for m in range(members):
        n = min(int(rng.paretovariate(1.2)), 200)
        for i in range(n):
            out.append(
                Activity(
                    platform="discord",
                    source_id=f"{m}-{i}",
                    kind=Kind.MESSAGE,
                    ts=NOW - timedelta(minutes=rng.uniform(0, 30 * 1440)),
                    channel="general",
                    channel_id="10",
                    author=f"member {m}",
                    author_id=str(10_000 + m),
                    author_handle=f"m{m}",
                    text="a substantive message about the release notes",
                    community="main",
                )
            )
    return out


async def run(target: str, rows: list[Activity]) -> list[tuple[str, float, int]]:
    cfg, reg = config(), load_registry()
    store = await open_store(target)
    out: list[tuple[str, float, int]] = []
    try:
        for i in range(0, len(rows), 5000):
            await store.write(rows[i : i + 5000])
        await store.scoring(cfg.scoring).catch_up()
        t = time.perf_counter()
        changes = await plan_changes(store, cfg, reg, "main", NOW)
        out.append(("plan, day 1", time.perf_counter() - t, len(changes)))
        t = time.perf_counter()
        made = await apply_changes(store, cfg, "main", changes, NOW)
        out.append(("ask, day 1", time.perf_counter() - t, len(made)))
        # the token holder did them all (as the executor would mark them)
        for _, case in made:
            await store.moderation.finish(case.steps[0], ActionOutcome("done", "ok"), NOW)
        day2 = NOW + timedelta(days=1)
        t = time.perf_counter()
        again = await plan_changes(store, cfg, reg, "main", day2)
        out.append(("plan, day 2", time.perf_counter() - t, len(again)))
        assert len(await store.moderation.cases(CaseQuery(limit=10))) == 10
    finally:
        await store.close()
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=20_000)
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    ap.add_argument("--url", help="a PostgreSQL admin URL (default: a throwaway server)")
    a = ap.parse_args()
    rows = community(a.members)
    print(f"{a.members} members, {len(rows)} messages over 30 days")
    with tempfile.TemporaryDirectory() as tmp, server(a.url) as srv:
        targets = {"sqlite": str(Path(tmp) / "a.db"), "postgresql": srv.fresh_db()}
        print(f"{'store':<12} {'step':<12} {'seconds':>8} {'changes':>8}")
        total: dict[str, float] = {}
        for name, target in targets.items():
            if a.only and name != a.only:
                continue
            for step, seconds, n in await run(target, rows):
                total[name] = total.get(name, 0.0) + seconds
                print(f"{name:<12} {step:<12} {seconds:8.2f} {n:8d}")
        for name, seconds in total.items():
            verdict = "met" if seconds < 60 else "MISSED"
            print(f"{name:<12} {'all':<12} {seconds:8.2f}           (budget < 60 s: {verdict})")
        srv.drop_db(targets["postgresql"])


if __name__ == "__main__":
    asyncio.run(main())
