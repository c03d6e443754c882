"""Newline-delimited Activities: the universal adapter for anything not supported yet.

As an importer it reads a `.jsonl` file once; as a source it follows the file like
`tail -f`, resuming from the byte offset stored with the records it covers.
"""

from __future__ import annotations

from cockpit.plugin_api import Plugin

from .export import JsonlImporter
from .lines import parse_line
from .live import SOURCE, JsonlSettings, JsonlSource

plugin = Plugin(
    name="jsonl",
    description="newline-delimited Activities: import a file, or follow one like tail -f",
    importers=[JsonlImporter()],
    sources={"jsonl": SOURCE},
)

__all__ = ["JsonlImporter", "JsonlSettings", "JsonlSource", "parse_line", "plugin"]
