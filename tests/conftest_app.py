"""Seeded, deterministic data for the TUI tests (imported by tests/test_app*.py).

A frozen clock and a small community spread over five platforms, with replies, joins,
leaves, system events, an edit, a delete, a bot, and hostile text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cockpit.config import CockpitSettings, Config
from cockpit.model import Activity, Kind
from cockpit.registry import Registry
from cockpit.store.sqlite import SQLiteStore

NOW = datetime(2024, 5, 14, 14, 30, 0, tzinfo=UTC)
COMMUNITY = "acme"
HOSTILE = "[bold red]x[/] [link=http://e]y[/link] \x1b[31mred \u202eevil\u202c z\u200bw"

PEOPLE = [
    # platform, user id, display name, handle, channel id, channel name
    ("discord", "1001", "Ada Lovelace", "ada", "c-general", "general"),
    ("discord", "1002", "Grace Hopper", "grace", "c-help", "help"),
    ("telegram", "5001", "Linus", "linus_t", "-100777", "Acme Chat"),
    ("telegram", "5002", "Margaret H.", None, "-100777", "Acme Chat"),
    ("slack", "U01", "Ken Thompson", "ken", "C0GEN", "general"),
    ("slack", "U02", "Ada Lovelace", "ada", "C0GEN", "general"),
    ("whatsapp", "+4915550001", "Barbara", None, "wa-group-1", "Acme Friends"),
    ("discourse", "dsc-7", "Dennis R.", "dennis", "cat-5", "Announcements"),
]

MESSAGES = [
    "Morning all! Anyone tried the new release?",
    "Yes, the upgrade went smoothly on my side.",
    "I get an error when importing: `KeyError: 'ts'`",
    "Could you share the full traceback?",
    "Reminder: office hours start in 30 minutes 🎉",
    "Thanks, that fixed it!",
    "Where do I find the roadmap?",
    "Pinned in #announcements.",
    "Is there a Telegram bridge for this group?",
    "Welcome to everyone who joined this week 👋",
]


def config(tz: str = "Europe/Berlin") -> Config:
    settings = CockpitSettings(
        community=COMMUNITY,
        timezone=tz,
        regions=["America/Los_Angeles", "Europe/Berlin", "Asia/Jakarta"],
    )
    return Config(None, settings, None, [])


def registry() -> Registry:
    return Registry()


def activity(
    n: int,
    person: int,
    ts: datetime,
    text: str = "",
    kind: Kind = Kind.MESSAGE,
    **extra: object,
) -> Activity:
    platform, uid, name, handle, chan_id, chan = PEOPLE[person]
    return Activity(
        platform=platform,
        source_id=f"{chan_id}:{n}",
        kind=kind,
        ts=ts,
        channel=chan,
        channel_id=chan_id,
        author=name,
        author_id=uid,
        author_handle=handle,
        text=text,
        community=COMMUNITY,
        **extra,  # type: ignore[arg-type]
    )


def seed_activities(count: int = 60) -> list[Activity]:
    """`count` messages in the two hours before NOW, plus the special cases."""
    out: list[Activity] = []
    start = NOW - timedelta(hours=2)
    step = timedelta(hours=2) / count
    for i in range(count):
        person = (i * 5 + 3) % len(PEOPLE)
        out.append(activity(i, person, start + step * i, MESSAGES[i % len(MESSAGES)]))
    # yesterday's history, for paging and dates
    for i in range(20):
        out.append(
            activity(
                1000 + i,
                i % len(PEOPLE),
                NOW - timedelta(days=1, minutes=7 * i),
                f"old message {i}",
            )
        )
    t = NOW - timedelta(minutes=9)
    out += [
        activity(2001, 1, t, "", Kind.JOIN),
        activity(2002, 3, t + timedelta(seconds=20), "", Kind.LEAVE),
        activity(2003, 2, t + timedelta(seconds=40), "Linus pinned a message", Kind.SYSTEM),
        activity(
            2004,
            0,
            t + timedelta(minutes=1),
            "Replying: check the docs page on imports",
            reply_to="c-general:1",
        ),
        activity(2005, 4, t + timedelta(minutes=2), "👍", Kind.REACTION, reply_to="C0GEN:3"),
        activity(2006, 7, t + timedelta(minutes=3), HOSTILE),
        activity(2007, 5, t + timedelta(minutes=4), "line one\nline two\ttabbed", attachments=2),
        activity(2008, 6, t + timedelta(minutes=5), "beep: deploy finished", is_bot=True),
        activity(
            2009,
            1,
            t + timedelta(minutes=6),
            "This one was edited",
            edited_ts=t + timedelta(minutes=7),
        ),
        activity(2010, 2, t + timedelta(minutes=8), "searchable needle in a haystack"),
    ]
    return out


async def seed_store(path: Path, activities: list[Activity] | None = None) -> None:
    store = await SQLiteStore.open(path)
    try:
        await store.write(activities if activities is not None else seed_activities())
    finally:
        await store.close()


def make_store(path: Path, activities: list[Activity] | None = None) -> Path:
    asyncio.run(seed_store(path, activities))
    return path


async def until(pilot: Any, cond: Callable[[], bool], timeout: float = 15.0) -> None:
    """Let the app run until `cond` holds (workers finish on their own schedule).

    Generous: a loaded 2-core CI box is slow, and a condition that holds returns at once.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)
