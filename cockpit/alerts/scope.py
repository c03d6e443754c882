"""Where and to whom a rule applies: its communities, platforms, channels, bots and staff.

Rules with the same scope are many (a thousand keyword rules are mostly unscoped), so a
scope has a `key`: a batch filters its events once per distinct scope, not once per rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cockpit.alerts.config import AnyRule
from cockpit.alerts.events import Event
from cockpit.model import Kind


class Staff:
    """Who counts as staff: `platform:author_id` entries or handles (case-insensitive)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.ids = {e for e in entries if ":" in e}
        self.handles = {e.lstrip("@").casefold() for e in entries if ":" not in e}

    def __contains__(self, ev: object) -> bool:
        if not isinstance(ev, Event):
            return False
        if self.ids and f"{ev.platform}:{ev.author_id}" in self.ids:
            return True
        return bool(self.handles) and (
            (ev.handle is not None and ev.handle.casefold() in self.handles)
            or ev.author.casefold() in self.handles
        )


class Scope:
    """A rule's scope and exclusions; `accepts` for one event, `filter` for a batch."""

    __slots__ = ("_bots", "_channels", "_communities", "_open", "_platforms", "_staff", "key")

    def __init__(self, rule: AnyRule, staff: Staff) -> None:
        self._communities = frozenset(rule.communities)
        self._platforms = frozenset(rule.platforms)
        self._channels = frozenset(c.lstrip("#").casefold() for c in rule.channels) | frozenset(
            rule.channels
        )
        self._staff = staff if rule.exclude_staff else None
        self._bots = rule.exclude_bots
        self._open = not (
            self._communities or self._platforms or self._channels or self._staff is not None
        )
        self.key = (
            self._communities,
            self._platforms,
            self._channels,
            self._staff is not None,
            self._bots,
        )

    def accepts(self, ev: Event) -> bool:
        if self._bots and ev.is_bot:
            return False
        if self._open:
            return True
        if self._communities and ev.community not in self._communities:
            return False
        if self._platforms and ev.platform not in self._platforms:
            return False
        if (
            self._channels
            and ev.channel_id not in self._channels
            and ev.channel.lstrip("#").casefold() not in self._channels
        ):
            return False
        return not (self._staff is not None and ev in self._staff)

    def filter(self, events: Sequence[Event], kinds: frozenset[Kind]) -> list[Event]:
        """The events of these kinds within the scope, in one pass."""
        if self._open:
            if self._bots:
                return [ev for ev in events if ev.kind in kinds and not ev.is_bot]
            return [ev for ev in events if ev.kind in kinds]
        accepts = self.accepts
        return [ev for ev in events if ev.kind in kinds and accepts(ev)]
