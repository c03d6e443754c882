"""Messages a pane posts to ask the cockpit for something outside itself (navigation, the
header), so panes never call into the App."""

from __future__ import annotations

from datetime import datetime

from textual.message import Message


class OpenMember(Message):
    """Show one member (their identities, standing and recent activity)."""

    def __init__(self, member_id: int) -> None:
        super().__init__()
        self.member_id = member_id


class ShowPane(Message):
    """Switch to the pane with this id (`feed`, `alerts`, ...)."""

    def __init__(self, pane_id: str) -> None:
        super().__init__()
        self.pane_id = pane_id


class AlertCounts(Message):
    """Open alerts by state and severity changed: the header shows them."""

    def __init__(self, counts: dict[str, int]) -> None:
        super().__init__()
        self.counts = counts


class NextEvent(Message):
    """The next calendar event changed (None: nothing coming up): the header counts down."""

    def __init__(self, title: str | None, start: datetime | None) -> None:
        super().__init__()
        self.title = title
        self.start = start


class ActOn(Message):
    """Open the Act dialog on a target: `platform:id` of an activity (kind "message"), `#N`
    of a member ("member": on its platform, or with `everywhere` on every linked account,
    whose `platforms` are given), or `alert:N` ("alert": everything it points at)."""

    def __init__(
        self,
        target: str,
        title: str,
        *,
        kind: str = "message",
        platforms: tuple[str, ...] = (),
        everywhere: bool = False,
    ) -> None:
        super().__init__()
        self.target = target
        self.title = title
        self.kind = kind
        self.platforms = platforms
        self.everywhere = everywhere
