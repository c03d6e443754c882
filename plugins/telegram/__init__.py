"""Telegram: Telegram Desktop JSON exports, and a Bot API connector (polling or webhook)."""

from __future__ import annotations

from cockpit.plugin_api import Plugin

from .bot import SOURCE, TelegramBotSettings, TelegramBotSource
from .export import NO_ZONE_WARNING, TelegramDesktopImporter
from .payloads import PLATFORM

plugin = Plugin(
    name="telegram",
    platform=PLATFORM,
    description="Telegram: Telegram Desktop JSON exports",
    importers=[TelegramDesktopImporter()],
    sources={"telegram": SOURCE},
)

__all__ = [
    "NO_ZONE_WARNING",
    "PLATFORM",
    "TelegramBotSettings",
    "TelegramBotSource",
    "TelegramDesktopImporter",
    "plugin",
]
