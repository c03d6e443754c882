"""What a pane is handed, instead of reaching into the App: the store facade (once it is
open), the clock, the viewer's zone, whether this cockpit may write, and typed settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from cockpit.alerts.config import AnyRule
from cockpit.calendar.config import CalendarSettings
from cockpit.config import Config
from cockpit.scoring.config import ScoringSettings
from cockpit.store.base import Store
from cockpit.timeutil import Clock


@dataclass(eq=False)
class PaneContext:
    """One per cockpit, shared by its panes; the App fills in `store` when it has opened it
    and sets `closing` when it shuts down (a worker still reading must then not draw)."""

    config: Config
    clock: Clock
    tz: tzinfo
    attached: bool = False  # watching a store that `cockpit collect` writes
    store: Store | None = None
    closing: bool = False
    # where the store is (path or URL): an attached cockpit opens it briefly to submit
    # a moderation request, which the token holder then carries out
    store_target: str | Path | None = None

    @property
    def ready(self) -> bool:
        """The store is open and the cockpit is not closing."""
        return self.store is not None and not self.closing

    @property
    def read_only(self) -> bool:
        """Writes are not this cockpit's to make (attached, or the store opened read-only)."""
        return self.attached or (self.store is not None and not self.store.writable)

    def now(self) -> datetime:
        return self.clock()

    @property
    def community(self) -> str:
        return str(self.config.cockpit.community)

    @property
    def scoring(self) -> ScoringSettings:
        return self.config.scoring

    @property
    def calendar(self) -> CalendarSettings:
        return self.config.calendar

    @property
    def regions(self) -> list[str]:
        """[calendar] regions, else [cockpit] regions (as `cockpit calendar` does)."""
        return list(self.calendar.regions or self.config.cockpit.regions)

    @property
    def rules(self) -> list[AnyRule]:
        return self.config.rules
