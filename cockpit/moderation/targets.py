"""What an action acts on: a MEMBER (or the person behind it, everywhere), an activity
(`platform:id` as in `feed --json`), a channel (`#name`, `platform:#name`) or an alert
(`alert:N`: everything it points at, see alert_targets), resolved to
one `ActionTarget` per platform in that platform's own ids. Nothing here calls a platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cockpit.config import Config
from cockpit.errors import CockpitError
from cockpit.member_lookup import resolve_member
from cockpit.plugin_api import ACTIONS, ActionTarget
from cockpit.registry import Registry
from cockpit.store.base import ActivityRow, ChannelRow, FeedQuery, MemberRow, Store
from cockpit.textsafe import inert_line

MEMBER_ACTIONS = frozenset(
    {"warn", "timeout", "kick", "ban", "unban", "purge", "role_add", "role_remove"}
)
CHANNEL_ACTIONS = frozenset({"lock", "unlock", "slowmode", "say"})
MESSAGE_ACTIONS = frozenset({"delete"})
PLATFORMS = ("discord", "telegram", "slack", "whatsapp", "discourse")


class Refused(CockpitError):
    """An action the cockpit will not ask for (unsupported, protected, not allowed)."""


@dataclass(frozen=True)
class Planned:
    """One platform's part, with the line the confirmation shows for it."""

    target: ActionTarget
    member_id: int | None
    line: str


@dataclass(frozen=True)
class Plan:
    action: str
    community: str
    label: str
    steps: list[Planned] = field(default_factory=list)
    member_id: int | None = None
    person_id: int | None = None
    activity_ids: tuple[int, ...] = ()
    protected: list[str] = field(default_factory=list)  # why a --force would be needed
    skipped: list[str] = field(default_factory=list)  # left out, each with why (shown)
    alert_id: int | None = None  # the alert it answers (acting on `alert:N`)


def capabilities(registry: Registry, config: Config) -> dict[str, frozenset[str]]:
    """Which actions each platform's plugin declares; a source serving every platform (the
    demo) adds its own to all of them."""
    caps: dict[str, set[str]] = {}
    for plugin in registry.plugins.values():
        if plugin.platform:
            caps.setdefault(plugin.platform, set()).update(plugin.actions)
    types = registry.source_types
    for sc in config.sources:
        st = types.get(sc.type)
        owner = next((p for p in registry.plugins.values() if sc.type in p.sources), None)
        if st is not None and owner is not None and owner.platform is None and owner.actions:
            for platform in PLATFORMS:
                caps.setdefault(platform, set()).update(owner.actions)
    return {p: frozenset(a) for p, a in caps.items()}


def per_chat(registry: Registry) -> dict[str, frozenset[str]]:
    """The member actions each platform takes one chat at a time (its plugin says so)."""
    out: dict[str, frozenset[str]] = {}
    for plugin in registry.plugins.values():
        if plugin.platform and plugin.per_chat:
            out[plugin.platform] = out.get(plugin.platform, frozenset()) | plugin.per_chat
    return out


async def _chats_of(store: Store, m: MemberRow, limit: int) -> dict[str, tuple[str, list[str]]]:
    """The chats the member was seen in (newest first), each with its name and the
    member's recent messages there: where a per-chat platform's action is made."""
    chats: dict[str, tuple[str, list[str]]] = {}
    for r in await store.feed(FeedQuery(member_ids=[m.id], limit=max(limit, 200))):
        ids = chats.setdefault(r.channel_id, (r.channel, []))[1]
        if r.kind.value == "message" and len(ids) < limit:
            ids.append(r.source_id)
    return chats


def member_label(m: MemberRow) -> str:
    """How a plan names an account: @handle on platform."""
    handle = f"@{m.handle}" if m.handle else m.display_name
    return inert_line(f"{handle} on {m.platform}")


def protected_reason(m: MemberRow, config: Config) -> str | None:
    """Why this account is never actioned without --force (a bot, staff, protected)."""
    if m.is_bot:
        return f"{member_label(m)} is a bot"
    names = {
        x.lstrip("@").casefold() for x in [*config.moderation.protected, *config.alerting.staff]
    }
    keys = {
        (m.handle or "").casefold(),
        f"{m.platform}:{m.platform_user_id}".casefold(),
        m.platform_user_id.casefold(),
    }
    if names & keys:
        return f"{member_label(m)} is protected (staff or [moderation] protected)"
    return None


