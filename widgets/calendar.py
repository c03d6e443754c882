"""The Calendar pane. Events are another issue's work; until then it says so plainly."""

from __future__ import annotations

from .pane import Pane


class CalendarPane(Pane):
    number = 4
    title = "Calendar"
    headline = "No calendar connected yet"
    detail = (
        "Upcoming community events (AMAs, office hours, launches) will be listed here "
        "with countdowns; the next one also shows in the header."
    )
