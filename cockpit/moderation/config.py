"""`[moderation]`: who may act, whom never to act on without --force, and the dialog's presets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from cockpit.alerts.config import AutoCap


class ModerationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    moderators: list[str] = Field(
        default_factory=list,
        description="operators who may act (names as `operator` or the OS user); empty: anyone "
        "who can write the store",
    )
    operator: str | None = Field(
        None, description="this cockpit's operator name in the case log (default: the OS user)"
    )
    protected: list[str] = Field(
        default_factory=list,
        description="handles or platform:user_id never actioned without --force (staff from "
        "[alerting] staff and bots are protected too)",
    )
    reasons: list[str] = Field(
        default_factory=lambda: [
            "Spam",
            "Scam or phishing link",
            "Harassment",
            "Raid",
            "Off-topic after warning",
        ],
        description="reason presets offered by the confirmation dialog",
    )
    wait: float = Field(
        30.0, gt=0, le=600, description="seconds `cockpit mod` waits for the token holder"
    )
    purge_limit: int = Field(500, ge=1, le=5000, description="most messages one purge deletes")
    auto_cap: AutoCap = Field(
        default_factory=lambda: AutoCap(count=20, within=timedelta(minutes=10)),
        description="all rules together: at most `count` automatic platform actions `within` "
        "a window; past it they wait as proposals and on-call is paged",
    )


SECTIONS: dict[str, TypeAdapter[Any]] = {"moderation": TypeAdapter(ModerationSettings)}
