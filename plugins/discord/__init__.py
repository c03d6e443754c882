"""Discord: DiscordChatExporter JSON exports, and a live Gateway + REST backfill connector."""

from __future__ import annotations

from typing import Any

from cockpit.plugin_api import Plugin, SourceContext, SourceType

from .actions import ACTIONS, DiscordActor, create_actor
from .export import DiscordChatExporterImporter
from .live import DiscordSource
from .model import PLATFORM
from .settings import DiscordSettings


def _live_source(settings: Any, ctx: SourceContext) -> DiscordSource:
    return DiscordSource(settings, ctx)


plugin = Plugin(
    name="discord",
    platform=PLATFORM,
    description="Discord: DiscordChatExporter JSON exports, live Gateway + REST backfill",
    importers=[DiscordChatExporterImporter()],
    sources={"discord": SourceType("discord", DiscordSettings, _live_source, actor=create_actor)},
    actions=ACTIONS,
    per_chat=frozenset({"purge"}),  # bulk delete is per channel; bans are server-wide
)

__all__ = [
    "PLATFORM",
    "DiscordActor",
    "DiscordChatExporterImporter",
    "DiscordSettings",
    "DiscordSource",
    "plugin",
]
