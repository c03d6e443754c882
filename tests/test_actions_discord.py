"""Discord moderation through REST v10 against the loopback stand-in: the exact calls made,
each refusal as one line, nothing sent twice, lock/unlock restoring exactly, purge split."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from discord_fake import Limits
from standins import Reply
from standins.discord import GUILD, ROLE, TOKEN, DiscordStandIn, nonce_of, snowflake

from cockpit.plugin_api import ActionCall, ActionOutcome, ActionTarget, SourceContext
from cockpit.plugins.discord import DiscordSettings, plugin
from cockpit.plugins.discord.actions import DiscordActor

CHAN = "2000000000000000001"
USER = "3000000000000000001"


@pytest.fixture
async def fake() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn() as server:
        server.add_member(USER)
        server.add_channel(CHAN)
        yield server


def actor_for(fake: DiscordStandIn, token: str = TOKEN) -> DiscordActor:
    settings = DiscordSettings(token=token, guild_ids=[GUILD], base_url=fake.base_url)
    return DiscordActor(settings, SourceContext("dc", "main", Path(".")))


def call(action: str, key: str = "case-1:discord", **kw: Any) -> ActionCall:
    target = ActionTarget(
        "discord",
        "main",
        user_id=kw.pop("user_id", USER),
        channel_id=kw.pop("channel_id", CHAN),
        message_ids=tuple(kw.pop("message_ids", ())),
        label=kw.pop("label", "@mallory"),
    )
    return ActionCall(action, target, kw.pop("reason", "scam links, 3 warnings"), key, **kw)


async def run(fake: DiscordStandIn, c: ActionCall, token: str = TOKEN) -> ActionOutcome:
    actor = actor_for(fake, token)
    try:
        outcome = await actor.perform(c)
    finally:
        await actor.aclose()
    assert "\n" not in outcome.detail and outcome.detail
    assert TOKEN not in outcome.detail
    return outcome


def test_plugin_declares_what_the_actor_does() -> None:
    st = plugin.sources["discord"]
    assert st.actor is not None
    actor = st.actor(
        DiscordSettings(token="x", guild_ids=[GUILD]), SourceContext("dc", "main", Path("."))
    )
    assert actor.actions["discord"] == plugin.actions
    assert "purge" in plugin.actions and "lock" in plugin.actions


async def test_ban_with_reason_header_and_history(fake: DiscordStandIn) -> None:
    out = await run(fake, call("ban", delete_history=timedelta(days=1), reason="spam: ü & co"))
    assert out.status == "done" and "banned @mallory" in out.detail
    (req,) = fake.requests
    assert (req.method, req.path) == ("PUT", f"/api/v10/guilds/{GUILD}/bans/{USER}")
    assert req.json == {"delete_message_seconds": 86400}
    assert req.headers["x-audit-log-reason"] == quote("spam: ü & co", safe="")
    assert USER in fake.bans


async def test_unban_and_unknown_ban(fake: DiscordStandIn) -> None:
    out = await run(fake, call("unban"))
    assert out.status == "done" and "was not banned" in out.detail
    fake.bans[USER] = {"user": {"id": USER}}
    out = await run(fake, call("unban"))
    assert out.status == "done" and out.detail == "unbanned @mallory"
    assert fake.calls() == [("DELETE", f"/guilds/{GUILD}/bans/{USER}")] * 2


async def test_timeout_sets_and_lifts(fake: DiscordStandIn) -> None:
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    out = await run(fake, call("timeout", until=until))
    assert out.status == "done" and out.lifts_itself
    assert fake.requests[-1].json == {"communication_disabled_until": until.isoformat()}
    assert fake.requests[-1].method == "PATCH"
    assert fake.members[USER]["communication_disabled_until"] == until.isoformat()
    out = await run(fake, call("timeout", until=None))
    assert out.status == "done" and "lifted" in out.detail
    assert fake.requests[-1].json == {"communication_disabled_until": None}


async def test_timeout_past_28_days_is_refused_without_a_call(fake: DiscordStandIn) -> None:
    out = await run(fake, call("timeout", until=datetime.now(UTC) + timedelta(days=30)))
    assert out.status == "failed" and "28 days" in out.detail
    assert fake.requests == []


async def test_kick_and_unknown_member(fake: DiscordStandIn) -> None:
    out = await run(fake, call("kick"))
    assert out.status == "done"
    assert fake.calls() == [("DELETE", f"/guilds/{GUILD}/members/{USER}")]
    out = await run(fake, call("kick"))
    assert out.status == "failed" and "not a member" in out.detail


@pytest.mark.parametrize(
    ("action", "permission", "extra"),
    [
        ("ban", "BAN_MEMBERS", {}),
        ("kick", "KICK_MEMBERS", {}),
        ("timeout", "MODERATE_MEMBERS", {"until": datetime.now(UTC) + timedelta(hours=1)}),
        ("delete", "MANAGE_MESSAGES", {"message_ids": ["m"]}),
        ("slowmode", "MANAGE_CHANNELS", {"slowmode_seconds": 10}),
        ("lock", "MANAGE_ROLES", {}),
        ("say", "SEND_MESSAGES", {"text": "hello"}),
        ("role_add", "MANAGE_ROLES", {"role": ROLE}),
        ("role_remove", "MANAGE_ROLES", {"role": ROLE}),
    ],
)
async def test_missing_permission_names_it(
    fake: DiscordStandIn, action: str, permission: str, extra: dict[str, Any]
) -> None:
    fake.granted.discard(permission)
    if action == "delete":
        mid = snowflake(datetime.now(UTC))
        fake.add_message(CHAN, mid)
        extra = {"message_ids": [mid]}
    out = await run(fake, call(action, **extra))
    assert out.status == "failed"
    assert permission in out.detail and "grant" in out.detail


async def test_refused_token_is_one_line_without_the_token(fake: DiscordStandIn) -> None:
    out = await run(fake, call("ban"), token="wrong-secret-token")
    assert out.status == "failed" and "refused the bot token" in out.detail
    assert "wrong-secret-token" not in out.detail


async def test_delete_of_a_message_already_gone_is_done(fake: DiscordStandIn) -> None:
    out = await run(fake, call("delete", message_ids=[snowflake(datetime.now(UTC))]))
    assert out.status == "done" and "already gone" in out.detail
    assert len(fake.seen("DELETE")) == 1


async def test_purge_splits_bulk_and_single_by_age(fake: DiscordStandIn) -> None:
    now = datetime.now(UTC)
    recent = [snowflake(now - timedelta(minutes=i + 1), i) for i in range(150)]
    old = [snowflake(now - timedelta(days=20, minutes=i), i) for i in range(3)]
    for mid in recent + old:
        fake.add_message(CHAN, mid)
    out = await run(fake, call("purge", message_ids=recent + old))
    assert out.status == "done" and out.detail == "deleted 153 of 153 messages"
    bulks = fake.seen("POST", "/bulk-delete")
    assert [len(r.json["messages"]) for r in bulks] == [100, 50]
    singles = {r.path.rsplit("/", 1)[1] for r in fake.seen("DELETE")}
    assert singles == set(old)
    assert fake.messages[CHAN] == {}


async def test_purge_never_bulk_deletes_one_message(fake: DiscordStandIn) -> None:
    now = datetime.now(UTC)
    recent = [snowflake(now - timedelta(minutes=i + 1), i) for i in range(101)]
    for mid in recent:
        fake.add_message(CHAN, mid)
    out = await run(fake, call("purge", message_ids=recent))
    assert out.status == "done"
    assert [len(r.json["messages"]) for r in fake.seen("POST", "/bulk-delete")] == [100]
    assert len(fake.seen("DELETE")) == 1


async def test_purge_obeys_buckets_and_429() -> None:
    limits = Limits(per_route=3, window=0.2)
    async with DiscordStandIn(limits) as fake:
        fake.add_channel(CHAN)
        now = datetime.now(UTC)
        old = [snowflake(now - timedelta(days=30, minutes=i), i) for i in range(10)]
        for mid in old:
            fake.add_message(CHAN, mid)
        fake.script(
            "DELETE",
            "/channels/{c}/messages/{m}",
            Reply(
                429,
                {"message": "You are being rate limited.", "retry_after": 0.05, "global": False},
                {"Retry-After": "0.05"},
            ),
        )
        out = await run(fake, call("purge", message_ids=old))
        assert out.status == "done" and out.detail == "deleted 10 of 10 messages"
        assert len(fake.seen("DELETE")) == 11  # the 429'd one once more, the rest once
        assert limits.rejected == 0  # the bucket headers were waited out, never overrun


async def test_rate_limit_longer_than_patience_fails_with_retry_after(fake: DiscordStandIn) -> None:
    fake.script(
        "PUT",
        "/guilds/{g}/bans/{u}",
        Reply(
            429, {"message": "You are being rate limited.", "retry_after": 3600, "global": False}
        ),
    )
    out = await run(fake, call("ban"))
    assert out.status == "failed" and out.retry_after == 3600
    assert USER not in fake.bans


async def test_dropped_connection_is_unknown_never_resent_then_verified(
    fake: DiscordStandIn,
) -> None:
    fake.drop("PUT", "/guilds/{g}/bans/{u}")
    out = await run(fake, call("ban"))
    assert out.status == "unknown" and "will check" in out.detail
    assert len(fake.seen("PUT")) == 1
    actor = actor_for(fake)
    checked = await actor.verify(call("ban"))
    assert checked is not None and checked.status == "failed"
    fake.bans[USER] = {"user": {"id": USER}}
    checked = await actor.verify(call("ban"))
    assert checked is not None and checked.status == "done"
    await actor.aclose()
    assert len(fake.seen("PUT")) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_on_a_side_effect_is_unknown_and_sent_once(
    fake: DiscordStandIn, status: int
) -> None:
    fake.script("PATCH", "/guilds/{g}/members/{u}", Reply(status, {"message": "oops"}))
    out = await run(fake, call("timeout", until=datetime.now(UTC) + timedelta(hours=1)))
    assert out.status == "unknown"
    assert len(fake.seen("PATCH")) == 1


async def test_dropped_post_is_unknown_and_sent_once(fake: DiscordStandIn) -> None:
    fake.drop("POST", "/channels/{c}/messages")
    out = await run(fake, call("say", text="calm down please"))
    assert out.status == "unknown"
    assert len(fake.seen("POST")) == 1


@pytest.mark.parametrize(
    "before",
    [None, {"id": GUILD, "type": 0, "allow": "1024", "deny": "64"}],
)
async def test_lock_then_unlock_restores_exactly(before: dict[str, Any] | None) -> None:
    other = {"id": "555", "type": 0, "allow": "2048", "deny": "0"}
    async with DiscordStandIn() as fake:
        fake.add_channel(CHAN, [other] + ([dict(before)] if before else []))
        original = sorted(fake.channels[CHAN]["permission_overwrites"], key=lambda o: o["id"])
        lock = await run(fake, call("lock", label="#general"))
        assert lock.status == "done" and lock.restore is not None
        put = fake.seen("PUT")[-1]
        assert put.path == f"/api/v10/channels/{CHAN}/permissions/{GUILD}"
        deny = int(before["deny"]) if before else 0
        allow = int(before["allow"]) if before else 0
        assert put.json == {"type": 0, "allow": str(allow), "deny": str(deny | 2048)}
        unlock = await run(fake, call("unlock", restore=lock.restore))
        assert unlock.status == "done"
        after = sorted(fake.channels[CHAN]["permission_overwrites"], key=lambda o: o["id"])
        assert after == original
        if before is None:
            assert fake.requests[-1].method == "DELETE"
        actor = actor_for(fake)
        checked = await actor.verify(call("unlock", restore=lock.restore))
        await actor.aclose()
        assert checked is not None and checked.status == "done"


async def test_slowmode_saves_and_restores(fake: DiscordStandIn) -> None:
    fake.channels[CHAN]["rate_limit_per_user"] = 5
    out = await run(fake, call("slowmode", slowmode_seconds=30))
    assert out.status == "done" and out.restore == {"seconds": 5}
    assert fake.requests[-1].json == {"rate_limit_per_user": 30}
    out = await run(fake, call("slowmode", slowmode_seconds=0, restore=out.restore))
    assert fake.requests[-1].json == {"rate_limit_per_user": 5}
    assert fake.channels[CHAN]["rate_limit_per_user"] == 5


async def test_say_replies_with_a_stable_nonce(fake: DiscordStandIn) -> None:
    first = await run(fake, call("warn", text="no scam links", message_ids=["42"]))
    assert first.status == "done" and first.ref
    body = fake.requests[-1].json
    assert body["nonce"] == nonce_of("case-1:discord") and body["enforce_nonce"] is True
    assert body["message_reference"] == {"message_id": "42", "fail_if_not_exists": False}
    assert body["content"] == f"<@{USER}> no scam links"
    assert body["allowed_mentions"] == {"parse": [], "users": [USER]}
    again = await run(fake, call("warn", text="no scam links", message_ids=["42"]))
    assert again.ref == first.ref  # Discord deduplicates by the enforced nonce
    actor = actor_for(fake)
    checked = await actor.verify(call("warn", text="no scam links"))
    await actor.aclose()
    assert checked is not None and checked.status == "done" and checked.ref == first.ref


async def test_verify_timeout_and_delete(fake: DiscordStandIn) -> None:
    until = datetime.now(UTC) + timedelta(hours=1)
    mid = snowflake(datetime.now(UTC))
    fake.add_message(CHAN, mid)
    actor = actor_for(fake)
    try:
        t = await actor.verify(call("timeout", until=until))
        assert t is not None and t.status == "failed"
        fake.members[USER]["communication_disabled_until"] = until.isoformat()
        t = await actor.verify(call("timeout", until=until))
        assert t is not None and t.status == "done" and t.lifts_itself
        d = await actor.verify(call("delete", message_ids=[mid]))
        assert d is not None and d.status == "failed"
        del fake.messages[CHAN][mid]
        d = await actor.verify(call("delete", message_ids=[mid]))
        assert d is not None and d.status == "done"
    finally:
        await actor.aclose()


async def test_missing_target_is_refused_without_a_call(fake: DiscordStandIn) -> None:
    out = await run(fake, call("ban", user_id=None))
    assert out.status == "failed" and "needs a member" in out.detail
    assert fake.requests == []


async def test_a_global_429_pauses_and_the_reason_rides_every_delete(fake: DiscordStandIn) -> None:
    now = datetime.now(UTC)
    ids = [snowflake(now - timedelta(minutes=i + 1), i) for i in range(3)]
    ids += [snowflake(now - timedelta(days=15, minutes=i), i) for i in range(2)]
    for mid in ids:
        fake.add_message(CHAN, mid)
    glob = {"Retry-After": "0.05", "X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}
    fake.script(
        "POST",
        "/channels/{c}/messages/bulk-delete",
        Reply(
            429,
            {"message": "You are being rate limited.", "retry_after": 0.05, "global": True},
            glob,
        ),
    )
    out = await run(fake, call("purge", message_ids=ids, reason="raid 12/3"))
    assert out.status == "done" and out.detail == "deleted 5 of 5 messages"
    writes = [r for r in fake.requests if r.method != "GET"]
    assert len(writes) == 1 + 1 + 2  # the 429'd bulk, its retry, two single deletes
    assert {r.headers["x-audit-log-reason"] for r in writes} == {quote("raid 12/3", safe="")}


def test_the_actor_and_the_live_source_share_the_bots_global_limit() -> None:
    from cockpit.plugins.discord.live import DiscordSource

    settings = DiscordSettings(token=TOKEN, guild_ids=[GUILD])
    ctx = SourceContext("dc", "main", Path("."))
    actor = DiscordActor(settings, ctx)
    source = DiscordSource(settings, ctx)
    assert actor.rest.pace is source.client.pace and actor.rest.gate is source.client.gate
    other = DiscordActor(DiscordSettings(token="another-bot", guild_ids=[GUILD]), ctx)
    assert other.rest.gate is not actor.rest.gate


async def test_verify_a_kick_asks_the_server_it_was_for(fake: DiscordStandIn) -> None:
    """Several servers: the channel names the server; without one a kick cannot be pinned."""
    other = "1000000000000000999"
    settings = DiscordSettings(token=TOKEN, guild_ids=[other, GUILD], base_url=fake.base_url)
    actor = DiscordActor(settings, SourceContext("dc", "main", Path(".")))
    try:
        # the kick did not happen: the member is still in the channel's server
        out = await actor.verify(call("kick"))
        assert out is not None and out.status == "failed" and "still a member" in out.detail
        assert fake.calls()[-1] == ("GET", f"/guilds/{GUILD}/members/{USER}")
        # no channel: still in a server, but which one was meant is not known
        out = await actor.verify(call("kick", channel_id=None))
        assert out is not None and out.status == "unknown" and "\n" not in out.detail
        del fake.members[USER]
        out = await actor.verify(call("kick", channel_id=None))
        assert out is not None and out.status == "done"
    finally:
        await actor.aclose()


async def test_role_add_and_remove_with_the_reason_then_verified(fake: DiscordStandIn) -> None:
    out = await run(fake, call("role_add", role=ROLE, reason="level core on the leaderboard"))
    assert out.status == "done" and out.detail == f"gave @mallory the role {ROLE}"
    path = f"/guilds/{GUILD}/members/{USER}/roles/{ROLE}"
    assert fake.calls() == [("PUT", path)]
    assert fake.requests[-1].headers["x-audit-log-reason"] == quote(
        "level core on the leaderboard", safe=""
    )
    assert fake.members[USER]["roles"] == [ROLE]
    actor = actor_for(fake)
    checked = await actor.verify(call("role_add", role=ROLE))
    assert checked is not None and checked.status == "done" and "has the role" in checked.detail
    checked = await actor.verify(call("role_remove", role=ROLE))
    assert checked is not None and checked.status == "failed"
    await actor.aclose()
    out = await run(fake, call("role_remove", role=ROLE))
    assert out.status == "done" and fake.members[USER]["roles"] == []
    assert fake.calls()[-1] == ("DELETE", path)


async def test_role_refusals_are_one_line(fake: DiscordStandIn) -> None:
    out = await run(fake, call("role_add", role="1100000000000000099"))
    assert out.status == "failed" and "unknown role" in out.detail
    fake.roles.add("1100000000000000077")
    fake.above_bot.add("1100000000000000077")
    out = await run(fake, call("role_add", role="1100000000000000077"))
    assert out.status == "failed" and "MANAGE_ROLES" in out.detail and "above" in out.detail
    out = await run(fake, call("role_add", role=ROLE, user_id="3000000000000000999"))
    assert out.status == "failed" and "not a member" in out.detail
    n = len(fake.requests)
    out = await run(fake, call("role_add"))
    assert out.status == "failed" and out.detail == "role_add on Discord needs a role id"
    assert len(fake.requests) == n


async def test_a_dropped_role_call_is_unknown_and_not_resent(fake: DiscordStandIn) -> None:
    fake.drop("PUT", "/guilds/{g}/members/{u}/roles/{r}")
    out = await run(fake, call("role_add", role=ROLE))
    assert out.status == "unknown"
    assert len(fake.seen("PUT")) == 1


async def test_a_direct_message_through_the_dm_channel_then_verified(fake: DiscordStandIn) -> None:
    dm = call("say", channel_id=None, text="Welcome! Read #rules first.", key="case-7:discord")
    out = await run(fake, dm)
    assert out.status == "done"
    assert fake.calls() == [
        ("POST", "/users/@me/channels"),
        ("POST", "/channels/9" + USER[1:] + "/messages"),
    ]
    assert fake.requests[0].json == {"recipient_id": USER}
    assert fake.requests[1].json["content"] == "Welcome! Read #rules first."  # no mention in a DM
    actor = actor_for(fake)
    checked = await actor.verify(dm)
    await actor.aclose()
    assert checked is not None and checked.status == "done"
    fake.closed_dms.add(USER)
    out = await run(fake, call("say", channel_id=None, text="again", key="case-8:discord"))
    assert out.status == "failed" and "does not take direct messages" in out.detail
