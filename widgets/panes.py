"""The cockpit's panes, in order: their keys (1, 2, ...), ids, titles and styles follow from
this list, so adding a pane is writing its class and adding one line here."""

from __future__ import annotations

from typing import Protocol

from textual.widget import Widget

from .alerts import AlertsPane
from .calendar import CalendarPane
from .context import PaneContext
from .feed import FeedPane
from .leaderboard import LeaderboardPane


class PaneClass(Protocol):
    """A pane class: built with the context and its number; `pane_id` names its .tcss."""

    @property
    def pane_id(self) -> str: ...

    @property
    def title(self) -> str: ...

    def __call__(self, ctx: PaneContext, *, number: int, classes: str = "") -> Widget: ...


PANES: tuple[PaneClass, ...] = (FeedPane, AlertsPane, LeaderboardPane, CalendarPane)
