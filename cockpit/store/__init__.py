"""Storage: `open_store` opens the store the operator named, by path or URL.

A bare path (or `sqlite:///path`) is the default SQLite store; `postgresql://` (or
`postgres://`) a PostgreSQL server. Every caller gets the same `Store` facade, with each
feature's data behind its own repository, and never learns which database is there.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cockpit.errors import CockpitError
from cockpit.store.base import Store
from cockpit.timeutil import Clock, utcnow

__all__ = ["Store", "is_url", "open_store", "redact_url"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
POSTGRES_SCHEMES = ("postgresql", "postgres")


def is_url(target: str | Path) -> bool:
    """True for `scheme://...`; a Windows drive (`C:\\`) or a plain path is not a URL."""
    return isinstance(target, str) and _SCHEME.match(target) is not None


def redact_url(target: str) -> str:
    """The URL with its password hidden, for messages and the header."""
    if not is_url(target):
        return target
    parts = urlsplit(target)
    if parts.password is None:
        return target
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


async def open_store(
    target: str | Path, *, readonly: bool = False, clock: Clock = utcnow
) -> Store:
    """Open (and migrate, unless read-only) the store at `target`."""
    if is_url(target):
        text = str(target)
        scheme = text.split("://", 1)[0].lower()
        if scheme in POSTGRES_SCHEMES:
            try:  # imported on demand: its driver loads only for teams that use it
                backend = importlib.import_module("cockpit.store.postgres")
            except ImportError as exc:  # the backend or its driver is not installed
                raise CockpitError(
                    f"{redact_url(text)}: the PostgreSQL store is not available here ({exc})"
                ) from None
            store: Store = await backend.PostgresStore.open(text, readonly=readonly, clock=clock)
            return store
        if scheme == "sqlite":
            path = unquote(urlsplit(text).path)
            if not path:
                raise CockpitError(f"{text}: a sqlite:// URL needs a path (sqlite:///var/lib/cockpit.db)")
            return await _sqlite(path, readonly, clock)
        raise CockpitError(
            f"{redact_url(text)}: unsupported store URL scheme {scheme!r} "
            "(use a file path for SQLite, or postgresql://user@host/db)"
        )
    return await _sqlite(target, readonly, clock)


async def _sqlite(path: str | Path, readonly: bool, clock: Clock) -> Store:
    from cockpit.store.sqlite import SQLiteStore

    return await SQLiteStore.open(path, readonly=readonly, clock=clock)
