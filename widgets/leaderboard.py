"""The Leaderboard pane. Rankings are another issue's work; until then it says so plainly."""

from __future__ import annotations

from .pane import Pane


class LeaderboardPane(Pane):
    number = 3
    title = "Leaderboard"
    headline = "No leaderboard yet"
    detail = (
        "The most helpful and most active members of the week will be ranked here, "
        "across every platform; a member's standing also shows in their member view."
    )
