"""The Alerts pane. Alert rules are another issue's work; until then it says so plainly."""

from __future__ import annotations

from .pane import Pane


class AlertsPane(Pane):
    number = 2
    title = "Alerts"
    headline = "No alert rules configured yet"
    detail = (
        "Open alerts will be listed here by severity (keyword hits, join floods, "
        "unanswered questions, quiet channels); the header counts them."
    )
