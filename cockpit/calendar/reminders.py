"""Reminders before each occurrence, sent through apprise, each once even across restarts.

A reminder is claimed in the store's sent-log before it is sent and marked after, so a
crash never sends it twice. When several offsets are due at once (the cockpit was down),
only the nearest one is sent and the others are logged as skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from cockpit.calendar.config import CalendarSettings
from cockpit.calendar.model import EventKind, Occurrence
from cockpit.calendar.zones import get_zone, local_label, region_name
from cockpit.textsafe import inert_line

log = logging.getLogger(__name__)

Notify = Callable[[str, str, str], Awaitable[None]]  # (apprise URL, title, body)


@dataclass(frozen=True, slots=True)
class Due:
    occurrence: Occurrence
    offset: timedelta
    skipped: tuple[timedelta, ...] = ()


def due_reminders(
    occurrences: Sequence[Occurrence], defaults: Sequence[timedelta], now: datetime
) -> list[Due]:
    """Reminders due at `now`: offset reached, occurrence not started; nearest offset wins."""
    out: list[Due] = []
    for occ in occurrences:
        if occ.event.kind is not EventKind.EVENT or occ.start <= now:
            continue
        offsets = occ.event.reminders if occ.event.reminders is not None else tuple(defaults)
        reached = sorted((o for o in offsets if occ.start - o <= now), reverse=False)
        if reached:
            out.append(Due(occ, reached[0], tuple(reached[1:])))
    return out


def _in(delta: timedelta) -> str:
    minutes = max(0, round(delta.total_seconds() / 60))
    if minutes >= 60 * 24 and minutes % (60 * 24) == 0:
        return f"{minutes // (60 * 24)} d"
    if minutes >= 60:
        h, m = divmod(minutes, 60)
        return f"{h} h" + (f" {m} min" if m else "")
    return f"{minutes} min"


def reminder_text(occ: Occurrence, regions: Sequence[str], now: datetime) -> tuple[str, str]:
    """Title and body: when it starts, and the time in each of the audience's zones."""
    title = f"Reminder: {inert_line(occ.title)} in {_in(occ.start - now)}"
    lines = [f"{inert_line(occ.title)} starts {occ.start:%a %Y-%m-%d %H:%M} UTC."]
    zones = list(occ.event.regions) or list(regions)
    if occ.event.tz and occ.event.tz not in zones and occ.event.tz != "UTC":
        zones.insert(0, occ.event.tz)
    if zones:
        lines.append(
            " · ".join(f"{region_name(z)} {local_label(occ.start, get_zone(z))}" for z in zones)
        )
    where = " ".join(
        x for x in (occ.event.platform, f"#{occ.event.channel}" if occ.event.channel else "") if x
    )
    if where:
        lines.append(f"Where: {inert_line(where)}")
    if occ.host:
        lines.append(f"Host: {inert_line(occ.host)}")
    return title, "\n".join(lines)


def receiver_key(url: str) -> str:
    """A stable name for a receiver in the sent-log that does not reveal its token."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


async def apprise_notify(url: str, title: str, body: str) -> None:
    """Send one notification through apprise, off the event loop; raise when it fails."""
    import apprise  # imported lazily: it is slow to import and only needed here

    def send() -> None:
        ap = apprise.Apprise()
        if not ap.add(url):
            raise ValueError("not a valid apprise URL")
        if not ap.notify(body=body, title=title):
            raise RuntimeError("the receiver did not accept the notification")

    await asyncio.to_thread(send)


class ReminderStore(Protocol):
    """What the reminder loop needs from the store (CalendarStore provides it)."""

    async def occurrences(self, start: datetime, end: datetime) -> list[Occurrence]: ...

    async def claim_reminder(
        self, uid: str, occurrence: datetime, offset: int, receiver: str
    ) -> bool: ...

    async def finish_reminder(
        self,
        uid: str,
        occurrence: datetime,
        offset: int,
        receiver: str,
        state: str,
        error: str | None = None,
    ) -> None: ...


@dataclass
class Sent:
    uid: str
    occurrence: datetime
    offset: timedelta
    receiver: str  # the receiver's key, never its URL
    ok: bool
    error: str | None = None


class Reminders:
    """Checks for due reminders and sends them; call `tick()` every half minute or so."""

    def __init__(
        self,
        calendar: ReminderStore,
        settings: CalendarSettings,
        regions: Sequence[str],
        clock: Callable[[], datetime],
        notify: Notify = apprise_notify,
    ) -> None:
        self.calendar = calendar
        self.settings = settings
        self.regions = list(settings.regions or regions)
        self.clock = clock
        self.notify = notify

    async def tick(self) -> list[Sent]:
        now = self.clock()
        defaults = self.settings.reminder_offsets()
        horizon = max([*defaults, timedelta(days=7)])
        occs = await self.calendar.occurrences(now, now + horizon + timedelta(days=1))
        results: list[Sent] = []
        for due in due_reminders(occs, defaults, now):
            occ = due.occurrence
            title, body = reminder_text(occ, self.regions, now)
            for url in self.settings.receivers:
                key = receiver_key(url)
                for skipped in due.skipped:
                    if await self.calendar.claim_reminder(
                        occ.uid, occ.start, int(skipped.total_seconds()), key
                    ):
                        await self.calendar.finish_reminder(
                            occ.uid, occ.start, int(skipped.total_seconds()), key, "skipped"
                        )
                offset = int(due.offset.total_seconds())
                if not await self.calendar.claim_reminder(occ.uid, occ.start, offset, key):
                    continue
                try:
                    await self.notify(url, title, body)
                except Exception as exc:
                    reason = f"{type(exc).__name__}: {exc}"[:300]
                    log.warning(
                        "reminder for %s not delivered to receiver %s: %s", occ.uid, key, reason
                    )
                    await self.calendar.finish_reminder(
                        occ.uid, occ.start, offset, key, "failed", reason
                    )
                    results.append(Sent(occ.uid, occ.start, due.offset, key, False, reason))
                    continue
                await self.calendar.finish_reminder(occ.uid, occ.start, offset, key, "sent")
                results.append(Sent(occ.uid, occ.start, due.offset, key, True))
        return results

    async def run(self, stop: asyncio.Event, every: float = 30.0) -> None:
        """Tick until `stop` is set (for `cockpit collect` and the TUI)."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("reminder check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
