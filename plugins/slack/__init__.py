"""Slack: workspace exports (folder or .zip), and the Events API connector."""

from __future__ import annotations

from cockpit.plugin_api import Plugin

from .events import SOURCE, SlackEventsSettings, SlackEventsSource
from .export import SlackExportImporter
from .model import PLATFORM

plugin = Plugin(
    name="slack",
    platform=PLATFORM,
    description="Slack: workspace export importer (folder or .zip), Events API connector",
    importers=[SlackExportImporter()],
    sources={"slack": SOURCE},
)

__all__ = ["PLATFORM", "SlackEventsSettings", "SlackEventsSource", "SlackExportImporter", "plugin"]
