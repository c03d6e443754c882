"""`[moderation]`: who may act, whom never to act on without --force, and the dialog's presets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from cockpit.alerts.config import AutoCap, Duration
from cockpit.timeutil import parse_duration, zone


class LadderRung(BaseModel):
    """At exactly `warns` warnings `within` a window (one person, every platform), `do`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    warns: int = Field(ge=1, le=1000)
    within: Duration
    do: Literal["timeout", "kick", "ban"]
    for_: Duration | None = Field(None, alias="for")

    @field_validator("within")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("within must be a positive duration")
        return value

    @field_validator("for_")
    @classmethod
    def _span(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError("`for` must be a positive duration")
        return value

    @model_validator(mode="after")
    def _fits(self) -> LadderRung:
        if self.do == "timeout" and self.for_ is None:
            raise ValueError('a timeout needs `for` (e.g. for = "1d")')
        if self.do == "kick" and self.for_ is not None:
            raise ValueError("`for` does not apply to kick")
        return self


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
    ladder: list[LadderRung] = Field(
        default_factory=list,
        description="escalation by warnings, counted per person across platforms, each "
        "warning counting only within a rung's window",
    )
    auto_cap: AutoCap = Field(
        default_factory=lambda: AutoCap(count=20, within=timedelta(minutes=10)),
        description="all rules together: at most `count` automatic platform actions `within` "
        "a window; past it they wait as proposals and on-call is paged",
    )


class WelcomeMessage(BaseModel):
    """One welcome template; the first entry matching a join (community, platform, channel,
    each optional) greets it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    community: str | None = Field(None, description="only joins to this community")
    platform: str | None = Field(None, description="only joins on this platform")
    channel: str | None = Field(None, description="only joins seen in this channel (its name)")
    text: str = Field(
        min_length=1,
        max_length=2000,
        description="{name}, {mention}, {rules}, {time_of_day} (morning, afternoon, evening, "
        "night) and {local_time} in `timezone`",
    )
    timezone: str | None = Field(
        None, description="where {time_of_day} is told (default: the cockpit's)"
    )
    dm: bool = Field(
        False,
        description="send it as a direct message instead of in the channel (Discord, Slack; "
        "Telegram only to members who started a chat with the bot)",
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value

    @field_validator("text")
    @classmethod
    def _slots(cls, value: str) -> str:
        try:
            value.format_map(_Probe())
        except (KeyError, ValueError, IndexError) as exc:
            raise ValueError(f"template {value!r}: {exc} (known: {', '.join(SLOTS)})") from None
        return value


SLOTS = ("name", "mention", "rules", "time_of_day", "local_time")


class _Probe(dict[str, str]):
    def __missing__(self, key: str) -> str:
        if key not in SLOTS:
            raise KeyError(f"unknown slot {{{key}}}")
        return ""


class WelcomeSettings(BaseModel):
    """`[welcome]`: greet members who join, once each, held back during a raid."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="greet joins at all")
    delay: timedelta = Field(
        timedelta(seconds=60),
        description="wait this long after a join (a raid is detected by then; its joins are "
        "never greeted, others wait until it is over)",
    )
    rules: str = Field("", description="what {rules} says: a channel, a link")
    messages: list[WelcomeMessage] = Field(default_factory=list)
    role: dict[str, str] = Field(
        default_factory=dict,
        description='a role given to who joins, per platform: { discord = "ROLE_ID", '
        'discourse = "GROUP_ID" } (a case by rule:welcome; never to a raid\'s joins)',
    )
    role_after: timedelta = Field(
        timedelta(minutes=10),
        description="give the role this long after the join (a member banned or timed out "
        "by then gets none)",
    )
    role_on: Literal["time", "first_message"] = Field(
        "time",
        description="'time': `role_after` after joining; 'first_message': when the member "
        "first posts (at least `role_after` after joining)",
    )

    @field_validator("delay", "role_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("role", mode="before")
    @classmethod
    def _roles(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out: dict[str, str] = {}
        for platform, role in value.items():
            if isinstance(role, bool) or not isinstance(role, (str, int)) or not str(role).strip():
                raise ValueError(f"[welcome] role.{platform}: expected the role's id, got {role!r}")
            out[str(platform)] = str(role).strip()
        return out


SECTIONS: dict[str, TypeAdapter[Any]] = {
    "moderation": TypeAdapter(ModerationSettings),
    "welcome": TypeAdapter(WelcomeSettings),
}
