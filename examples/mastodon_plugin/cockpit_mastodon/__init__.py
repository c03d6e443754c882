"""Mastodon admin webhooks as a cockpit source (an example plugin written against the kit)."""

from __future__ import annotations

from cockpit.plugin_api import Plugin

from .payloads import PLATFORM
from .source import SOURCE, MastodonSettings, MastodonSource

plugin = Plugin(
    name="mastodon",
    platform=PLATFORM,
    description="Mastodon: admin webhooks (statuses, new accounts)",
    sources={"mastodon": SOURCE},
)

__all__ = ["PLATFORM", "MastodonSettings", "MastodonSource", "plugin"]
