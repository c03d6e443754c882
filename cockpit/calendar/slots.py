"""The slot finder: rank start times by how many active members can attend.

Members' habits come from the hour-of-week rollup as one bitset of members per hour
(bit = member row id), so a slot's audience is the popcount of an OR over the hours it
spans: a few big-integer operations per slot, whatever the size of the community.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from cockpit.calendar.zones import get_zone

HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def hour_of_week(ts: datetime) -> int:
    """The rollup's bucket: Monday 00:00 UTC is 0 (1970-01-01 was a Thursday, hence +72)."""
    return (int((ts - _EPOCH) // HOUR) + 72) % 168


@dataclass(frozen=True, slots=True)
class RegionTime:
    region: str
    local: datetime  # aware, in the region's zone
    awake: bool  # the whole slot falls in the region's waking hours


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime  # UTC
    end: datetime
    attendees: int  # active members usually active in the hours the slot spans
    active: int  # active members in the lookback window
    regions: tuple[RegionTime, ...]
    busy: tuple[str, ...] = ()  # titles of events already overlapping the slot
    weight: float = 0.0  # members per hour, weighted by how much of each hour the slot covers
    also: tuple[datetime, ...] = ()  # the same time on other days, as good: one line for all

    @property
    def share(self) -> float:
        return self.attendees / self.active if self.active else 0.0

    @property
    def everyone_awake(self) -> bool:
        return all(r.awake for r in self.regions)


def _awake(start: datetime, end: datetime, tz_name: str, awake_from: int, awake_until: int) -> bool:
    tz = get_zone(tz_name)
    s, e = start.astimezone(tz), (end - timedelta(seconds=1)).astimezone(tz)
    if s.date() != e.date() and awake_until < 24:
        return False
    lo = s.hour + s.minute / 60
    hi = e.hour + (e.minute + 1) / 60
    return awake_from <= lo and hi <= awake_until and lo <= hi


def find_slots(
    presence: dict[int, int],
    window_start: datetime,
    window_end: datetime,
    duration: timedelta,
    regions: Sequence[str],
    awake_from: int = 7,
    awake_until: int = 23,
    step: timedelta = timedelta(minutes=30),
    busy: Sequence[tuple[datetime, datetime, str]] = (),
    limit: int = 5,
    include_night: bool = False,
    not_before: datetime | None = None,
) -> list[Slot]:
    """The best `limit` non-overlapping slots in the window, best first, none before
    `not_before` (now, for a planner: a slot that has passed is no suggestion).

    Slots that put a target region outside its waking hours are dropped unless
    `include_night` (then they are kept, flagged). Slots clashing with an event rank
    last; ties go to the slot covering more of the busy hours, then the earlier one.
    Members' habits are per hour of the week, so the same time on other days often ranks
    as well: distinct times come first, each listing its equally good days in `also`;
    repeats fill the list only when there are not enough distinct times.
    """
    if duration <= timedelta(0):
        raise ValueError("the duration must be positive")
    everyone = 0
    for bits in presence.values():
        everyone |= bits
    active = everyone.bit_count()
    step_s = int(step.total_seconds())
    first = window_start.astimezone(UTC)
    if not_before is not None and not_before > first:
        first = not_before.astimezone(UTC)
    offset = (-int((first - _EPOCH).total_seconds())) % step_s
    start = first + timedelta(seconds=offset)
    candidates: list[Slot] = []
    while start + duration <= window_end:
        end = start + duration
        union = 0
        weight = 0.0
        for h, part in _hours(start, end):
            bits = presence.get(h, 0)
            union |= bits
            weight += part * bits.bit_count()
        times = tuple(
            RegionTime(
                r, start.astimezone(get_zone(r)), _awake(start, end, r, awake_from, awake_until)
            )
            for r in regions
        )
        slot = Slot(
            start,
            end,
            union.bit_count(),
            active,
            times,
            tuple(title for s, e, title in busy if s < end and e > start),
            weight,
        )
        if include_night or slot.everyone_awake:
            candidates.append(slot)
        start += step
    candidates.sort(key=lambda s: (bool(s.busy), -s.attendees, -s.weight, s.start))
    chosen: list[Slot] = []
    by_time: dict[tuple[int, int], int] = {}  # time of day -> index in chosen
    repeats: list[Slot] = []

    def free(slot: Slot) -> bool:
        return all(slot.end <= c.start or slot.start >= c.end for c in chosen)

    for slot in candidates:
        tod = (slot.start.hour, slot.start.minute)
        if tod in by_time:
            best = chosen[by_time[tod]]
            if (slot.attendees, slot.busy) == (best.attendees, best.busy):
                chosen[by_time[tod]] = replace(best, also=(*best.also, slot.start))
            repeats.append(slot)
            continue
        if len(chosen) < limit and free(slot):
            by_time[tod] = len(chosen)
            chosen.append(slot)
    for slot in repeats:  # not enough distinct times: the same time on another day
        if len(chosen) >= limit:
            break
        if slot.start not in {c.start for c in chosen} and free(slot):
            chosen.append(slot)
    shown = {c.start for c in chosen}
    return [replace(c, also=tuple(sorted(t for t in c.also if t not in shown))) for c in chosen]


def _hours(start: datetime, end: datetime) -> list[tuple[int, float]]:
    """Hours of week a slot touches, with the share of each hour it covers."""
    out: list[tuple[int, float]] = []
    t = start.replace(minute=0, second=0, microsecond=0)
    while t < end:
        part = (min(t + HOUR, end) - max(t, start)) / HOUR
        out.append((hour_of_week(t), part))
        t += HOUR
    return out
