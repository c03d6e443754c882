"""Calendar events announce themselves in community channels through the bots: at the
event's reminder offsets (the nearest one when several are due at once), in the event's own
channel and in every `[calendar] announce_in` channel of its platform family, with the time
in the audience's regions ("Thu 15:00 UTC · Jakarta 22:00 · Lagos 16:00 ...").

Each announcement is a `say` case by "rule:announce" whose origin names the occurrence,
the offset and the channel, so it is posted once across restarts and collectors; the
process holding the platform's token posts it. `cockpit calendar announce UID --now` posts
the next occurrence's announcement at once (a new case each time it is asked).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from cockpit.calendar.model import EventKind, Occurrence
from cockpit.calendar.reminders import due_reminders, reminder_text
from cockpit.config import Config
from cockpit.errors import CockpitError
from cockpit.moderation import service
from cockpit.moderation.repository import Case
from cockpit.moderation.targets import Plan, Planned, capabilities
from cockpit.plugin_api import ActionTarget
from cockpit.registry import Registry
from cockpit.store.base import ChannelRow, Store
from cockpit.textsafe import inert_line
from cockpit.timeutil import to_ms, utcnow

log = logging.getLogger(__name__)


def announcement_text(occ: Occurrence, regions: list[str], now: datetime) -> str:
    title, body = reminder_text(occ, regions, now)
    return f"📅 {title.removeprefix('Reminder: ')}\n{body}"


class Announcer:
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

    @property
    def regions(self) -> list[str]:
        return list(self.config.calendar.regions or self.config.cockpit.regions)

    async def channels(self, occ: Occurrence) -> list[ChannelRow]:
        """Where this occurrence is announced: its own channel and `announce_in`."""
        wanted: list[tuple[str, str]] = []
        ev = occ.event
        if ev.platform and ev.channel:
            wanted.append((ev.platform, ev.channel.lstrip("#")))
        for item in self.config.calendar.announce_in:
            platform, _, name = item.partition(":")
            wanted.append((platform, name.lstrip("#")))
        known = await self.store.channels(ev.community)
        out: list[ChannelRow] = []
        for platform, name in dict.fromkeys(wanted):
            found = [c for c in known if c.platform == platform and c.name == name]
            if not found:
                log.warning("announce %s: no channel #%s on %s", occ.uid, name, platform)
                continue
            out.append(found[0])
        return out

    async def post(self, occ: Occurrence, origin: str, now: datetime) -> list[Case]:
        """One `say` case per channel the bots can post in."""
        caps = capabilities(self.registry, self.config)
        text = announcement_text(occ, self.regions, now)
        cases: list[Case] = []
        for ch in await self.channels(occ):
            if "say" not in caps.get(ch.platform, frozenset()):
                log.warning("announce %s: %s cannot post from the cockpit", occ.uid, ch.platform)
                continue
            where = f"#{inert_line(ch.name)} on {ch.platform}"
            target = ActionTarget(ch.platform, ch.community, channel_id=ch.channel_id, label=where)
            plan = Plan("say", ch.community, f"announce {inert_line(occ.title)} in {where}")
            plan.steps.append(Planned(target, None, f"say in {where}"))
            try:
                cases.append(
                    await service.submit(
                        self.store,
                        self.config,
                        plan,
                        reason=f"calendar: {inert_line(occ.title)}",
                        operator="rule:announce",
                        now=now,
                        text=text,
                        origin=f"{origin}:{ch.platform}:{ch.channel_id}",
                    )
                )
            except CockpitError as exc:
                log.warning("announce %s in %s: %s", occ.uid, where, exc)
        return cases

    async def tick(self) -> int:
        """Announce what is due now; returns how many cases were new."""
        settings = self.config.calendar
        if not settings.announce:
            return 0
        now = self.clock()
        defaults = settings.reminder_offsets()
        horizon = max([*defaults, timedelta(days=7)])
        occs = await self.store.calendar.occurrences(now, now + horizon + timedelta(days=1))
        made = 0
        for due in due_reminders(occs, defaults, now):
            occ = due.occurrence
            offset = int(due.offset.total_seconds())
            origin = f"announce:{occ.uid}:{to_ms(occ.start)}:{offset}"
            for case in await self.post(occ, origin, now):
                made += to_ms(case.created) == to_ms(now)
        return made

    async def now(self, uid: str) -> list[Case]:
        """`cockpit calendar announce UID --now`: the next occurrence, at once."""
        now = self.clock()
        event = await self.store.calendar.find(uid)  # a uid or a unique prefix of one
        uid = event.uid
        if event.kind is not EventKind.EVENT:
            raise CockpitError(f"{uid!r} is a shift, not an event")
        occs = [
            o
            for o in await self.store.calendar.occurrences(now, now + timedelta(days=400))
            if o.uid == uid
        ]
        if not occs:
            raise CockpitError(f"event {uid!r} has no occurrence ahead")
        occ = occs[0]
        cases = await self.post(occ, f"announce:{uid}:{to_ms(occ.start)}:now:{to_ms(now)}", now)
        if not cases:
            raise CockpitError(
                f"event {uid!r}: no channel to announce in (give it a platform and channel, "
                "or set [calendar] announce_in)"
            )
        return cases

    async def run(self, stop: asyncio.Event, every: float = 30.0) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("announcement check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
