"""The warn ladder: `[moderation] ladder` escalates by warnings, counted per person across
every linked platform account, each warning counting only within a rung's window (so it
expires). A rung applies when a warning brings the count to exactly its `warns`, on the
person everywhere, as a case with operator "rule:ladder" whose origin names that warning:
a restart never escalates twice. Protected members are never escalated automatically.
"""

from __future__ import annotations

import logging
from datetime import datetime

from cockpit.config import Config
from cockpit.errors import CockpitError
from cockpit.moderation import service
from cockpit.moderation.config import LadderRung
from cockpit.moderation.record import accounts_of
from cockpit.moderation.repository import Case, CaseQuery
from cockpit.moderation.targets import Refused, resolve
from cockpit.registry import Registry
from cockpit.store.base import Store
from cockpit.timeutil import format_duration

log = logging.getLogger(__name__)
COUNTED = ("done", "partial")  # a warning that reached the member


class Ladder:
    def __init__(self, store: Store, registry: Registry, config: Config) -> None:
        self.store = store
        self.registry = registry
        self.config = config
        self.after = 0  # the last case number looked at
        self.waiting: set[int] = set()  # warnings not answered yet by the platform

    async def run(self, now: datetime) -> int:
        rungs = self.config.moderation.ladder
        if not rungs:
            return 0
        made = 0
        fresh = await self.store.moderation.cases(CaseQuery(after=self.after, limit=200))
        if fresh:
            self.after = max(c.number for c in fresh)
        self.waiting.update(c.number for c in fresh if c.action == "warn")
        longest = max(r.within for r in rungs)
        for number in sorted(self.waiting):
            case = await self.store.moderation.case(number)
            if case is None or case.state in ("pending", "proposed"):
                continue  # the token holder has not answered yet
            self.waiting.discard(number)
            if case.state not in COUNTED or case.member_id is None:
                continue
            if now - case.created > longest:
                continue  # history: its windows have closed
            made += await self.escalate(case, rungs, now)
        return made

    async def escalate(self, warn: Case, rungs: list[LadderRung], now: datetime) -> int:
        assert warn.member_id is not None
        accounts = await accounts_of(self.store, warn.member_id)
        warns = [
            c
            for c in await self.store.moderation.cases(CaseQuery(member_ids=accounts, limit=1000))
            if c.action == "warn" and c.state in COUNTED and c.number <= warn.number
        ]
        reached = [
            (i, rung)
            for i, rung in enumerate(rungs)
            if sum(1 for c in warns if warn.created - c.created < rung.within) == rung.warns
        ]
        if not reached:
            return 0
        index, rung = max(reached, key=lambda r: r[1].warns)
        try:
            plan = await resolve(
                self.store,
                self.registry,
                self.config,
                rung.do,
                f"#{warn.member_id}",
                everywhere=True,
                community=warn.community,
            )
            case = await service.submit(
                self.store,
                self.config,
                plan,
                reason=(
                    f"warn ladder: {rung.warns} warnings within {format_duration(rung.within)} "
                    f"(the last: case {warn.number})"
                ),
                operator="rule:ladder",
                now=now,
                until=now + rung.for_ if rung.for_ is not None else None,
                origin=f"ladder:{warn.number}:{index}",
            )
        except (Refused, CockpitError) as exc:
            log.warning("warn ladder after case %d: %s", warn.number, exc)
            return 0
        log.info("warn ladder: case %d %s after case %d", case.number, rung.do, warn.number)
        return 1
