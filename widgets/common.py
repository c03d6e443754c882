"""Small pieces every pane shares: how a platform, a name or a count series is drawn.

Everything here builds `rich.text.Text` from untrusted strings via `inert_line`, never markup.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from datetime import datetime

from rich.text import Text

from cockpit.textsafe import inert_line

Clock = Callable[[], datetime]

PLATFORM_BADGES = {
    "discord": "DC",
    "telegram": "TG",
    "whatsapp": "WA",
    "slack": "SL",
    "discourse": "DS",
    "demo": "DM",
}
KNOWN_PLATFORMS = tuple(PLATFORM_BADGES)
AUTHOR_HUES = 6
_BARS = "▁▂▃▄▅▆▇█"


def platform_badge(platform: str) -> str:
    """Two letters that tell platforms apart even without colour."""
    return PLATFORM_BADGES.get(platform, inert_line(platform)[:2].upper().ljust(2))


def platform_class(platform: str) -> str:
    """The component class that colours a platform (unknown ones share one)."""
    return f"platform-{platform}" if platform in PLATFORM_BADGES else "platform-other"


def author_hue(author_id: str) -> int:
    """A stable colour slot per author, so a conversation is easy to follow."""
    return zlib.crc32(author_id.encode("utf-8", "replace")) % AUTHOR_HUES


def safe(text: str | None) -> Text:
    """Untrusted text as a literal, single-line Text."""
    return Text(inert_line(text or ""), no_wrap=True, end="")


def fit(text: str, width: int) -> str:
    """Pad or cut to exactly `width` cells (with an ellipsis when cut)."""
    if width <= 0:
        return ""
    cell = Text(text, no_wrap=True, end="")
    if cell.cell_len > width:
        cell.truncate(width - 1)
        return cell.plain + "…"
    return cell.plain + " " * (width - cell.cell_len)


def sparkline(values: Sequence[int], width: int | None = None) -> str:
    """Block characters scaled to the largest value; empty buckets show the lowest bar."""
    data = list(values)[-width:] if width else list(values)
    if not data:
        return ""
    top = max(data)
    if top <= 0:
        return _BARS[0] * len(data)
    return "".join(
        _BARS[min(len(_BARS) - 1, (v * (len(_BARS) - 1) + top - 1) // top)] for v in data
    )


def countdown(seconds: float) -> str:
    """'in 3d 4h', 'in 2h 05m', 'in 12m', 'now'."""
    s = int(seconds)
    if s <= 0:
        return "now"
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"in {days}d {hours}h"
    if hours:
        return f"in {hours}h {minutes:02d}m"
    return f"in {max(1, minutes)}m"
