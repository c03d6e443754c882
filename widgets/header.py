"""The header strip: the pulse of the community in two lines that fit 80 columns.

Line one: which community, activity per minute (sparkline), active members today, open
alerts by severity, the next event with a countdown. Line two: the operator's clock and
the clocks of the configured regions, with a day/night mark.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from cockpit.textsafe import inert_line

from .common import Clock, countdown, sparkline

SEVERITIES = ("critical", "warning", "info")


@dataclass
class Pulse:
    """What the header shows; None means 'not known (yet)' and is drawn as —."""

    per_minute: Sequence[int] = ()
    active_today: int | None = None
    alerts: Mapping[str, int] | None = None
    next_event: tuple[str, datetime] | None = None
    mode: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def short_zone(name: str) -> tuple[str, str]:
    """('Los Angeles', 'LA') for 'America/Los_Angeles'."""
    city = name.rsplit("/", 1)[-1].replace("_", " ")
    words = city.split()
    short = "".join(w[0] for w in words).upper() if len(words) > 1 else city[:3].upper()
    return city, short


class PulseHeader(Widget):
    """Redrawn on a one-second tick for the clocks and whenever the app sets a new Pulse."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "pulse--title",
        "pulse--spark",
        "pulse--value",
        "pulse--label",
        "pulse--none",
        "pulse--critical",
        "pulse--warning",
        "pulse--info",
        "pulse--day",
        "pulse--night",
        "pulse--local",
        "pulse--mode",
    }

    def __init__(
        self, *, title: str, clock: Clock, tz: tzinfo, regions: Sequence[str], id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.title = title
        self.clock = clock
        self.tz = tz
        self.zones = [(ZoneInfo(name), *short_zone(name)) for name in regions]
        self.pulse = Pulse()

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh)

    def show(self, pulse: Pulse) -> None:
        self.pulse = pulse
        self.refresh()

    def set_alerts(self, counts: Mapping[str, int]) -> None:
        """For the alerts issue: open alerts by severity."""
        self.pulse.alerts = dict(counts)
        self.refresh()

    def set_next_event(self, title: str, when: datetime) -> None:
        """For the calendar issue: the next event and when it starts."""
        self.pulse.next_event = (title, when)
        self.refresh()

    def clear_next_event(self) -> None:
        """Nothing ahead any more (the last event was deleted or has passed)."""
        self.pulse.next_event = None
        self.refresh()

    def render(self) -> Text:
        width = max(20, self.size.width)
        now = self.clock()
        out = self._first_line(width, now)
        out.append("\n")
        out.append_text(self._clocks(width, now))
        return out

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"pulse--{name}")

    def _first_line(self, width: int, now: datetime) -> Text:
        """The widest form that fits: the sparkline narrows first, then names are cut."""
        wide = width >= 110
        sizes = (  # sparkline width, event title width, whether the mode shows
            [(30, 24, True), (20, 24, True), (15, 16, True)]
            if wide
            else [
                (15, 16, True),
                (10, 16, True),
                (10, 12, True),
                (6, 12, True),
                (6, 12, False),
                (0, 12, False),
                (0, 8, False),
            ]
        )
        line = Text()
        for spark_w, title_w, with_mode in sizes:
            line = self._compose_first(width, now, spark_w, title_w, wide, with_mode)
            if line.cell_len <= width:
                return line
        line.truncate(width)
        return line

    def _compose_first(
        self, width: int, now: datetime, spark_w: int, title_w: int, wide: bool, with_mode: bool
    ) -> Text:
        s = self._style
        p = self.pulse
        mode = p.mode if with_mode else ""
        per_min = list(p.per_minute)
        parts: list[Text] = []
        spark = Text(end="")
        if spark_w:
            spark.append(sparkline(per_min, spark_w).rjust(spark_w, " "), s("spark"))
            spark.append(" ")
        last = per_min[-1] if per_min else None
        spark.append(
            "—" if last is None else str(last), s("value") if last is not None else s("none")
        )
        spark.append("/min", s("label"))
        parts.append(spark)

        active = Text(end="")
        if p.active_today is None:
            active.append("—", s("none"))
        else:
            active.append(str(p.active_today), s("value"))
        active.append(" active today" if wide else " active", s("label"))
        parts.append(active)

        alerts = Text(end="")
        alerts.append("alerts ", s("label"))
        if not p.alerts:
            alerts.append("—", s("none"))
        else:
            shown = [(sev, n) for sev, n in p.alerts.items() if n]
            if not shown:
                alerts.append("0", s("value"))
            for i, (sev, n) in enumerate(shown):
                if i:
                    alerts.append(" ")
                style = s(sev) if sev in SEVERITIES else s("value")
                alerts.append(f"{n}{sev[0].upper()}" if not wide else f"{n} {sev}", style)
        parts.append(alerts)

        event = Text(end="")
        event.append("next ", s("label"))
        if p.next_event is None:
            event.append("—", s("none"))
        else:
            title, when = p.next_event
            shown_title = inert_line(title)
            if len(shown_title) > title_w:
                shown_title = shown_title[: title_w - 1] + "…"
            event.append(shown_title, s("value"))
            event.append(" " + countdown((when - now).total_seconds()), s("label"))
        parts.append(event)

        head = Text(end="")
        head.append("◆ ", s("title"))
        budget = max(8, width - sum(t.cell_len + 3 for t in parts) - 2 - len(mode) - 1)
        name = inert_line(self.title)
        if len(name) > budget:
            name = name[: budget - 1] + "…"
        head.append(name, s("title"))
        if mode:
            head.append(" " + mode, s("mode"))
        line = head
        for part in parts:
            line.append(" │ ", s("label"))
            line.append_text(part)
        return line

    def _clocks(self, width: int, now: datetime) -> Text:
        s = self._style
        local = now.astimezone(self.tz)
        for own, use_short in (
            ("%a %d %b %H:%M", False),
            ("%a %d %b %H:%M", True),
            ("%a %H:%M", True),
        ):
            line = Text(end="")
            line.append(local.strftime(own), s("local"))
            for zone, city, short in self.zones:
                there = now.astimezone(zone)
                day = 7 <= there.hour < 19
                line.append("  ")
                line.append("☀" if day else "☾", s("day") if day else s("night"))
                line.append(f" {short if use_short else city} ", s("label"))
                line.append(there.strftime("%H:%M"), s("value"))
            if line.cell_len <= width:
                return line
        line.truncate(width)
        return line
