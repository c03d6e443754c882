"""Welcomes: a join is greeted by the bot in the channel it was seen in, from the first
`[welcome]` template that matches, `delay` after the join, once per member ever (the case's
origin is the member's platform id, unique in the store, so a restart never greets twice).

While a raid rule is firing for the community, greetings are held: joins from the raid (at
or after the raid began, less its window) are never greeted; earlier ones go out once the
raid is over. Each greeting is a `say` case with operator "rule:welcome", carried out by
whoever holds the platform's token.

A delayed role (`[welcome] role`, `role_after`, `role_on`) is given the same way, once per
member and role: `role_after` after the join, or at the member's first message once that
long has passed; never to a raid's joins, nor to a member banned or timed out by then. Joins
are remembered by this process only: a restart forgets who was still waiting.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime

from cockpit.alerts.config import AnyRule, RaidRule
from cockpit.alerts.detectors import ms
from cockpit.alerts.events import Event
from cockpit.alerts.records import AlertRow
from cockpit.config import Config
from cockpit.errors import CockpitError
from cockpit.model import Kind
from cockpit.moderation import service
from cockpit.moderation.config import WelcomeMessage
from cockpit.moderation.targets import Plan, Planned, capabilities
from cockpit.plugin_api import ActionTarget
from cockpit.registry import Registry
from cockpit.store.base import Store
from cockpit.textsafe import inert_line
from cockpit.timeutil import to_ms, zone

log = logging.getLogger(__name__)
STALE_MS = 15 * 60 * 1000  # a join older than this when first seen is history: not greeted
MAX_WAITING = 10_000  # joins waiting for their greeting; beyond, the oldest are dropped
QUIET_MS = 7 * 86_400_000  # first_message: a join that has not spoken in a week is dropped


def mention(ev: Event) -> str:
    """How the platform itself mentions a member in a bot's message."""
    if ev.platform in ("discord", "slack"):
        return f"<@{ev.author_id}>"
    if ev.platform in ("telegram", "discourse") and ev.handle:
        return f"@{ev.handle}"
    return ev.author


def time_of_day(hour: int) -> str:
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 22:
        return "evening"
    return "night"


