"""The `[collect]` section of cockpit.toml: where webhooks are served, how health is kept."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class CollectSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="address the webhook server listens on")
    port: int = Field(8787, ge=0, le=65535, description="its port (0: any free port)")
    max_body: int = Field(1_048_576, ge=1024, description="largest webhook body accepted, bytes")
    health_every: float = Field(5.0, gt=0, description="seconds between health writes")
    log_format: str = Field("text", pattern="^(text|json)$", description="text or json lines")
    lease_ttl: float = Field(
        15.0,
        ge=0.5,
        le=600,
        description=(
            "seconds a collector's hold on a singleton (alert evaluation and paging, "
            "reminders) lasts unless renewed; when it dies another takes over within about "
            "4/3 of this"
        ),
    )


SECTIONS: dict[str, TypeAdapter[Any]] = {"collect": TypeAdapter(CollectSettings)}
