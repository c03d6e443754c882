"""Discourse: new posts polled with an API key."""

from __future__ import annotations

from dataclasses import replace

from cockpit.plugin_api import Plugin

from .actions import ACTIONS, DiscourseActor, create_actor
from .live import SOURCE, DiscourseSettings, DiscourseSource
from .payloads import PLATFORM, post_record

plugin = Plugin(
    name="discourse",
    platform=PLATFORM,
    description="Discourse: new posts polled with an API key",
    sources={"discourse": replace(SOURCE, actor=create_actor)},
    actions=ACTIONS,
)

__all__ = [
    "PLATFORM",
    "DiscourseActor",
    "DiscourseSettings",
    "DiscourseSource",
    "plugin",
    "post_record",
]
