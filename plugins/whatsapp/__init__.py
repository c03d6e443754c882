"""WhatsApp: chat exports (Android and iOS), and the Cloud API webhook connector."""

from __future__ import annotations

from dataclasses import replace

from cockpit.plugin_api import Plugin

from .actions import ACTIONS, WhatsAppActor, create_actor
from .cloud import SOURCE, WhatsAppCloudSettings, WhatsAppCloudSource
from .export import WhatsAppImporter, chat_name
from .payloads import PLATFORM

plugin = Plugin(
    name="whatsapp",
    platform=PLATFORM,
    description="WhatsApp chat exports (Android and iOS 'Export chat', .txt or .zip)",
    importers=[WhatsAppImporter()],
    sources={"whatsapp": replace(SOURCE, actor=create_actor)},
    actions=ACTIONS,
)

__all__ = [
    "PLATFORM",
    "WhatsAppActor",
    "WhatsAppCloudSettings",
    "WhatsAppCloudSource",
    "WhatsAppImporter",
    "chat_name",
    "plugin",
]
