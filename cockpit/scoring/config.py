"""The `[scoring]` section of cockpit.toml: weights, anti-gaming, decay, levels, churn rule."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

TERMS = (
    "messages",
    "replies",
    "replies_received",
    "reactions_received",
    "threads_answered",
    "answers",
)


class Weights(BaseModel):
    """Points per counted action; what a community values, so it is the operator's call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: float = Field(0.5, ge=0, description="a substantive message")
    replies: float = Field(1.0, ge=0, description="a substantive reply to someone else")
    replies_received: float = Field(1.0, ge=0, description="a reply from someone else")
    reactions_received: float = Field(1.0, ge=0, description="a reaction from someone else")
    threads_answered: float = Field(1.0, ge=0, description="a thread started that got an answer")
    answers: float = Field(5.0, ge=0, description="a reply to someone else's question")

    def of(self, term: str) -> float:
        return float(getattr(self, term))


class Levels(BaseModel):
    """Minimum score per 30 days for each level; below `regular` is a newcomer.

    A window's score is scaled to 30 days first (all time counts as ten months, the horizon
    of a 0.9 monthly decay), so one person has one level whatever the window.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    regular: float = Field(20.0, ge=0)
    contributor: float = Field(150.0, ge=0)
    core: float = Field(800.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        if not self.regular <= self.contributor <= self.core:
            raise ValueError("levels must rise: regular <= contributor <= core")
        return self

    def of(self, score: float, window_days: int | None = 30) -> str:
        score = score * 30 / (window_days or 300)
        if score >= self.core:
            return "core"
        if score >= self.contributor:
            return "contributor"
        if score >= self.regular:
            return "regular"
        return "newcomer"


class ScoringSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: Weights = Field(default_factory=Weights)
    levels: Levels = Field(default_factory=Levels)
    decay_per_month: float = Field(
        0.9, gt=0, le=1, description="what a month-old action is still worth (Orbit: 0.9)"
    )
    cooldown_s: int = Field(
        60, ge=0, le=86_400, description="a person's messages closer than this count once (MEE6)"
    )
    min_length: int = Field(
        12, ge=0, le=1000, description="shorter messages are chatter, not substance"
    )
    exclude_bots: bool = True
    exclude_staff: bool = True
    staff: list[str] = Field(
        default_factory=list, description="staff handles, display names or platform ids"
    )
    churn_conversations: int = Field(
        50, ge=1, description="Savannah: at least this many conversations in 90 days ..."
    )
    churn_quiet_days: int = Field(30, ge=1, description="... then this many days unseen")
    helpful_replies_badge: int = Field(100, ge=1, description="replies for the 'helpful' badge")
    streak_weeks_badge: int = Field(4, ge=2, description="active weeks in a row for 'streak'")
    roles: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="role rewards: a level (regular, contributor, core) or a badge "
        "(first-answer, helpful, streak) to a platform role, e.g. core = { discord = "
        '"ROLE_ID" }; synced once a day from the 30-day leaderboard, each change a case',
    )

    @field_validator("roles", mode="before")
    @classmethod
    def _roles(cls, value: Any) -> Any:
        return _role_map(value)


LEVEL_NAMES = ("regular", "contributor", "core")
BADGE_KINDS = ("first-answer", "helpful", "streak")
REWARDS = LEVEL_NAMES + BADGE_KINDS  # what `[scoring.roles]` may map to platform roles


def _role_map(value: Any) -> Any:
    """`core = { discord = "ROLE_ID" }`: a reward to one role per platform; ids as text."""
    if not isinstance(value, dict):
        return value
    out: dict[str, dict[str, str]] = {}
    for reward, per_platform in value.items():
        if reward not in REWARDS:
            raise ValueError(
                f"[scoring.roles] {reward!r}: expected a level ({', '.join(LEVEL_NAMES)}) "
                f"or a badge ({', '.join(BADGE_KINDS)})"
            )
        if not isinstance(per_platform, dict) or not per_platform:
            raise ValueError(
                f'[scoring.roles] {reward}: expected {{ platform = "ROLE_ID" }}, '
                f"got {per_platform!r}"
            )
        roles: dict[str, str] = {}
        for platform, role in per_platform.items():
            if isinstance(role, bool) or not isinstance(role, (str, int)) or not str(role).strip():
                raise ValueError(
                    f"[scoring.roles] {reward}.{platform}: expected the role's id, got {role!r}"
                )
            roles[str(platform)] = str(role).strip()
        out[str(reward)] = roles
    return out


SECTIONS: dict[str, TypeAdapter[Any]] = {"scoring": TypeAdapter(ScoringSettings)}
