"""WhatsApp's hands: the Cloud API sends messages and does nothing else a moderator needs.

`say`/`warn` is `POST /{phone-number-id}/messages` (a text to one person, a reply when a
message is named). Every moderation action is refused in one line: the Cloud API does not
moderate groups (no delete of others' messages, no removal, no mute). A send is made once:
a lost answer is `unknown`, and WhatsApp offers no way to check it (`verify` says None).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from cockpit.plugin_api import ActionCall, ActionOutcome, SourceContext
from cockpit.plugin_kit import ApiClient, ApiError, MaybeSent, RateLimited, health_for

from .cloud import WhatsAppCloudSettings
from .payloads import PLATFORM

ACTIONS = frozenset({"say", "warn"})
NO_MODERATION = (
    "WhatsApp cannot {action} from the cockpit: the Cloud API does not moderate groups; "
    "a group admin does it in the WhatsApp app"
)
MAYBE = "the answer was lost on the way back; WhatsApp cannot be asked, check the chat"
GRAPH = {
    190: "WhatsApp refused the access token (expired or revoked): renew `access_token`",
    10: "the token lacks the whatsapp_business_messaging permission",
    200: "the token lacks the whatsapp_business_messaging permission",
    100: "WhatsApp refused the request as invalid (check `phone_number_id` and the recipient)",
    131047: "more than 24 hours since this person last wrote: only a template message can reach them",
    131026: "WhatsApp cannot deliver to this number (not on WhatsApp, or an old app)",
    131030: "this number is not on the test account's allowed recipients list",
    131031: "the business account is locked: see WhatsApp Manager",
}
RATE_CODES = frozenset({4, 80007, 130429, 131048, 131056})


class WhatsAppActor:
    """Implements `cockpit.plugin_api.Actor` for one WhatsApp Cloud source."""

    def __init__(
        self,
        settings: WhatsAppCloudSettings,
        ctx: SourceContext,
        *,
        client: ApiClient | None = None,
        max_wait: float = 60.0,
    ) -> None:
        self.phone = settings.phone_number_id
        self.client = client
        if client is None and settings.access_token:
            self.client = ApiClient(
                f"whatsapp source {ctx.name!r}",
                settings.base_url,
                headers={"Authorization": f"Bearer {settings.access_token}"},
                timeout=15.0,
                on_wait=health_for(ctx.name).waited,
                auth_hint="check `access_token`",
            )
        self.max_wait = max_wait
        self.actions: Mapping[str, frozenset[str]] = {PLATFORM: ACTIONS}

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    def refusal(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if isinstance(code, int) and code in GRAPH:
            return GRAPH[code]
        if isinstance(code, int) and code in RATE_CODES:
            return f"WhatsApp rate limits this number (code {code}): try again later"
        message = str(error.get("message")) if isinstance(error, dict) else response.reason_phrase
        assert self.client is not None
        text = self.client.redact(message)[:160]
        return f"WhatsApp refused the message (HTTP {response.status_code}, code {code}: {text})"

    async def perform(self, call: ActionCall) -> ActionOutcome:
        t, a = call.target, call.action
        if a not in ACTIONS:
            return ActionOutcome("failed", NO_MODERATION.format(action=a))
        if self.client is None or not self.phone:
            return ActionOutcome(
                "failed", "set `access_token` and `phone_number_id` on this WhatsApp source to send"
            )
        if not t.user_id:
            return ActionOutcome("failed", "the Cloud API sends to one person, not to a group")
        if not (call.text or "").strip():
            return ActionOutcome("failed", f"{a} needs a text to send")
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": t.user_id,
            "type": "text",
            "text": {"body": call.text, "preview_url": False},
        }
        if t.message_ids:
            body["context"] = {"message_id": t.message_ids[0]}
        try:
            response = await self.client.request(
                "POST",
                f"/{self.phone}/messages",
                what="send a message",
                json=body,
                ok_statuses=frozenset(range(400, 500)) - {429},
                max_wait=self.max_wait,
            )
        except MaybeSent:
            return ActionOutcome("unknown", f"{a} to {t.label or t.user_id}: {MAYBE}")
        except RateLimited as exc:
            line = f"WhatsApp rate limits this for {exc.retry_after:.0f} s more; try again later"
            return ActionOutcome("failed", line, retry_after=exc.retry_after)
        except ApiError as exc:
            return ActionOutcome("failed", str(exc).splitlines()[0][:240])
        if response.status_code >= 400:
            return ActionOutcome("failed", self.refusal(response))
        try:
            sent = response.json().get("messages") or [{}]
            ref = sent[0].get("id")
        except (ValueError, AttributeError, IndexError):
            ref = None
        return ActionOutcome(
            "done", f"sent to {t.label or t.user_id}", ref=str(ref) if ref else None
        )

    async def verify(self, call: ActionCall) -> ActionOutcome | None:
        return None  # the Cloud API cannot list what was sent: a human checks the chat


def create_actor(settings: WhatsAppCloudSettings, ctx: SourceContext) -> WhatsAppActor:
    return WhatsAppActor(settings, ctx)
