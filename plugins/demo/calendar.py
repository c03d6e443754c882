"""The demo community's calendar: an AMA, recurring hangouts and moderator shifts.

Placed relative to the moment the demo starts, so the Calendar pane, the header's next event
and the coverage view have something true to show; the shifts leave the Asia-Pacific night
uncovered on purpose (the coverage view should find that gap). UIDs are fixed, so a kept demo
store (`cockpit demo --keep`, or a restarted collector) is updated in place rather than filled with copies.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cockpit.plugin_kit import CalendarRepository, Event, shift_event

REGIONS = (
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/Berlin",
    "Africa/Lagos",
    "Asia/Jakarta",
)
SHIFTS = (  # moderator, zone, local hours, days
    ("mira_team", "Europe/London", "08:00-16:00", "weekdays"),
    ("sofi_codes", "America/Mexico_City", "09:00-17:00", "weekdays"),
    ("chinedu.dev", "Africa/Lagos", "18:00-23:00", "daily"),
    ("analu", "America/Sao_Paulo", "10:00-18:00", "weekends"),
)


def _next(weekday: int, at: time, tz: str, now: datetime, at_least: timedelta) -> datetime:
    """The first wall-clock `weekday` `at` in `tz` that is at least `at_least` away."""
    local = now.astimezone(ZoneInfo(tz))
    day = local.date()
    while True:
        candidate = datetime.combine(day, at)
        if (
            candidate.weekday() == weekday
            and candidate.replace(tzinfo=ZoneInfo(tz)) >= local + at_least
        ):
            return candidate
        day += timedelta(days=1)


def demo_events(now: datetime, community: str) -> list[Event]:
    ama_start = _next(3, time(16, 0), "Europe/London", now, timedelta(days=1))  # a Thursday
    events = [
        Event(
            uid="demo-ama@cockpit-demo",
            title="Community AMA: the 2027 roadmap",
            start=ama_start,
            duration=timedelta(minutes=60),
            tz="Europe/London",
            community=community,
            platform="discord",
            channel="stage",
            host="mira_team",
            regions=REGIONS,
            description="Questions collected in #ama-questions; recording posted on the forum.",
        ),
        Event(  # clashes with the AMA on the same stage: the pane flags it
            uid="demo-translators@cockpit-demo",
            title="Translators' sync",
            start=ama_start + timedelta(minutes=30),
            duration=timedelta(minutes=45),
            tz="Europe/London",
            community=community,
            platform="discord",
            channel="stage",
            host="lenaschaefer",
        ),
        Event(
            uid="demo-hangout@cockpit-demo",
            title="Weekly voice hangout",
            start=_next(5, time(18, 0), "America/Sao_Paulo", now, timedelta(0)),
            duration=timedelta(minutes=90),
            tz="America/Sao_Paulo",
            rrule="FREQ=WEEKLY",
            community=community,
            platform="discord",
            channel="voice-lounge",
            host="analu",
            regions=("America/Sao_Paulo", "America/Los_Angeles", "Africa/Lagos"),
        ),
        Event(
            uid="demo-office-hours@cockpit-demo",
            title="Office hours (Asia-Pacific)",
            start=_next(1, time(10, 0), "Asia/Jakarta", now, timedelta(0)),
            duration=timedelta(minutes=60),
            tz="Asia/Jakarta",
            rrule="FREQ=WEEKLY",
            community=community,
            platform="telegram",
            channel="help",
            host="rinaw",
            regions=("Asia/Jakarta", "Asia/Tokyo", "Asia/Kolkata"),
        ),
    ]
    since: date = now.date() - timedelta(days=7)
    for moderator, tz, hours, days in SHIFTS:
        uid = f"demo-shift-{moderator}@cockpit-demo"
        events.append(shift_event(moderator, tz, hours, days, since, community, uid=uid))
    return events


async def seed_calendar(cal: CalendarRepository, communities: list[str], now: datetime) -> None:
    """Write the demo's events for each community (saved by UID: a restart changes nothing)."""
    for community in communities:
        for event in demo_events(now, community):
            await cal.save(event)
