"""How alerts are told to people, the same in the CLI and the pane."""

from __future__ import annotations

import getpass


def who() -> str:
    """The operator's login name, recorded on acks, silences and resolves."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "operator"


def age(ms: int, now: int) -> str:
    """'45s', '12m', '5h', '3d': how long ago, in at most four cells."""
    s = max(0, (now - ms) // 1000)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"
