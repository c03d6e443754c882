"""How the calendar is told in text: region times, occurrences, slots, coverage.

Pure functions from calendar values to Rich text (no widgets), shared by the pane and
its dialogs. Titles and hosts come from imported calendars: drawn inert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo

from rich.text import Text

from cockpit.calendar.config import CalendarSettings
from cockpit.calendar.conflicts import Conflict
from cockpit.calendar.model import Occurrence, TimeKind
from cockpit.calendar.shifts import coverage, gaps, on_call
from cockpit.calendar.slots import Slot
from cockpit.calendar.zones import day_marker, get_zone
from cockpit.textsafe import inert_line

from .common import countdown
from .header import short_zone


def zone_short(name: str) -> str:
    return short_zone(name)[1]


def region_times(
    utc: datetime, regions: Sequence[str], viewer: tzinfo, width: int | None = None
) -> Text:
    """'LA 07:00 · BER 16:00 · JAK 21:00 +1': each region's clock, days against the viewer's.

    Tighter separators when `width` is short, so five regions still fit a tiled pane.
    """
    reference = utc.astimezone(viewer).date()
    parts: list[tuple[str, str, str]] = []
    for name in regions:
        local = utc.astimezone(get_zone(name))
        parts.append((zone_short(name), f"{local:%H:%M}", day_marker(local.date(), reference)))
    out = Text(end="")
    for sep in (" · ", " "):
        out = Text(end="")
        for i, (label, clock, marker) in enumerate(parts):
            if i:
                out.append(sep, "dim")
            out.append(f"{label} ", "dim")
            out.append(clock)
            if marker:
                out.append(f" {marker}", "bold")
        if width is None or out.cell_len <= width:
            break
    return out


def conflict_notes(conflicts: Sequence[Conflict]) -> dict[tuple[str, datetime], list[str]]:
    """(uid, start) -> 'Other title (same host alice)' for each clash it is part of."""
    out: dict[tuple[str, datetime], list[str]] = {}
    for c in conflicts:
        out.setdefault((c.first.uid, c.first.start), []).append(
            f"{inert_line(c.second.title)} ({inert_line(c.reason)})"
        )
        out.setdefault((c.second.uid, c.second.start), []).append(
            f"{inert_line(c.first.title)} ({inert_line(c.reason)})"
        )
    return out


def occurrence_text(
    occ: Occurrence,
    now: datetime,
    viewer: tzinfo,
    regions: Sequence[str],
    clashes: Sequence[str] = (),
    width: int | None = None,
) -> Text:
    """Line one: when (viewer's zone), title, countdown; then regions, odd times, clashes.

    With a `width` every line is cut to it (an ellipsis shows the cut) instead of wrapping.
    """
    s, e = occ.start.astimezone(viewer), occ.end.astimezone(viewer)
    head = Text(end="")
    if clashes:
        head.append("! ", "bold red")
    if occ.event.time_kind is TimeKind.ALL_DAY:
        head.append(f"{s:%a %d} all day ", "bold")
    else:
        head.append(f"{s:%a %d %H:%M}", "bold")
        head.append(f"–{e:%H:%M} ", "dim")
    head.append(inert_line(occ.title))
    if occ.start <= now < occ.end:
        head.append("  now", "bold green")
    elif now < occ.start <= now + timedelta(days=1):
        head.append("  " + countdown((occ.start - now).total_seconds()), "green")
    if occ.host:
        head.append(f"  host {inert_line(occ.host)}", "dim")
    lines = [head]
    zones = list(dict.fromkeys([*occ.event.regions, *regions]))
    if zones and occ.event.time_kind is TimeKind.ZONED:
        lines.append(
            Text("  ", end="")
            + region_times(occ.start, zones, viewer, None if width is None else width - 2)
        )
    if occ.note:
        lines.append(Text("  note: " + occ.note, "italic", end=""))
    lines.extend(Text("  ! conflicts with " + clash, "red", end="") for clash in clashes)
    if width is not None:
        for line in lines:
            if line.cell_len > width:
                line.truncate(max(1, width - 1))
                line.append("…")
    return Text("\n", end="").join(lines)


def day_cells(
    name: str, now: datetime, cells: int, step: timedelta, settings: CalendarSettings
) -> list[bool]:
    """Whether the region is awake in each cell from the current `step` on."""
    tz = get_zone(name)
    first = floor_to(now, step)
    out = []
    for i in range(cells):
        local = (first + step * i).astimezone(tz)
        out.append(settings.awake(local.hour + local.minute / 60))
    return out


def floor_to(ts: datetime, step: timedelta) -> datetime:
    seconds = int(step.total_seconds())
    epoch = int(ts.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def slot_text(rank: int, slot: Slot, viewer: tzinfo) -> Text:
    s = slot.start.astimezone(viewer)
    out = Text(end="")
    out.append(f"{rank}. {s:%a %d %b %H:%M}", "bold")
    out.append(f"  {slot.share:.0%}", "bold")
    out.append(f" of active members usually about ({slot.attendees}/{slot.active})")
    out.append("\n   ")
    reference = s.date()
    for i, r in enumerate(slot.regions):
        if i:
            out.append(" · ", "dim")
        out.append(f"{zone_short(r.region)} ", "dim")
        out.append(f"{r.local:%H:%M}", "" if r.awake else "red")
        marker = day_marker(r.local.date(), reference)
        if marker:
            out.append(f" {marker}", "bold")
        if not r.awake:
            out.append(" asleep", "red")
    if slot.busy:
        out.append("\n   busy: " + ", ".join(inert_line(b) for b in slot.busy), "yellow")
    return out


def coverage_text(
    shifts: Sequence[Occurrence],
    start: datetime,
    end: datetime,
    viewer: tzinfo,
    presence: dict[int, int],
    now: datetime,
) -> Text:
    """Who is on call now and every stretch of the coming week with no moderator."""
    out = Text(end="")
    if not shifts:
        out.append("No moderator shifts yet.\n", "bold")
        out.append("Add them with: cockpit calendar shifts add NAME --tz ZONE --hours 09:00-17:00")
        return out
    duty = on_call(shifts, now)
    out.append("On call now: ", "bold")
    if duty:
        out.append(
            ", ".join(
                f"{inert_line(o.host or '?')} until {o.end.astimezone(viewer):%H:%M}" for o in duty
            )
        )
    else:
        out.append("nobody", "bold red")
    holes = gaps(shifts, start, end)
    hours = int((end - start).total_seconds() // 3600)
    rows = coverage(shifts, start, hours, presence)
    out.append("\n\n")
    if not holes:
        out.append("Every hour of the coming week has a moderator on duty.", "green")
        return out
    out.append(f"{len(holes)} gap{'s' * (len(holes) > 1)} with no moderator:\n", "bold")
    for s, e in holes:
        busy = max((r.members for r in rows if s <= r.start < e), default=0)
        out.append(f"  {s.astimezone(viewer):%a %d %H:%M} – {e.astimezone(viewer):%a %d %H:%M}")
        out.append(f"  {(e - s).total_seconds() / 3600:.0f} h, ≤{busy} members about\n", "dim")
    out.rstrip()
    return out
