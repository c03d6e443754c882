"""The demo source's settings: a few knobs, each bounded so a typo cannot melt the machine."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class DemoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int = 7
    rate: float = Field(default=2.0, gt=0, le=5000, description="live activities per second")
    history_days: float = Field(default=7, ge=0, le=90, description="days of history written first")
    members: int = Field(default=3000, ge=50, le=100_000)
    calendar: bool = Field(default=True, description="seed an AMA, hangouts and moderator shifts")
    communities: list[str] | None = Field(
        default=None, min_length=1, max_length=20, description="default: the source's community"
    )

    @field_validator("communities")
    @classmethod
    def _distinct_names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        names = [name.strip() for name in value]
        if any(not name for name in names):
            raise ValueError("community names must not be empty")
        if len(set(names)) != len(names):
            raise ValueError("community names must be distinct")
        return names
