"""Purge of a member's messages on Discord against a local stand-in enforcing bucket limits.

The stand-in (tests/standins/discord.py, limits from tests/discord_fake.Limits) allows
`--bulk` calls per window in the channel's bulk-delete bucket (default 1/1: one call per
second), `--single` in its single-delete bucket (default 5/5: five per five seconds), with
X-RateLimit-* headers, and `--global-rate` requests/s in all, answering 429 past either. The purge deletes `--messages` messages, the
`--old` of them past Discord's 14-day bulk-delete horizon (one DELETE each), the rest by
bulk delete (100 per call). Printed: elapsed time, requests, 429s received, the least time
the limits allow for those requests, and the ratio (want at most 1.2).

    python bench/bench_purge.py [--messages 500] [--old 60] [--bulk 1/1] [--single 5/5]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from discord_fake import Limits  # noqa: E402
from standins.discord import GUILD, TOKEN, DiscordStandIn, snowflake  # noqa: E402

from cockpit.plugin_api import ActionCall, ActionTarget, SourceContext  # noqa: E402
from cockpit.plugins.discord.actions import DiscordActor  # noqa: E402
from cockpit.plugins.discord.settings import DiscordSettings  # noqa: E402

CHANNEL = "2000000000000000001"


def bucket_time(calls: int, per_route: int, window: float) -> float:
    """The least time for `calls` in one bucket: full windows before the last call."""
    return (max(calls, 1) - 1) // per_route * window


def least_time(
    recent: int,
    old: int,
    bulk_limit: tuple[int, float],
    single_limit: tuple[int, float],
    global_rate: float,
) -> float:
    bulk = math.ceil(recent / 100)
    single = old
    if recent % 100 == 1:  # a lone recent message cannot be bulk deleted
        bulk, single = bulk - 1, single + 1
    global_time = (max(bulk + single, 1) - 1) // int(global_rate) * 1.0
    return max(bucket_time(bulk, *bulk_limit), bucket_time(single, *single_limit), global_time)


async def bench(args: argparse.Namespace) -> None:
    limits = Limits(
        global_rate=args.global_rate,
        routes={"bulk-delete": args.bulk, "DELETE channels": args.single},
    )
    now = datetime.now(UTC)
    recent = args.messages - args.old
    async with DiscordStandIn(limits) as fake:
        fake.add_channel(CHANNEL)
        ids = [snowflake(now - timedelta(minutes=1, seconds=i), i) for i in range(recent)]
        ids += [snowflake(now - timedelta(days=20, seconds=i), i) for i in range(args.old)]
        for mid in ids:
            fake.add_message(CHANNEL, mid)
        settings = DiscordSettings(
            token=TOKEN, guild_ids=[GUILD], base_url=fake.base_url, global_rate=args.client_rate
        )
        actor = DiscordActor(settings, SourceContext("bench", "bench", ROOT))
        target = ActionTarget(
            "discord", "bench", user_id="1", channel_id=CHANNEL, message_ids=tuple(ids)
        )
        call = ActionCall("purge", target, "bench", "bench-purge")
        start = time.perf_counter()
        outcome = await actor.perform(call)
        elapsed = time.perf_counter() - start
        await actor.aclose()
        bound = least_time(recent, args.old, args.bulk, args.single, args.global_rate)
        print(
            f"purge of {args.messages} messages ({args.old} older than 14 days): {outcome.status}: {outcome.detail}"
        )
        print(
            f"limits: bulk delete {args.bulk[0]} per {args.bulk[1]:g} s, single delete "
            f"{args.single[0]} per {args.single[1]:g} s, {args.global_rate:g}/s global"
        )
        print(
            f"requests: {len(fake.requests)}, 429s received: {limits.rejected}, left: {len(fake.messages[CHANNEL])}"
        )
        print(
            f"measured: {elapsed:.2f} s; limit-bound minimum: {bound:.2f} s; ratio {elapsed / bound if bound else float('nan'):.2f}x (want <= 1.2x)"
        )


def limit(text: str) -> tuple[int, float]:
    calls, _, window = text.partition("/")
    return int(calls), float(window or 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=500)
    p.add_argument("--old", type=int, default=60, help="of them older than 14 days")
    p.add_argument("--bulk", type=limit, default=(1, 1.0), help="bulk-delete bucket, N/SECONDS")
    p.add_argument("--single", type=limit, default=(5, 5.0), help="single delete, N/SECONDS")
    p.add_argument("--global-rate", type=float, default=50.0)
    p.add_argument("--client-rate", type=float, default=45.0, help="the source's global_rate")
    asyncio.run(bench(p.parse_args()))


if __name__ == "__main__":
    main()
