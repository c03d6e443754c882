"""A simulated, deterministic community for `cockpit demo`: lively, global, a little hostile."""

from __future__ import annotations

from cockpit.plugin_api import ACTIONS, Plugin, SourceType

from .actions import DemoActor, create_actor
from .people import FLOODER_HANDLE, PLANTED_KOC_NAMES, PLANTED_KOCS, QUIET_CORE_MEMBER
from .script import Engine, history
from .settings import DemoSettings
from .source import DemoSource, create

__all__ = [
    "FLOODER_HANDLE",
    "PLANTED_KOCS",
    "PLANTED_KOC_NAMES",
    "QUIET_CORE_MEMBER",
    "DemoActor",
    "DemoSettings",
    "DemoSource",
    "Engine",
    "create",
    "history",
    "plugin",
]

plugin = Plugin(
    name="demo",
    description="a simulated community on five platforms, for trying the cockpit without set-up",
    sources={"demo": SourceType("demo", DemoSettings, create, actor=create_actor)},
    actions=ACTIONS,
)
