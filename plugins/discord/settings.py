"""Settings of the Discord live source: a leaf module the Gateway, the live source and the
plugin's registration all import."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

# Gateway intent bits (https://discord.com/developers/docs/events/gateway#list-of-intents)
INTENTS = {
    "GUILDS": 1 << 0,
    "GUILD_MEMBERS": 1 << 1,
    "GUILD_MODERATION": 1 << 2,
    "GUILD_EXPRESSIONS": 1 << 3,
    "GUILD_INTEGRATIONS": 1 << 4,
    "GUILD_WEBHOOKS": 1 << 5,
    "GUILD_INVITES": 1 << 6,
    "GUILD_VOICE_STATES": 1 << 7,
    "GUILD_PRESENCES": 1 << 8,
    "GUILD_MESSAGES": 1 << 9,
    "GUILD_MESSAGE_REACTIONS": 1 << 10,
    "GUILD_MESSAGE_TYPING": 1 << 11,
    "DIRECT_MESSAGES": 1 << 12,
    "DIRECT_MESSAGE_REACTIONS": 1 << 13,
    "DIRECT_MESSAGE_TYPING": 1 << 14,
    "MESSAGE_CONTENT": 1 << 15,
    "GUILD_SCHEDULED_EVENTS": 1 << 16,
}
# privileged intents, as the developer portal names their switches
PRIVILEGED = {
    "GUILD_MEMBERS": "Server Members Intent",
    "GUILD_PRESENCES": "Presence Intent",
    "MESSAGE_CONTENT": "Message Content Intent",
}
DEFAULT_INTENTS = (
    "GUILDS",
    "GUILD_MEMBERS",
    "GUILD_MESSAGES",
    "GUILD_MESSAGE_REACTIONS",
    "MESSAGE_CONTENT",
)


def _snowflake(value: object) -> object:
    """TOML users write ids as numbers or strings; both become the decimal string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Snowflake = Annotated[str, BeforeValidator(_snowflake), Field(pattern=r"^[0-9]{1,20}$")]


class DiscordSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    webhook: ClassVar[bool] = False

    token: str = Field(min_length=1, description="the bot token (use ${DISCORD_TOKEN})")
    guild_ids: list[Snowflake] = Field(min_length=1, description="guilds (servers) to follow")
    channel_ids: list[Snowflake] = Field(
        default_factory=list, description="channels to follow; empty: every readable text channel"
    )
    base_url: str = Field("https://discord.com/api/v10", description="REST API base URL")
    gateway_url: str | None = Field(None, description="Gateway URL; default: GET /gateway/bot")
    backfill: bool = Field(True, description="read past messages on the first run")
    backfill_days: float = Field(30.0, ge=0, description="how far back; 0: the whole history")
    intents: list[str] = Field(default_factory=lambda: list(DEFAULT_INTENTS))
    concurrency: int = Field(4, ge=1, le=32, description="channels backfilled at once")
    global_rate: float = Field(45.0, gt=0, le=50, description="REST requests per second, at most")

    @field_validator("intents")
    @classmethod
    def _known_intents(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in INTENTS]
        if unknown:
            raise ValueError(f"unknown intents {unknown}; known: {', '.join(INTENTS)}")
        return value

    @property
    def intent_bits(self) -> int:
        bits = 0
        for name in self.intents:
            bits |= INTENTS[name]
        return bits
