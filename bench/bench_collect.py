"""Discord backfill against a local server that enforces Discord-like rate limits.

The server (tests/discord_fake.py) holds `--messages` messages across `--channels` channels
and allows `--per-route` requests per `--window` seconds in each channel's bucket (with
X-RateLimit-* headers) and `--global-rate` requests/s in all, answering 429 past either.
The connector backfills everything into a fresh SQLite store. Printed: elapsed time,
messages/s, requests, 429s received (0 when the headers are obeyed), and the baseline:
the least time the limits allow for those requests; the ratio says how close we come.

    python bench/bench_collect.py [--messages 100000] [--channels 4] [--per-route 5]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from discord_fake import GUILD, TOKEN, FakeDiscordRest, Generated, Limits, running, snowflake_at  # noqa: E402

from cockpit.collect.health import ConnectorHealth  # noqa: E402
from cockpit.pipeline import BatchingWriter  # noqa: E402
from cockpit.plugin_api import SourceContext  # noqa: E402
from cockpit.plugins.discord.live import DiscordSource  # noqa: E402
from cockpit.plugins.discord.rest import PAGE  # noqa: E402
from cockpit.plugins.discord.settings import DiscordSettings  # noqa: E402
from cockpit.store.sqlite import SQLiteStore  # noqa: E402


def least_time(counts: list[int], per_route: int, window: float, global_rate: float) -> float:
    """Seconds the limits allow at best: each bucket's windows, or the global rate."""
    pages = [n // PAGE + 1 for n in counts]  # the last page is short (or empty)
    bucket = max((math.ceil(p / per_route) - 1) * window for p in pages)
    return max(bucket, sum(pages) / global_rate)


async def bench(args: argparse.Namespace) -> None:
    limits = Limits(per_route=args.per_route, window=args.window, global_rate=args.global_rate)
    rest = FakeDiscordRest(limits=limits)
    rest.add_guild(GUILD)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    counts = [args.messages // args.channels] * args.channels
    counts[0] += args.messages - sum(counts)
    for i, n in enumerate(counts):
        cid, first = (
            str(1_100_000_000_000_000_000 + i),
            snowflake_at(start + timedelta(seconds=i), i),
        )
        rest.add_channel(cid, f"chan-{i}", Generated(cid, first, n))
    with tempfile.TemporaryDirectory() as tmp:
        store = await SQLiteStore.open(Path(tmp) / "collect.db")
        async with running(rest) as base:
            settings = DiscordSettings(
                token=TOKEN,
                guild_ids=[GUILD["id"]],
                base_url=base,
                backfill_days=0,
                concurrency=min(32, args.channels),
                global_rate=min(50.0, args.global_rate * 0.9),
            )
            source = DiscordSource(
                settings, SourceContext("bench", "bench", Path(tmp)), health=ConnectorHealth("b")
            )
            await source.resolve()
            writer = BatchingWriter(store)
            t0 = time.perf_counter()
            await source.backfill(writer)
            await writer.close()
            elapsed = time.perf_counter() - t0
            await source.client.aclose()
        stored = (await store.fetchall("SELECT count(*) FROM activity"))[0][0]
        await store.close()
    pages = [r for r in rest.requests if r.path.endswith("/messages")]
    baseline = least_time(counts, args.per_route, args.window, args.global_rate)
    print(f"messages stored     {stored:>10,} (of {args.messages:,} in {args.channels} channels)")
    print(f"elapsed             {elapsed:>10.2f} s")
    print(f"throughput          {stored / elapsed:>10,.0f} messages/s")
    print(f"requests            {len(rest.requests):>10,} ({len(pages):,} message pages)")
    print(f"429s received       {limits.rejected:>10,}")
    print(f"rate-limit waits    {source.health.rate_limit_waits:>10,}")
    print(
        f"least time allowed  {baseline:>10.2f} s ({args.per_route}/{args.window:g} s per "
        f"channel, {args.global_rate:g}/s global)"
    )
    print(f"ratio to baseline   {elapsed / baseline:>10.2f} x")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=100_000)
    p.add_argument("--channels", type=int, default=4)
    p.add_argument("--per-route", type=int, default=5, help="requests per window per channel")
    p.add_argument("--window", type=float, default=1.0, help="bucket window, seconds")
    p.add_argument("--global-rate", type=float, default=50.0, help="requests/s in all")
    asyncio.run(bench(p.parse_args()))


if __name__ == "__main__":
    main()
