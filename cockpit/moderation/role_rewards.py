"""Role rewards: levels and badges from the 30-day leaderboard synced to platform roles
(`[scoring.roles] core = { discord = "ROLE_ID" }`), added as people rise and removed as they
fall, at most once a day per account, each change a case by "rule:roles".

Which roles the cockpit gave is replayed from its own case log, not asked of the platform:
it only ever takes back a role it gave, so a role a moderator handed out by hand is left
alone. A change that failed is tried again the next day; one still pending (nobody holds
the token yet) is not asked for twice. The case's origin names the account, role, action
and day, so a sync run twice the same day (a restart, `--sync-roles` by hand after the
daily run) asks once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cockpit.config import Config
from cockpit.errors import CockpitError
from cockpit.moderation import service
from cockpit.moderation.repository import Case, RoleStep
from cockpit.moderation.targets import Plan, Planned, capabilities, member_label
from cockpit.plugin_api import ActionTarget
from cockpit.registry import Registry
from cockpit.scoring.leaderboard import Standing, leaderboard
from cockpit.scoring.rank import badge_kind
from cockpit.store.base import MemberRow, Store
from cockpit.timeutil import utcnow, zone

log = logging.getLogger(__name__)
OPERATOR = "rule:roles"
WINDOW = "30d"
# what a role's last step says about it: given (or about to be), taken, or not settled
INTENDED = frozenset({"pending", "claimed", "done", "unknown"})


@dataclass(frozen=True, slots=True)
class RoleChange:
    """One role to give or take on one account, or why it is left for now."""

    action: str  # role_add | role_remove
    reward: str  # the level or badge kind ("core", "helpful")
    role: str
    platform: str
    user_id: str
    member_id: int | None
    label: str  # "@lena on discord"
    why: str
    skip: str | None = None  # set: not asked for now, and why

    @property
    def origin(self) -> str:
        return f"roles:{self.platform}:{self.user_id}:{self.role}:{self.action}"

    def line(self) -> str:
        verb = "give" if self.action == "role_add" else "take"
        prep = "to" if self.action == "role_add" else "from"
        head = f"{verb} {self.reward} role {self.role} {prep} {self.label}: {self.why}"
        return f"{head} (left: {self.skip})" if self.skip else head


def rewards_of(s: Standing) -> list[tuple[str, str]]:
    """(reward, why) for one leaderboard row: its level and its badges."""
    out = [(s.level, f"level {s.level} (score {s.score:.0f} over 30 days)")]
    out += [(badge_kind(b), f"badge '{b}'") for b in s.badges]
    return out


def community_day(config: Config, now: datetime) -> str:
    """The day in the cockpit's zone: what "once a day" counts."""
    return now.astimezone(zone(config.cockpit.timezone)).strftime("%Y-%m-%d")


def held_roles(
    steps: Sequence[RoleStep],
) -> tuple[dict[tuple[str, str, str], RoleStep], dict[tuple[str, str], datetime]]:
    """From the log: the last settled step per (platform, user, role), and when each
    account last had a role change asked for."""
    last: dict[tuple[str, str, str], RoleStep] = {}
    changed: dict[tuple[str, str], datetime] = {}
    for st in steps:  # oldest first
        if st.status not in INTENDED:
            continue  # failed, withdrawn, rejected or a dry run: as if never asked
        last[(st.platform, st.user_id, st.role)] = st
        account = (st.platform, st.user_id)
        changed[account] = max(changed.get(account, st.created), st.created)
    return last, changed