async def _activity(store: Store, text: str) -> ActivityRow | None:
    platform, sep, sid = text.partition(":")
    if not sep or platform not in PLATFORMS or not sid or sid.startswith("#"):
        return None
    return await store.activity(platform, sid)


async def _channel(store: Store, text: str, community: str) -> ChannelRow:
    platform, sep, name = text.partition(":")
    if not sep:
        platform, name = "", text
    name = name.lstrip("#")
    found = [
        c
        for c in await store.channels(community)
        if (not platform or c.platform == platform)
        and (c.name.casefold() == name.casefold() or c.channel_id == name)
    ]
    if not found:
        raise CockpitError(f"no channel {text!r} in {community!r} (try #name or platform:#name)")
    if len(found) > 1:
        listed = "; ".join(
            f"{c.platform}:{inert_line(c.channel_id)} (#{inert_line(c.name)})" for c in found[:10]
        )
        raise CockpitError(f"channel {text!r} is ambiguous: {listed}; pass platform:channel_id")
    return found[0]


def _is_channel(text: str) -> bool:
    name = text.partition(":")[2] if ":" in text else text
    return name.startswith("#") and not name[1:].isdigit()


async def resolve(
    store: Store,
    registry: Registry,
    config: Config,
    action: str,
    target: str,
    *,
    platforms: Sequence[str] = (),
    everywhere: bool = False,
    community: str | None = None,
    purge_limit: int | None = None,
) -> Plan:
    """The plan of `cockpit mod ACTION TARGET`: one step per platform, or a one-line refusal."""
    if action not in ACTIONS:
        raise Refused(f"unknown action {action!r} (one of {', '.join(sorted(ACTIONS))})")
    community = community or config.cockpit.community
    caps = capabilities(registry, config)
    chat_scoped = per_chat(registry)
    unknown = sorted(set(platforms) - set(PLATFORMS))
    if unknown:
        raise Refused(
            f"--platform: unknown platform {unknown[0]!r} (one of {', '.join(PLATFORMS)})"
        )
    kind, sep, number = target.partition(":")
    if sep and kind == "alert":
        if not number.isdigit() or int(number) > 2**62:
            raise Refused(f"not an alert number: {target!r} (alert:N, as in `cockpit alerts`)")
        from cockpit.moderation.alert_targets import resolve_alert  # it builds on this module

        return await resolve_alert(store, registry, config, action, int(number))
    activity = await _activity(store, target)
    if activity is not None:
        return await _for_activity(store, config, action, activity, caps, community, purge_limit)
    if _is_channel(target) or (action in CHANNEL_ACTIONS and ":" in target):
        if action not in CHANNEL_ACTIONS:
            raise Refused(f"{action} acts on a member or a message, not on channel {target!r}")
        ch = await _channel(store, target, community)
        _supported(caps, ch.platform, action)
        t = ActionTarget(ch.platform, community, channel_id=ch.channel_id, label=f"#{ch.name}")
        return Plan(
            action,
            community,
            f"{ch.platform}:#{inert_line(ch.name)}",
            [Planned(t, None, f"{action} #{inert_line(ch.name)} on {ch.platform}")],
        )
    if action in CHANNEL_ACTIONS or action in MESSAGE_ACTIONS:
        what = "a channel (#name)" if action in CHANNEL_ACTIONS else "a message (platform:id)"
        raise Refused(f"{action} needs {what}; {target!r} is neither")
    member = await resolve_member(store, target, community)
    members = [member]
    person_id = (await store.identity.persons_of([member.id])).get(member.id)
    if (everywhere or platforms) and person_id is not None:
        linked = [await store.member(i) for i in await store.identity.members_of(person_id)]
        members = [m for m in linked if m is not None]
    if platforms:
        members = [m for m in members if m.platform in platforms]
        if not members:
            raise Refused(
                f"{member_label(member)} has no account on {', '.join(platforms)}"
                + ("" if person_id is not None else " (no linked identities)")
            )
    plan = Plan(
        action,
        community,
        inert_line(member.display_name)
        + (" (everywhere)" if len(members) > 1 else f" on {member.platform}"),
        member_id=member.id,
        person_id=person_id if len(members) > 1 else None,
    )
    for m in members:
        if len(members) > 1 and action not in caps.get(m.platform, frozenset()):
            plan.skipped.append(f"{member_label(m)}: {m.platform} cannot {action}")
            continue  # everywhere means everywhere it can be done; the rest is said
        _supported(caps, m.platform, action)
        why = protected_reason(m, config)
        if why:
            plan.protected.append(why)
        limit = purge_limit or config.moderation.purge_limit
        if action in chat_scoped.get(m.platform, frozenset()):
            chats = await _chats_of(store, m, limit)
            if not chats:
                plan.skipped.append(
                    f"{member_label(m)}: not seen in any {m.platform} chat, and a {m.platform} "
                    f"{action} is made in one chat at a time"
                )
                continue
        else:
            recent = await store.feed(FeedQuery(member_ids=[m.id], limit=limit))
            ids = [r.source_id for r in recent if r.kind.value == "message"]
            chats = {"": ("", ids if action == "purge" else [])}
        for channel_id, (name, message_ids) in chats.items():
            t = ActionTarget(
                m.platform,
                community,
                user_id=m.platform_user_id,
                channel_id=channel_id or None,
                message_ids=tuple(message_ids) if action == "purge" else (),
                label=member_label(m),
            )
            extra = f" ({len(message_ids)} messages)" if action == "purge" else ""
            where = f" in #{inert_line(name)}" if channel_id else ""
            plan.steps.append(Planned(t, m.id, f"{action} {member_label(m)}{where}{extra}"))
    if not plan.steps:
        raise Refused("; ".join(plan.skipped))
    return plan


