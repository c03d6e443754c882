"""Discourse's hands: moderation through the admin API with the source's API key.

A timeout is a silence until a time, a ban a suspension (Discourse ends both itself when
their time is up), a lock closes the topic. A write is sent once: a lost answer is
`unknown`, and `verify` reads the user or the post back. Refusals become one line: a 403
`invalid_access` says the key's user needs staff rights.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from cockpit.plugin_api import ActionCall, ActionOutcome, SourceContext
from cockpit.plugin_kit import ApiClient, ApiError, MaybeSent, RateLimited, health_for

from .live import DiscourseSettings
from .payloads import PLATFORM

ACTIONS = frozenset(
    {
        "delete",
        "purge",
        "timeout",
        "ban",
        "unban",
        "lock",
        "unlock",
        "say",
        "warn",
        "role_add",  # a group: PUT/DELETE /groups/{id}/members.json
        "role_remove",
    }
)
FOREVER = "3000-01-01T00:00:00Z"  # Discourse's "forever" is a far date
MAYBE = "the answer was lost on the way back; the cockpit will check on Discourse, not resend"
READ_HINT = "check `api_key` and `api_username`"


class Refused(Exception):
    def __init__(self, detail: str, gone: bool = False) -> None:
        super().__init__(detail)
        self.detail, self.gone = detail, gone


class DiscourseActor:
    """Implements `cockpit.plugin_api.Actor` for one Discourse forum."""

    def __init__(
        self,
        settings: DiscourseSettings,
        ctx: SourceContext,
        *,
        client: ApiClient | None = None,
        max_wait: float = 60.0,
    ) -> None:
        self.client = client or ApiClient(
            f"discourse source {ctx.name!r}",
            settings.base_url,
            headers={"Api-Key": settings.api_key, "Api-Username": settings.api_username},
            timeout=15.0,
            on_wait=health_for(ctx.name).waited,
            auth_hint=READ_HINT,
        )
        self.username = settings.api_username
        self.max_wait = max_wait
        self.actions: Mapping[str, frozenset[str]] = {PLATFORM: ACTIONS}

    async def aclose(self) -> None:
        await self.client.aclose()

    async def api(
        self, action: str, method: str, path: str, json: Any = None, write: bool = True
    ) -> Any:
        response = await self.client.request(
            method,
            path,
            what=f"{method} {path}",
            json=json,
            idempotent=not write,
            ok_statuses=frozenset(range(400, 500)) - {429},
            max_wait=self.max_wait,
        )
        if response.status_code >= 400:
            raise self.refusal(response, action)
        try:
            return response.json()
        except ValueError:
            return None

    def refusal(self, response: httpx.Response, action: str) -> Refused:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        kind = body.get("error_type")
        errors = body.get("errors")
        first = (
            errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], str) else ""
        )
        if status == 403 or kind == "invalid_access":
            return Refused(
                f"Discourse refused the API key's user {self.username!r} ({kind or 'HTTP 403'}): "
                "use an admin key, or a moderator as `api_username`"
            )
        if status == 404 or kind == "not_found":
            if action in ("delete", "purge"):
                return Refused("post already gone", gone=True)
            if action in ("role_add", "role_remove"):
                return Refused("Discourse does not know this group or user (404): check the id")
            return Refused("Discourse does not know this user, post or topic (404)")
        text = self.client.redact(first or response.reason_phrase)[:160]
        return Refused(f"Discourse refused {action} (HTTP {status}: {text})")

    async def perform(self, call: ActionCall) -> ActionOutcome:
        t, a = call.target, call.action
        name = t.label or t.user_id or t.channel_id or "?"
        if a not in ACTIONS:
            why = {
                "kick": "Discourse has no kick: suspend (ban) the user instead",
                "slowmode": "Discourse slow mode is not offered from the cockpit yet",
            }
            return ActionOutcome("failed", why.get(a, f"discourse cannot {a} from the cockpit"))
        need_user = a in ("timeout", "ban", "unban", "role_add", "role_remove")
        if need_user and not t.user_id:
            return ActionOutcome("failed", f"{a} on Discourse needs a user")
        if a in ("role_add", "role_remove") and not call.role:
            return ActionOutcome("failed", f"{a} on Discourse needs a group id")
        if a in ("lock", "unlock") and not t.channel_id:
            return ActionOutcome("failed", f"{a} on Discourse needs a topic")
        try:
            return await self.act(call, name)
        except Refused as exc:
            return ActionOutcome("done" if exc.gone else "failed", exc.detail)
        except MaybeSent:
            return ActionOutcome("unknown", f"{a} of {name}: {MAYBE}")
        except RateLimited as exc:
            line = f"Discourse rate limits this for {exc.retry_after:.0f} s more; try again later"
            return ActionOutcome("failed", line, retry_after=exc.retry_after)
        except ApiError as exc:
            return ActionOutcome("failed", str(exc).splitlines()[0][:240])

    async def act(self, call: ActionCall, name: str) -> ActionOutcome:
        t, a = call.target, call.action
        uid = t.user_id
        until = call.until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if call.until else None
        span = f" until {call.until:%Y-%m-%d %H:%M} UTC" if call.until else ""
        if a in ("delete", "purge"):
            ids = list(dict.fromkeys(t.message_ids))
            if not ids:
                return ActionOutcome("failed", f"{a} on Discourse needs posts")
            deleted = gone = 0
            for pid in ids:
                try:
                    await self.api(a, "DELETE", f"/posts/{pid}.json")
                    deleted += 1
                except Refused as exc:
                    if not exc.gone:
                        if len(ids) == 1:
                            raise
                        return ActionOutcome(
                            "failed", f"deleted {deleted} of {len(ids)}; {exc.detail}"
                        )
                    gone += 1
                except MaybeSent:
                    if len(ids) == 1:
                        raise
                    return ActionOutcome(
                        "unknown", f"deleted {deleted} of {len(ids)}; the next: {MAYBE}"
                    )
            if len(ids) == 1:
                return ActionOutcome("done", "post already gone" if gone else "deleted 1 post")
            extra = f" ({gone} already gone)" if gone else ""
            return ActionOutcome("done", f"deleted {deleted} of {len(ids)} posts{extra}")
        if a == "timeout":
            if until is None:
                await self.api(a, "PUT", f"/admin/users/{uid}/unsilence.json", {})
                return ActionOutcome("done", f"silence of {name} lifted")
            body = {"silenced_till": until, "reason": call.reason}
            await self.api(a, "PUT", f"/admin/users/{uid}/silence.json", body)
            return ActionOutcome("done", f"silenced {name}{span}", lifts_itself=True)
        if a == "ban":
            body = {"suspend_until": until or FOREVER, "reason": call.reason}
            await self.api(a, "PUT", f"/admin/users/{uid}/suspend.json", body)
            return ActionOutcome(
                "done", f"suspended {name}{span or ' indefinitely'}", lifts_itself=until is not None
            )
        if a == "unban":
            await self.api(a, "PUT", f"/admin/users/{uid}/unsuspend.json", {})
            return ActionOutcome("done", f"suspension of {name} lifted")
        if a in ("role_add", "role_remove"):
            method = "PUT" if a == "role_add" else "DELETE"
            try:
                await self.api(a, method, f"/groups/{call.role}/members.json", {"user_ids": uid})
            except Refused as exc:
                if a == "role_add" and "already a member" in exc.detail:
                    return ActionOutcome("done", f"{name} was in the group {call.role} already")
                raise
            if a == "role_add":
                return ActionOutcome("done", f"added {name} to the group {call.role}")
            return ActionOutcome("done", f"removed {name} from the group {call.role}")
        if a in ("lock", "unlock"):
            tid = t.channel_id
            topic = await self.api(a, "GET", f"/t/{tid}.json", write=False)
            was = bool(topic.get("closed")) if isinstance(topic, dict) else False
            if a == "lock":
                await self.api(
                    a, "PUT", f"/t/{tid}/status.json", {"status": "closed", "enabled": "true"}
                )
                return ActionOutcome("done", f"closed topic {name}", restore={"closed": was})
            keep = bool(call.restore.get("closed")) if call.restore else False
            if keep:
                return ActionOutcome("done", f"topic {name} stays closed (it was before the lock)")
            await self.api(
                a, "PUT", f"/t/{tid}/status.json", {"status": "closed", "enabled": "false"}
            )
            return ActionOutcome("done", f"reopened topic {name}")
        # say, warn: a post in the topic, a reply when a post is named
        text = (call.text or "").strip()
        if not text:
            return ActionOutcome("failed", f"{a} needs a text to post")
        new: dict[str, Any] = {"raw": call.text}
        if t.message_ids:
            post = await self.api(a, "GET", f"/posts/{t.message_ids[0]}.json", write=False)
            new["topic_id"] = post.get("topic_id")
            new["reply_to_post_number"] = post.get("post_number")
        elif t.channel_id:
            new["topic_id"] = int(t.channel_id) if t.channel_id.isdigit() else t.channel_id
        else:
            return ActionOutcome("failed", f"{a} on Discourse needs a topic or a post to reply to")
        made = await self.api(a, "POST", "/posts.json", new)
        ref = made.get("id") if isinstance(made, dict) else None
        return ActionOutcome("done", f"posted in {name}", ref=str(ref) if ref is not None else None)

    async def verify(self, call: ActionCall) -> ActionOutcome | None:
        t, a = call.target, call.action
        name = t.label or t.user_id or "?"
        try:
            if a in ("timeout", "ban", "unban"):
                user = await self.api(a, "GET", f"/admin/users/{t.user_id}.json", write=False)
                field = "silenced_till" if a == "timeout" else "suspended_till"
                till = user.get(field) if isinstance(user, dict) else None
                active = bool(till) and datetime.fromisoformat(
                    str(till).replace("Z", "+00:00")
                ) > datetime.now(UTC)
                want = a != "unban" and (a == "ban" or call.until is not None)
                line = f"checked on Discourse: {name} is {'' if active else 'not '}{'silenced' if a == 'timeout' else 'suspended'}"
                return ActionOutcome("done" if active == want else "failed", line)
            if a in ("role_add", "role_remove"):
                user = await self.api(a, "GET", f"/admin/users/{t.user_id}.json", write=False)
                groups = user.get("groups") if isinstance(user, dict) else None
                ids = {str(g.get("id")) for g in groups or [] if isinstance(g, dict)}
                member = str(call.role) in ids
                return ActionOutcome(
                    "done" if member == (a == "role_add") else "failed",
                    f"checked on Discourse: {name} is {'' if member else 'not '}in the group",
                )
            if a in ("delete", "purge"):
                left = 0
                for pid in t.message_ids:
                    try:
                        post = await self.api(a, "GET", f"/posts/{pid}.json", write=False)
                    except Refused as exc:
                        if exc.gone:
                            continue
                        raise
                    left += not (isinstance(post, dict) and post.get("deleted_at"))
                n = len(t.message_ids)
                if left:
                    return ActionOutcome(
                        "failed", f"checked on Discourse: {left} of {n} posts still there"
                    )
                return ActionOutcome("done", f"checked on Discourse: all {n} posts are gone")
            if a in ("lock", "unlock"):
                topic = await self.api(a, "GET", f"/t/{t.channel_id}.json", write=False)
                closed = bool(topic.get("closed")) if isinstance(topic, dict) else False
                want = a == "lock" or bool(call.restore and call.restore.get("closed"))
                return ActionOutcome(
                    "done" if closed == want else "failed",
                    f"checked on Discourse: the topic is {'closed' if closed else 'open'}",
                )
        except Refused as exc:
            return ActionOutcome("unknown", f"cannot check on Discourse: {exc.detail}")
        except ApiError as exc:
            return ActionOutcome("unknown", f"cannot check on Discourse: {str(exc)[:200]}")
        return None


def create_actor(settings: DiscourseSettings, ctx: SourceContext) -> DiscourseActor:
    return DiscourseActor(settings, ctx)
