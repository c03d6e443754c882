"""Errors a user can act on; the CLI prints them as one line and exits 1."""

from __future__ import annotations


class CockpitError(Exception):
    """A failure the user can act on: the message says what and where."""


class StoreError(CockpitError):
    """The store could not do what was asked (locked, full, corrupt, gone): whichever
    database is behind it, callers catch this and never the driver's own errors."""


class ConfigError(CockpitError):
    """The configuration file is invalid."""


class ImportRefused(CockpitError):
    """A whole export file is refused (truncated, corrupt or of an unknown format).

    `position` says where, in the file's own terms (byte offset, line, message number).
    """

    def __init__(self, reason: str, position: str | None = None) -> None:
        self.reason = reason
        self.position = position
        super().__init__(f"{reason} (at {position})" if position else reason)


class AmbiguousMember(CockpitError):
    """A MEMBER argument matches more than one member; the message lists them."""
