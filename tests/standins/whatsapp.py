"""A loopback WhatsApp Cloud API (Graph) for sending messages: `POST /{phone-number-id}/messages`,
answers `{"messaging_product", "contacts", "messages": [{"id"}]}`, refusals as Graph errors
`{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}` (190 expired token,
131047 outside the 24-hour window, 130429 throughput)."""

from __future__ import annotations

from typing import Any

from .server import Reply, Seen, StandIn

TOKEN = "EAAG-whatsapp-SECRET-token"
PHONE_ID = "106540352242922"


def graph_error(status: int, code: int, message: str, **extra: Any) -> Reply:
    body = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbC",
        **extra,
    }
    return Reply(status, {"error": body})


class WhatsAppStandIn(StandIn):
    prefix = "/v21.0"

    def __init__(self) -> None:
        super().__init__()
        self.window_open: set[str] = set()
        self.sent = 0
        self.route("POST", "/{phone}/messages", self._send)

    def check_auth(self, request: Seen) -> Reply | None:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return graph_error(401, 190, "Error validating access token: Session has expired")
        return None

    def _send(self, q: Seen, a: dict[str, str]) -> Reply:
        if a["phone"] != PHONE_ID:
            return graph_error(400, 100, "Unsupported post request. Object with ID does not exist")
        body = q.json or {}
        to = str(body.get("to", ""))
        if to not in self.window_open:
            return graph_error(
                400,
                131047,
                "Re-engagement message",
                error_data={
                    "details": "Message failed to send because more than 24 hours have passed"
                },
            )
        self.sent += 1
        return Reply(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.HBgL{self.sent:06d}"}],
            },
        )
