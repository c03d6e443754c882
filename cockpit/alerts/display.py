"""How alerts are told to people, the same in the CLI and the pane."""

from __future__ import annotations

import getpass

from cockpit.timeutil import age

__all__ = ["age", "who"]


def who() -> str:
    """The operator's login name, recorded on acks, silences and resolves."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "operator"