async def _for_activity(
    store: Store,
    config: Config,
    action: str,
    a: ActivityRow,
    caps: dict[str, frozenset[str]],
    community: str,
    purge_limit: int | None,
) -> Plan:
    _supported(caps, a.platform, action)
    author = await store.member(a.member_id)
    where = f"#{inert_line(a.channel)} on {a.platform}"
    base = ActionTarget(a.platform, community, channel_id=a.channel_id)
    plan = Plan(action, community, f"{a.platform}:{a.source_id}", activity_ids=(a.id,))
    if action == "delete":
        t = ActionTarget(
            a.platform,
            community,
            channel_id=a.channel_id,
            message_ids=(a.source_id,),
            label=f"message {a.source_id} in {where}",
        )
        plan.steps.append(Planned(t, a.member_id, f"delete the message in {where}"))
        return plan
    if action in CHANNEL_ACTIONS:
        reply: tuple[str, ...] = (a.source_id,) if action == "say" else ()
        t = ActionTarget(
            a.platform, community, channel_id=a.channel_id, message_ids=reply, label=f"#{a.channel}"
        )
        line = f"reply in {where}" if action == "say" else f"{action} {where}"
        plan.steps.append(Planned(t, None, line))
        return plan
    if author is None:
        raise Refused(f"the author of {a.platform}:{a.source_id} is not in the store")
    why = protected_reason(author, config)
    if why:
        plan.protected.append(why)
    ids: tuple[str, ...] = (a.source_id,) if action == "warn" else ()  # warn replies to it
    if action == "purge":  # the author's recent messages in that channel
        rows = await store.feed(
            FeedQuery(
                member_ids=[author.id],
                channels=[a.channel],
                limit=purge_limit or config.moderation.purge_limit,
            )
        )
        ids = tuple(r.source_id for r in rows if r.channel_id == a.channel_id)
    t = ActionTarget(
        base.platform,
        community,
        user_id=author.platform_user_id,
        channel_id=a.channel_id,
        message_ids=ids,
        label=member_label(author),
    )
    extra = f" ({len(ids)} messages in {where})" if action == "purge" else ""
    plan.steps.append(Planned(t, author.id, f"{action} {member_label(author)}{extra}"))
    return Plan(
        action,
        community,
        member_label(author),
        plan.steps,
        member_id=author.id,
        activity_ids=(a.id,),
        protected=plan.protected,
    )


def _supported(caps: dict[str, frozenset[str]], platform: str, action: str) -> None:
    if action not in caps.get(platform, frozenset()):
        offered = ", ".join(sorted(caps.get(platform, ()))) or "none"
        raise Refused(f"{platform} cannot {action} from the cockpit (it offers: {offered})")
