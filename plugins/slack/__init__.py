"""Slack: workspace exports (folder or .zip), and the Events API connector."""

from __future__ import annotations

from dataclasses import replace

from cockpit.plugin_api import Plugin

from .actions import ACTIONS, SlackActor, create_actor
from .events import SOURCE, SlackEventsSettings, SlackEventsSource
from .export import SlackExportImporter
from .model import PLATFORM

plugin = Plugin(
    name="slack",
    platform=PLATFORM,
    description="Slack: workspace export importer (folder or .zip), Events API connector",
    importers=[SlackExportImporter()],
    sources={"slack": replace(SOURCE, actor=create_actor)},
    actions=ACTIONS,
    per_chat=frozenset({"kick", "purge"}),  # a ban, a kick, a purge: in one chat at a time
)

__all__ = [
    "PLATFORM",
    "SlackActor",
    "SlackEventsSettings",
    "SlackEventsSource",
    "SlackExportImporter",
    "plugin",
]
