"""Day and night: how awake a member is at a given UTC instant, from their zone's local time.

Curves are per local quarter hour; weekday curves average 1, weekends are lazier in the
morning and livelier late. Offsets are looked up once per 15-minute bucket per zone, which
is exact because every zone offset is a multiple of 15 minutes and changes on the hour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

BUCKET_US = 900 * 1_000_000
QUARTERS = 96
OWL_SHIFT = 12  # night owls run three hours late

_WEEKDAY_HOURLY = (
    0.15, 0.08, 0.05, 0.03, 0.03, 0.05, 0.2, 0.5, 0.9, 1.2, 1.3, 1.3,
    1.4, 1.3, 1.2, 1.2, 1.3, 1.4, 1.5, 1.8, 2.0, 2.0, 1.5, 0.6,
)  # fmt: skip
_WEEKEND_HOURLY = (
    0.35, 0.2, 0.1, 0.05, 0.03, 0.03, 0.05, 0.15, 0.35, 0.6, 0.9, 1.1,
    1.2, 1.2, 1.2, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.6, 1.3, 0.8,
)  # fmt: skip


def _quarters(hourly: tuple[float, ...], scale: float) -> tuple[float, ...]:
    """Linear interpolation between hour marks, so activity ramps rather than steps."""
    out = []
    for q in range(QUARTERS):
        h, frac = divmod(q, 4)
        a, b = hourly[h], hourly[(h + 1) % 24]
        out.append((a + (b - a) * frac / 4) * scale)
    return tuple(out)


_MEAN = sum(_WEEKDAY_HOURLY) / 24
WEEKDAY = _quarters(_WEEKDAY_HOURLY, 1 / _MEAN)
WEEKEND = _quarters(_WEEKEND_HOURLY, 1 / _MEAN)
PEAK = max(*WEEKDAY, *WEEKEND)


def awake(local_quarter: int, weekend: bool, owl: bool) -> float:
    curve = WEEKEND if weekend else WEEKDAY
    return curve[(local_quarter - OWL_SHIFT) % QUARTERS if owl else local_quarter]


class ZoneClock:
    """Per bucket, the awake factor of every (zone, owl) pair; cached, bounded."""

    def __init__(self, zones: tuple[str, ...]) -> None:
        self.zones = [ZoneInfo(z) for z in zones]
        self._cache: dict[int, list[float]] = {}

    def factors(self, bucket: int) -> list[float]:
        """[zone0 normal, zone0 owl, zone1 normal, ...] at the start of `bucket`."""
        cached = self._cache.get(bucket)
        if cached is not None:
            return cached
        if len(self._cache) > 4096:
            self._cache.clear()
        start_s = bucket * (BUCKET_US // 1_000_000)
        instant = datetime.fromtimestamp(start_s, UTC)
        out: list[float] = []
        for tz in self.zones:
            offset = instant.astimezone(tz).utcoffset()
            local_s = start_s + (int(offset.total_seconds()) if offset else 0)
            quarter = (local_s // 900) % QUARTERS
            weekend = (local_s // 86400 + 3) % 7 >= 5  # 1970-01-01 was a Thursday
            out.append(awake(quarter, weekend, False))
            out.append(awake(quarter, weekend, True))
        self._cache[bucket] = out
        return out

    def local_hour(self, zone_i: int, us: int) -> float:
        """For tests and explanations: the member's local wall-clock hour."""
        local = datetime.fromtimestamp(us / 1_000_000, UTC).astimezone(self.zones[zone_i])
        return local.hour + local.minute / 60
