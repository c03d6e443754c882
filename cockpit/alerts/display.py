"""How alerts are told to people, the same in the CLI and the pane."""

from __future__ import annotations

import getpass

from cockpit.alerts.config import AnyRule
from cockpit.timeutil import age, format_duration

__all__ = ["actions_text", "age", "who"]


def who() -> str:
    """The operator's login name, recorded on acks, silences and resolves."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "operator"


def actions_text(rule: AnyRule) -> str:
    """What a rule does when it fires: 'propose: delete, timeout for 1h (cap 20 in 10m)'."""
    if not rule.actions:
        return "none (alerts only)"
    words = []
    for act in rule.actions:
        span = f" for {format_duration(act.for_)}" if act.for_ is not None else ""
        words.append(f"{act.do}{span}")
    text = f"{rule.mode}: {', '.join(words)}"
    if rule.auto_cap is not None and rule.mode == "auto":
        cap = rule.auto_cap
        text += f" (at most {cap.count} in {format_duration(cap.within)})"
    return text
