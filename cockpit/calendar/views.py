"""Read models shared by `cockpit calendar` and the Calendar pane: JSON and one-line views."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from cockpit.calendar.conflicts import Conflict
from cockpit.calendar.model import Occurrence, TimeKind
from cockpit.calendar.shifts import CoverageHour
from cockpit.calendar.slots import Slot
from cockpit.calendar.zones import get_zone, local_label, region_name
from cockpit.textsafe import inert_line
from cockpit.timeutil import iso_z


def conflicts_by_occurrence(conflicts: Sequence[Conflict]) -> dict[tuple[str, datetime], list[str]]:
    out: dict[tuple[str, datetime], list[str]] = {}
    for c in conflicts:
        out.setdefault((c.first.uid, c.first.start), []).append(f"{c.second.uid} ({c.reason})")
        out.setdefault((c.second.uid, c.second.start), []).append(f"{c.first.uid} ({c.reason})")
    return out


def occurrence_json(
    occ: Occurrence, regions: Sequence[str], conflicts: Sequence[str] = ()
) -> dict[str, Any]:
    e = occ.event
    zones = list(dict.fromkeys([*e.regions, *regions]))
    return {
        "uid": e.uid,
        "kind": e.kind.value,
        "title": occ.title,
        "start": iso_z(occ.start),
        "end": iso_z(occ.end),
        "time_kind": e.time_kind.value,
        "tz": e.tz,
        "recurrence_id": occ.recurrence_id.isoformat(),
        "recurring": bool(e.rrule),
        "edited": occ.edited,
        "community": e.community,
        "platform": e.platform,
        "channel": e.channel,
        "host": occ.host,
        "regions": list(e.regions),
        "local": {z: occ.start.astimezone(get_zone(z)).isoformat() for z in zones},
        "note": occ.note,
        "conflicts": list(conflicts),
    }


def occurrence_lines(
    occ: Occurrence, viewer: tzinfo, regions: Sequence[str], conflicts: Sequence[str] = ()
) -> list[str]:
    """A header line in the viewer's zone and a line of the time in each region."""
    s, e = occ.start.astimezone(viewer), occ.end.astimezone(viewer)
    if occ.event.time_kind is TimeKind.ALL_DAY:
        when = f"{s:%Y-%m-%d %a} all day"
    else:
        when = f"{s:%Y-%m-%d %a %H:%M}–{e:%H:%M}"
    where = " ".join(
        x for x in (occ.event.platform, f"#{occ.event.channel}" if occ.event.channel else "") if x
    )
    head = f"{when}  {inert_line(occ.title)}  [{occ.uid[:8]}]"
    if occ.event.kind.value == "shift":
        head += "  (shift)"
    if where:
        head += f"  {inert_line(where)}"
    if occ.host:
        head += f"  host {inert_line(occ.host)}"
    if occ.edited:
        head += "  (edited)"
    lines = [head]
    zones = list(dict.fromkeys([*occ.event.regions, *regions]))
    if zones and occ.event.time_kind is TimeKind.ZONED:
        lines.append(
            "    "
            + " · ".join(
                f"{region_name(z)} {local_label(occ.start, get_zone(z), viewer)}" for z in zones
            )
        )
    if occ.note:
        lines.append(f"    note: {occ.note}")
    lines.extend(f"    ! conflicts with {inert_line(c)}" for c in conflicts)
    return lines


def slot_json(slot: Slot) -> dict[str, Any]:
    return {
        "start": iso_z(slot.start),
        "end": iso_z(slot.end),
        "attendees": slot.attendees,
        "active_members": slot.active,
        "share_awake": round(slot.share, 4),
        "regions": [
            {"zone": r.region, "local": r.local.isoformat(), "awake": r.awake} for r in slot.regions
        ],
        "busy": list(slot.busy),
        "also": [iso_z(t) for t in slot.also],
    }


def slot_line(slot: Slot, viewer: tzinfo) -> str:
    s = slot.start.astimezone(viewer)
    zones = " · ".join(
        f"{region_name(r.region)} {local_label(slot.start, get_zone(r.region), viewer)}"
        + ("" if r.awake else " (asleep)")
        for r in slot.regions
    )
    busy = f"  busy: {', '.join(inert_line(b) for b in slot.busy)}" if slot.busy else ""
    days = ", ".join(f"{t.astimezone(viewer):%a %d}" for t in slot.also)
    also = f"  (as good on {days} at this time)" if days else ""
    return (
        f"{s:%Y-%m-%d %a %H:%M}  {slot.attendees}/{slot.active} active members "
        f"({slot.share:.0%})  {zones}{busy}{also}"
    )


def coverage_json(row: CoverageHour) -> dict[str, Any]:
    return {
        "start": iso_z(row.start),
        "moderators": list(row.moderators),
        "covered": row.covered,
        "active_members": row.members,
    }
