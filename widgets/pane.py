"""What every cockpit pane shares: a focusable container with a title, an empty state and
the `PaneContext` it was handed. Panes fill themselves by mounting content and calling
`show_empty(False)`; the cockpit lays them out from the registry in `widgets/panes.py`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from .context import PaneContext


class EmptyState(Static):
    """A centred headline and one sentence on what will appear here."""

    def __init__(self, headline: str, detail: str) -> None:
        text = Text(justify="center", end="")
        text.append(headline, "bold")
        text.append("\n\n")
        text.append(detail)
        super().__init__(text, markup=False, classes="empty-state")


class Pane(Vertical, can_focus=True):
    """A titled pane; its number (its place in the registry) is the key that shows it."""

    pane_id: ClassVar[str] = ""  # its widget id, and the stem of its .tcss file
    title: ClassVar[str] = ""
    headline: ClassVar[str] = ""
    detail: ClassVar[str] = ""

    def __init__(self, ctx: PaneContext, *, number: int, classes: str = "") -> None:
        super().__init__(id=self.pane_id, classes=f"pane {classes}".strip())
        self.ctx = ctx
        self.number = number
        self.border_title = f"{self.number} {self.title}"

    def compose(self) -> ComposeResult:
        yield EmptyState(self.headline, self.detail)

    @property
    def gone(self) -> bool:
        """True once the cockpit is closing: a worker that was reading must not draw."""
        return (
            not self.is_attached
            or self.ctx.closing
            or not self.query(EmptyState)  # composed with the pane; missing only in teardown
        )

    def show_empty(self, empty: bool) -> None:
        self.query_one(EmptyState).display = empty


class PaneBar(Static):
    """One-line tabs for small terminals: `1 Feed  2 Alerts  3 Leaderboard  4 Calendar`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"panebar--active", "panebar--key"}

    class Clicked(Message):
        """A tab was clicked: show pane `index`."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, titles: list[str], *, id: str | None = None) -> None:
        super().__init__("", markup=False, id=id)
        self.titles = titles
        self.active = 0
        self._spans: list[tuple[int, int]] = []

    def select(self, index: int) -> None:
        self.active = index
        self.refresh()

    def render(self) -> Text:
        out = Text(end="", no_wrap=True)
        self._spans = []
        for i, title in enumerate(self.titles):
            start = out.cell_len
            label = Text(f" {i + 1} {title} ", end="")
            if i == self.active:
                label.stylize(self.get_component_rich_style("panebar--active"))
            else:
                label.stylize(self.get_component_rich_style("panebar--key"), 1, 2)
            out.append_text(label)
            self._spans.append((start, out.cell_len))
            out.append(" ")
        return out

    async def on_click(self, event: events.Click) -> None:
        for i, (start, end) in enumerate(self._spans):
            if start <= event.x < end:
                self.post_message(self.Clicked(i))
                return