async def plan_changes(
    store: Store, config: Config, registry: Registry, community: str, now: datetime
) -> list[RoleChange]:
    """What a sync would change now, including what it leaves for later and why."""
    mapping = config.scoring.roles
    if not mapping:
        return []
    scoring = store.scoring(config.scoring)
    board = await leaderboard(scoring, community, WINDOW, now, limit=None, influence=False)
    platforms = sorted({p for roles in mapping.values() for p in roles})
    accounts: dict[int, MemberRow] = {}
    for p in platforms:
        for m in await store.members(community=community, platform=p):
            accounts[m.id] = m
    managed = {(p, role): reward for reward, roles in mapping.items() for p, role in roles.items()}

    wanted: dict[tuple[str, str, str], tuple[str, str, MemberRow]] = {}
    for s in board:
        for reward, why in rewards_of(s):
            roles = mapping.get(reward, {})
            for mid in s.who.member_ids:
                account = accounts.get(mid)
                if account is None or account.platform not in roles or account.is_bot:
                    continue
                key = (account.platform, account.platform_user_id, roles[account.platform])
                wanted.setdefault(key, (reward, why, account))

    last, changed = held_roles(await store.moderation.role_steps(community, OPERATOR))
    caps = capabilities(registry, config)
    today = community_day(config, now)
    out: list[RoleChange] = []

    def skip_for(platform: str, user_id: str, action: str) -> str | None:
        if action not in caps.get(platform, frozenset()):
            return f"{platform} cannot {action.replace('_', ' ')} from the cockpit"
        at = changed.get((platform, user_id))
        if at is not None and community_day(config, at) == today:
            return "this account's roles changed today already; tomorrow"
        return None

    for (platform, uid, role), (reward, why, m) in sorted(wanted.items()):
        had = last.get((platform, uid, role))
        if had is not None and had.action == "role_add":
            continue  # given (or on its way)
        out.append(
            RoleChange(
                "role_add",
                reward,
                role,
                platform,
                uid,
                m.id,
                member_label(m),
                why,
                skip_for(platform, uid, "role_add"),
            )
        )
    for (platform, uid, role), had in sorted(last.items()):
        if had.action != "role_add" or (platform, uid, role) in wanted:
            continue
        mapped = managed.get((platform, role))
        if mapped is None:
            continue  # no longer mapped in cockpit.toml: not ours to manage any more
        row = accounts.get(had.member_id) if had.member_id is not None else None
        label = member_label(row) if row is not None else f"{uid} on {platform}"
        out.append(
            RoleChange(
                "role_remove",
                mapped,
                role,
                platform,
                uid,
                had.member_id,
                label,
                f"no longer {mapped} on the 30-day leaderboard",
                skip_for(platform, uid, "role_remove"),
            )
        )
    # an account rising from contributor to core has both changes in this one sync ("changed
    # today" counts what an earlier sync asked); the old role goes first
    return sorted(out, key=lambda c: (c.platform, c.user_id, c.action != "role_remove"))


async def apply_changes(
    store: Store, config: Config, community: str, changes: Sequence[RoleChange], now: datetime
) -> list[tuple[RoleChange, Case]]:
    """One case per change not left for later; asked once per account, role and day."""
    day = community_day(config, now)
    made: list[tuple[RoleChange, Case]] = []
    for c in changes:
        if c.skip:
            continue
        target = ActionTarget(c.platform, community, user_id=c.user_id, label=c.label)
        plan = Plan(c.action, community, c.label, member_id=c.member_id)
        plan.steps.append(Planned(target, c.member_id, c.line()))
        try:
            case = await service.submit(
                store,
                config,
                plan,
                reason=f"role reward: {c.why}",
                operator=OPERATOR,
                now=now,
                role=c.role,
                origin=f"{c.origin}:{day}",
            )
        except CockpitError as exc:
            log.warning("role reward for %s: %s", c.label, exc)
            continue
        made.append((c, case))
    return made


class RoleSync:
    """Once a day, for every community in the store: plan and ask for the changes."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        config: Config,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.registry = registry
        self.config = config
        self.clock = clock
        self.synced: str | None = None  # the day of the last sync

    async def tick(self) -> list[Case]:
        now = self.clock()
        day = community_day(self.config, now)
        if not self.config.scoring.roles or self.synced == day:
            return []
        made: list[Case] = []
        scoring = self.store.scoring(self.config.scoring)
        await scoring.catch_up()  # what was stored since the last fold counts today
        for community in await scoring.communities():
            changes = await plan_changes(self.store, self.config, self.registry, community, now)
            applied = await apply_changes(self.store, self.config, community, changes, now)
            made += [case for _, case in applied]
        self.synced = day
        if made:
            log.info("role rewards: %d changes asked for", len(made))
        return made

    async def run(self, stop: asyncio.Event, every: float = 600.0, first: float = 60.0) -> None:
        """The first sync a minute after start (the collector's backlog in first), then a
        look every ten minutes for a new day."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), first)
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("role rewards sync failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
