"""The PostgreSQL store: for teams with several collectors and many operators."""

from cockpit.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
