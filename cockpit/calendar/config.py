"""The `[calendar]` section of cockpit.toml: regions, reminders, receivers, waking hours."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from cockpit.timeutil import parse_duration, zone


class CalendarSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    regions: list[str] | None = Field(
        None, description="zones shown per event and targeted by default ([cockpit] regions)"
    )
    reminders: list[str] = Field(
        default_factory=lambda: ["24h", "1h", "10m"], description="offsets before each start"
    )
    receivers: list[str] = Field(
        default_factory=list, description="apprise URLs reminders go to (use ${NAME} for tokens)"
    )
    announce: bool = Field(
        False,
        description="events announce themselves through the bots at the reminder offsets, in "
        "their own channel and in `announce_in`",
    )
    announce_in: list[str] = Field(
        default_factory=list,
        description='channels every event is announced in too: "platform:#name" (e.g. '
        '"discord:#announcements")',
    )
    awake_from: int = Field(7, ge=0, le=23, description="first local hour a region is awake")
    awake_until: int = Field(23, ge=1, le=24, description="local hour a region goes to sleep")
    lookback_days: int = Field(90, ge=1, le=3650, description="activity counted by the slot finder")

    @field_validator("regions")
    @classmethod
    def _zones(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            zone(name)
        return value

    @field_validator("announce_in")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        for item in value:
            platform, sep, name = item.partition(":")
            if not sep or not platform or not name.lstrip("#"):
                raise ValueError(f'{item!r}: expected "platform:#channel"')
        return value

    @field_validator("reminders")
    @classmethod
    def _offsets(cls, value: list[str]) -> list[str]:
        for item in value:
            if parse_duration(item) <= timedelta(0):
                raise ValueError(f"reminder offset {item!r} must be positive")
        return value

    def reminder_offsets(self) -> tuple[timedelta, ...]:
        return tuple(sorted((parse_duration(v) for v in self.reminders), reverse=True))

    def awake(self, local_hour: float) -> bool:
        """Whether a local time of day (hours, e.g. 7.5) is inside the waking hours."""
        return self.awake_from <= local_hour < self.awake_until


SECTIONS: dict[str, TypeAdapter[Any]] = {"calendar": TypeAdapter(CalendarSettings)}
