"""Telegram: Telegram Desktop JSON exports, and a Bot API connector (polling or webhook)."""

from __future__ import annotations

from dataclasses import replace

from cockpit.plugin_api import Plugin

from .actions import ACTIONS, TelegramActor, create_actor
from .bot import SOURCE, TelegramBotSettings, TelegramBotSource
from .export import NO_ZONE_WARNING, TelegramDesktopImporter
from .payloads import PLATFORM

plugin = Plugin(
    name="telegram",
    platform=PLATFORM,
    description="Telegram: Telegram Desktop JSON exports",
    importers=[TelegramDesktopImporter()],
    sources={"telegram": replace(SOURCE, actor=create_actor)},
    actions=ACTIONS,
    per_chat=frozenset(
        {"timeout", "kick", "ban", "unban", "purge"}
    ),  # a ban, a kick, a purge: in one chat at a time
)

__all__ = [
    "NO_ZONE_WARNING",
    "PLATFORM",
    "TelegramActor",
    "TelegramBotSettings",
    "TelegramBotSource",
    "TelegramDesktopImporter",
    "plugin",
]
