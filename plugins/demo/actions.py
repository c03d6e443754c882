"""The demo's hands: every action on every simulated platform takes effect at once. A member
banned or timed out stops posting (until the time is up), a locked channel goes quiet,
and the cockpit's case log, feed and member view show it as they would on a real platform.

The source and its actor share their state through `state_of(source name)` (one process)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cockpit.model import Activity, Kind
from cockpit.plugin_api import ACTIONS, ActionCall, ActionOutcome, SourceContext

from .settings import DemoSettings

PLATFORMS = ("discord", "telegram", "slack", "whatsapp", "discourse")


@dataclass
class DemoState:
    """What the simulated platforms enforce: restricted members, locked channels."""

    restricted: dict[tuple[str, str], datetime | None] = field(default_factory=dict)
    locked: set[tuple[str, str]] = field(default_factory=set)
    slowmode: dict[tuple[str, str], int] = field(default_factory=dict)
    posted: list[Activity] = field(default_factory=list)  # the bot's posts, for the feed
    roles: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # member -> role ids

    def allows(self, record: Activity) -> bool:
        """Whether the simulated platform lets this record through."""
        who = (record.platform, str(getattr(record, "author_id", "")))
        if who in self.restricted:
            until = self.restricted[who]
            if until is None or until > record.ts:
                return False
        return (record.platform, str(getattr(record, "channel_id", ""))) not in self.locked


_STATES: dict[str, DemoState] = {}


def state_of(source: str) -> DemoState:
    return _STATES.setdefault(source, DemoState())


class DemoActor:
    """Implements `cockpit.plugin_api.Actor` for the simulated community."""

    def __init__(self, settings: DemoSettings, ctx: SourceContext) -> None:
        self.state = state_of(ctx.name)
        self.actions: Mapping[str, frozenset[str]] = {p: ACTIONS for p in PLATFORMS}

    async def aclose(self) -> None:
        return None

    async def perform(self, call: ActionCall) -> ActionOutcome:
        t, s = call.target, self.state
        who = (t.platform, t.user_id or "")
        where = (t.platform, t.channel_id or "")
        name = t.label or t.user_id or t.channel_id or "?"
        if call.action in ("ban", "timeout") and not t.user_id:
            return ActionOutcome("failed", f"{call.action} needs a member")
        if call.action == "ban":
            s.restricted[who] = call.until
            span = f" until {call.until:%Y-%m-%d %H:%M} UTC" if call.until else ""
            return ActionOutcome("done", f"banned {name}{span}")
        if call.action == "timeout":
            if call.until is None:
                s.restricted.pop(who, None)
                return ActionOutcome("done", f"timeout of {name} lifted")
            s.restricted[who] = call.until
            return ActionOutcome(
                "done", f"timed out {name} until {call.until:%Y-%m-%d %H:%M} UTC", lifts_itself=True
            )
        if call.action == "unban":
            s.restricted.pop(who, None)
            return ActionOutcome("done", f"unbanned {name}")
        if call.action == "kick":
            return ActionOutcome("done", f"removed {name} (they may join again)")
        if call.action == "lock":
            was = where in s.locked
            s.locked.add(where)
            return ActionOutcome("done", f"locked {name}", restore={"locked": was})
        if call.action == "unlock":
            restore: Mapping[str, Any] = call.restore or {"locked": False}
            if not restore.get("locked"):
                s.locked.discard(where)
            return ActionOutcome("done", f"unlocked {name}")
        if call.action == "slowmode":
            before = s.slowmode.get(where, 0)
            seconds = int(call.slowmode_seconds or 0)
            if call.restore is not None and seconds == 0:
                seconds = int(call.restore.get("seconds", 0))
            s.slowmode[where] = seconds
            line = f"slow mode {seconds} s in {name}" if seconds else f"slow mode off in {name}"
            return ActionOutcome("done", line, restore={"seconds": before})
        if call.action in ("role_add", "role_remove"):
            if not t.user_id or not call.role:
                return ActionOutcome("failed", f"{call.action} needs a member and a role")
            held = s.roles.setdefault(who, set())
            if call.action == "role_add":
                held.add(call.role)
                return ActionOutcome("done", f"gave {name} the role {call.role}")
            held.discard(call.role)
            return ActionOutcome("done", f"took the role {call.role} from {name}")
        if call.action in ("delete", "purge"):
            n = len(t.message_ids)
            return ActionOutcome("done", f"deleted {n} message{'s' if n != 1 else ''}")
        if call.action in ("say", "warn") and not t.channel_id:
            return ActionOutcome("done", f"sent {name}", ref=f"demo-{call.key}")  # a DM
        if call.action in ("say", "warn"):
            channel = (t.label or "").partition(" on ")[0].lstrip("#") or t.channel_id or "?"
            s.posted.append(
                Activity(
                    platform=t.platform,
                    source_id=f"cockpit-{call.key}",
                    kind=Kind.MESSAGE,
                    ts=datetime.now(UTC),
                    channel=channel,
                    channel_id=t.channel_id or "",
                    author="Cockpit",
                    author_id="cockpit-bot",
                    text=call.text or "",
                    community=t.community,
                    reply_to=t.message_ids[0] if call.action == "warn" and t.message_ids else None,
                    is_bot=True,
                )
            )
            return ActionOutcome("done", f"posted in {name}", ref=f"demo-{call.key}")
        return ActionOutcome("failed", f"the demo cannot {call.action}")

    async def verify(self, call: ActionCall) -> ActionOutcome | None:
        t, s = call.target, self.state
        who = (t.platform, t.user_id or "")
        if call.action in ("ban", "timeout"):
            if who in s.restricted:
                return ActionOutcome("done", f"{call.action} of {t.label} is in effect")
            return ActionOutcome("failed", f"{call.action} of {t.label} did not take effect")
        if call.action == "unban":
            return ActionOutcome("done" if who not in s.restricted else "failed", "checked")
        if call.action == "lock":
            locked = (t.platform, t.channel_id or "") in s.locked
            return ActionOutcome("done" if locked else "failed", "checked the channel")
        if call.action in ("role_add", "role_remove"):
            has = (call.role or "") in s.roles.get(who, set())
            ok = has == (call.action == "role_add")
            return ActionOutcome("done" if ok else "failed", "checked the member's roles")
        return None  # a post or a delete leaves nothing the demo can check


def create_actor(settings: DemoSettings, ctx: SourceContext) -> DemoActor:
    return DemoActor(settings, ctx)
