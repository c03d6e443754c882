"""The slot finder over a big community: 1,000,000 activities from 50,000 members.

The hour-of-week rollup is generated directly (members with a daily rhythm in their own
zone, 20 activities each over the last 12 weeks), as the ingest listener would have left
it. Timed: reading the rollup for the lookback window and ranking a week of 30-minute
slots for five regions, as `cockpit calendar suggest` does. Budget: < 500 ms.
For scale, the baseline is the naive query a rollup avoids: count(DISTINCT member) per
candidate hour over the per-member rollup table (one hour only, then x slots).

    python bench/bench_calendar.py [--members 50000 --activities 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cockpit.calendar.slots import find_slots  # noqa: E402
from cockpit.store.sqlite import SQLiteStore  # noqa: E402
from cockpit.store.sqlite_calendar import PERIOD_MS, CalendarStore, set_bits  # noqa: E402
from cockpit.timeutil import to_ms  # noqa: E402

OUT = ROOT / "bench" / "out"
REGIONS = [
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/Berlin",
    "Africa/Lagos",
    "Asia/Jakarta",
]
OFFSETS = [-8, -3, 1, 1, 7, 5, 9]  # members' UTC offsets, roughly where communities live


def generate(conn: sqlite3.Connection, members: int, activities: int, now: datetime) -> int:
    rnd = random.Random(5)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO community (name) VALUES ('bench')")
    conn.executemany(
        "INSERT INTO member (id, community_id, platform, platform_user_id, display_name) "
        "VALUES (?, 1, 'discord', ?, ?)",
        ((i, str(i), f"m{i}") for i in range(1, members + 1)),
    )
    per = activities // members
    now_h = to_ms(now) // 3_600_000
    cells: dict[tuple[int, int, int], int] = {}
    for m in range(1, members + 1):
        offset = rnd.choice(OFFSETS)
        evening = rnd.randint(8, 22)  # the member's favourite local hour
        for _ in range(per):
            local_hour = (evening + int(rnd.gauss(0, 2))) % 24
            day = rnd.randint(0, 83)
            ts_h = (now_h - now_h % 24) - day * 24 + ((local_hour - offset) % 24)
            how = (ts_h + 72) % 168
            period = ts_h * 3_600_000 // PERIOD_MS
            key = (m, how, period)
            cells[key] = cells.get(key, 0) + 1
    conn.executemany(
        "INSERT INTO cal_member_hour (member_id, hour_of_week, period, community_id, n) "
        "VALUES (?, ?, ?, 1, ?)",
        ((m, h, p, n) for (m, h, p), n in cells.items()),
    )
    set_bits(conn, sorted((1, p, h, m) for (m, h, p) in cells))
    conn.execute("COMMIT")
    return len(cells)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=50_000)
    ap.add_argument("--activities", type=int, default=1_000_000)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    db = OUT / "calendar.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    now = datetime(2030, 6, 1, tzinfo=UTC)
    store = await SQLiteStore.open(db)
    t0 = time.perf_counter()
    cells = await store.run_write(lambda c: generate(c, args.members, args.activities, now))
    print(
        f"generated rollup: {args.activities:,} activities, {args.members:,} members, "
        f"{cells:,} member-hour cells in {time.perf_counter() - t0:.1f} s"
    )
    cal = CalendarStore(store, clock=lambda: now)
    window = (now + timedelta(days=1), now + timedelta(days=8))
    times: list[float] = []
    for _ in range(5):
        t = time.perf_counter()
        presence = await cal.hour_presence("bench", now - timedelta(days=90))
        slots = find_slots(presence, *window, timedelta(hours=1), REGIONS, limit=5)
        times.append(time.perf_counter() - t)
    best = slots[0]
    print(
        f"suggest (read rollup + rank {7 * 48} slots, 5 regions): "
        f"best {min(times) * 1000:.1f} ms, median {sorted(times)[2] * 1000:.1f} ms (budget 500 ms)"
    )
    print(
        f"  top slot {best.start:%a %H:%M} UTC: {best.attendees:,}/{best.active:,} "
        f"active members ({best.share:.0%})"
    )
    t = time.perf_counter()
    await store.fetchall(
        "SELECT count(DISTINCT member_id) FROM cal_member_hour WHERE hour_of_week = ? AND period >= ?",
        (40, (to_ms(now) - 90 * 86_400_000) // PERIOD_MS),
    )
    one = time.perf_counter() - t
    print(
        f"baseline, naive distinct count over the per-member table: {one * 1000:.1f} ms per hour "
        f"-> ~{one * 7 * 48:.1f} s for the week; ratio ~{one * 7 * 48 / min(times):.0f}x"
    )
    await store.close()
    assert sorted(times)[2] < 0.5, "over budget"


if __name__ == "__main__":
    asyncio.run(main())
