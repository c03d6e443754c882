"""Discourse: new posts polled with an API key."""

from __future__ import annotations

from cockpit.plugin_api import Plugin

from .live import SOURCE, DiscourseSettings, DiscourseSource
from .payloads import PLATFORM, post_record

plugin = Plugin(
    name="discourse",
    platform=PLATFORM,
    description="Discourse: new posts polled with an API key",
    sources={"discourse": SOURCE},
)

__all__ = ["PLATFORM", "DiscourseSettings", "DiscourseSource", "plugin", "post_record"]