class Welcomer:
    def __init__(self, store: Store, registry: Registry, config: Config) -> None:
        self.store = store
        self.registry = registry
        self.config = config
        self.waiting: deque[Event] = deque()
        self.greeted = 0
        self.skipped_raid = 0
        # joins waiting for their delayed role, oldest first, and those who have spoken since
        self.joined: dict[tuple[str, str, str], Event] = {}
        self.spoke: set[tuple[str, str, str]] = set()
        self.roles_given = 0

    @property
    def busy(self) -> bool:
        """Someone waits for a greeting or a role."""
        return bool(self.waiting or self.joined)

    def observe(self, events: Iterable[Event], now: int) -> None:
        """Joins to greet; history (an import, a backfill, a source catching up) is not."""
        settings = self.config.welcome
        for ev in events:
            key = (ev.community, ev.platform, ev.author_id)
            if ev.kind is Kind.JOIN and not ev.is_bot and now - ev.ts <= STALE_MS:
                if settings.enabled:
                    self.waiting.append(ev)
                if ev.platform in settings.role:
                    self.joined.setdefault(key, ev)
            elif ev.kind is Kind.MESSAGE and key in self.joined:
                self.spoke.add(key)
        while len(self.waiting) > MAX_WAITING:
            self.waiting.popleft()
        while len(self.joined) > MAX_WAITING:
            oldest = next(iter(self.joined))
            del self.joined[oldest]
            self.spoke.discard(oldest)

    def template(self, ev: Event) -> WelcomeMessage | None:
        for m in self.config.welcome.messages:
            if m.community not in (None, ev.community):
                continue
            if m.platform not in (None, ev.platform):
                continue
            if m.channel is not None and m.channel.lstrip("#") != ev.channel:
                continue
            return m
        return None

    def text(self, m: WelcomeMessage, ev: Event, now: datetime) -> str:
        local = now.astimezone(zone(m.timezone or self.config.cockpit.timezone))
        return m.text.format_map(
            {
                "name": inert_line(ev.author),
                "mention": mention(ev),
                "rules": self.config.welcome.rules,
                "time_of_day": time_of_day(local.hour),
                "local_time": f"{local:%H:%M} {local.tzname()}",
            }
        )

    async def run(self, rules: Sequence[AnyRule], firing: Sequence[AlertRow], now: datetime) -> int:
        """Greet the joins whose time has come and give their roles; hold both while a raid
        is on."""
        if not self.busy:
            return 0
        raid_rules = {r.name: ms(r.window) for r in rules if isinstance(r, RaidRule)}
        raids = {
            a.community: a.active_at - raid_rules[a.rule] for a in firing if a.rule in raid_rules
        }
        made = await self.give_roles(raids, now) if self.joined else 0
        if self.config.welcome.enabled and self.waiting:
            made += await self.greet_due(raids, now)
        return made

    async def give_roles(self, raids: dict[str, int], now: datetime) -> int:
        settings = self.config.welcome
        due = to_ms(now) - int(settings.role_after.total_seconds() * 1000)
        caps = capabilities(self.registry, self.config)
        made = 0
        for key, ev in list(self.joined.items()):
            if self._in_raid(ev, raids):
                self._forget(key)  # a raid's joins never get the role
                continue
            if ev.ts > due or ev.community in raids:
                continue  # not yet; or joined before a raid that is still on
            if settings.role_on == "first_message" and key not in self.spoke:
                if to_ms(now) - ev.ts > QUIET_MS:
                    self._forget(key)
                continue
            self._forget(key)
            if await self.give_role(ev, caps, now):
                made += 1
        return made

    def _forget(self, key: tuple[str, str, str]) -> None:
        self.joined.pop(key, None)
        self.spoke.discard(key)

    async def give_role(self, ev: Event, caps: dict[str, frozenset[str]], now: datetime) -> bool:
        role = self.config.welcome.role.get(ev.platform)
        if not role or "role_add" not in caps.get(ev.platform, frozenset()):
            return False
        row = await self.store.activity(ev.platform, ev.source_id)
        member_id = row.member_id if row is not None else None
        if member_id is not None and await self.store.moderation.restrictions([member_id], now):
            return False  # banned or timed out meanwhile
        who = f"@{ev.handle}" if ev.handle else ev.author
        label = inert_line(f"{who} on {ev.platform}")
        target = ActionTarget(ev.platform, ev.community, user_id=ev.author_id, label=label)
        plan = Plan("role_add", ev.community, label, member_id=member_id)
        plan.steps.append(Planned(target, member_id, f"give {label} the role {role}"))
        try:
            case = await service.submit(
                self.store,
                self.config,
                plan,
                reason=f"welcome role for {inert_line(ev.author)}",
                operator="rule:welcome",
                now=now,
                role=role,
                origin=f"welcome-role:{ev.community}:{ev.platform}:{ev.author_id}:{role}",
            )
        except CockpitError as exc:
            log.warning("welcome role of %s on %s: %s", ev.author, ev.platform, exc)
            return False
        if to_ms(case.created) < to_ms(now):
            return False  # given before (a rejoin): once per member and role
        self.roles_given += 1
        log.info("welcome: case %d gives %s the role %s", case.number, label, role)
        return True

    async def greet_due(self, raids: dict[str, int], now: datetime) -> int:
        settings = self.config.welcome
        if raids:  # the raid's joins are never greeted, even once it is over
            keep = deque(ev for ev in self.waiting if not self._in_raid(ev, raids))
            self.skipped_raid += len(self.waiting) - len(keep)
            self.waiting = keep
        due = to_ms(now) - int(settings.delay.total_seconds() * 1000)
        caps = capabilities(self.registry, self.config)
        held: list[Event] = []
        made = 0
        while self.waiting and self.waiting[0].ts <= due:
            ev = self.waiting.popleft()
            if ev.community in raids:
                held.append(ev)  # joined before the raid: greeted once it is over
                continue
            if await self.greet(ev, caps, now):
                made += 1
        self.waiting.extendleft(reversed(held))
        return made

    @staticmethod
    def _in_raid(ev: Event, raids: dict[str, int]) -> bool:
        began = raids.get(ev.community)
        return began is not None and ev.ts >= began

    async def greet(self, ev: Event, caps: dict[str, frozenset[str]], now: datetime) -> bool:
        m = self.template(ev)
        if m is None or "say" not in caps.get(ev.platform, frozenset()):
            return False
        row = await self.store.activity(ev.platform, ev.source_id)
        if row is not None and await self.store.moderation.restrictions([row.member_id], now):
            return False  # banned or timed out meanwhile (a scam bot the screen removed)
        if m.dm:  # a member and no channel: the platform's direct message
            who = f"@{ev.handle}" if ev.handle else ev.author
            where = inert_line(f"a DM to {who} on {ev.platform}")
            target = ActionTarget(ev.platform, ev.community, user_id=ev.author_id, label=where)
        else:
            where = f"#{inert_line(ev.channel)} on {ev.platform}"
            target = ActionTarget(ev.platform, ev.community, channel_id=ev.channel_id, label=where)
        how = "by" if m.dm else "in"
        plan = Plan("say", ev.community, f"welcome {inert_line(ev.author)} {how} {where}")
        plan.steps.append(Planned(target, row.member_id if row else None, f"say in {where}"))
        try:
            case = await service.submit(
                self.store,
                self.config,
                plan,
                reason=f"welcome {inert_line(ev.author)}",
                operator="rule:welcome",
                now=now,
                text=self.text(m, ev, now),
                origin=f"welcome:{ev.community}:{ev.platform}:{ev.author_id}",
            )
        except CockpitError as exc:
            log.warning("welcome of %s on %s: %s", ev.author, ev.platform, exc)
            return False
        if to_ms(case.created) < to_ms(now):
            return False  # greeted before (a rejoin, a restart): once per member
        self.greeted += 1
        log.info("welcome: case %d greets %s %s", case.number, ev.author, where)
        return True
