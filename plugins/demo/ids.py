"""Message ids shaped like each platform's, derived from a microsecond that is unique per run.

The engine never gives two records the same microsecond, and a resumed run only emits
records after its cursor, so ids never collide across restarts either.
"""

from __future__ import annotations

DISCORD_EPOCH_MS = 1_420_070_400_000
Y2K_US = 946_684_800_000_000


def message_id(platform: str, channel_id: str, us: int) -> str:
    if platform == "discord":  # a snowflake: ms since the Discord epoch, then an increment
        return str(((us // 1000 - DISCORD_EPOCH_MS) << 22) | (us % 1000))
    if platform == "slack":  # Slack's own "ts", unique per channel
        return f"{channel_id}:{us // 1_000_000}.{us % 1_000_000:06d}"
    if platform == "telegram":  # chat id and message id
        return f"{channel_id}:{us - Y2K_US}"
    if platform == "whatsapp":
        return f"3EB0{us:X}"
    return str(us - Y2K_US)  # a Discourse post id


def reaction_id(target: str, emoji: str, author_id: str) -> str:
    """One reaction per member, emoji and message, as the platforms count them."""
    return f"{target}:{emoji}:{author_id}"
