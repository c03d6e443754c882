"""Pilot tests for the cockpit TUI: navigation, filters, follow/pause, detail, member, quitting."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from conftest_app import (
    HOSTILE,
    NOW,
    PEOPLE,
    activity,
    config,
    make_store,
    registry,
    seed_activities,
    until,
)
from rich.text import Text
from textual.widgets import OptionList, Static

from cockpit.app import CockpitApp
from cockpit.model import Kind
from cockpit.store.sqlite import SQLiteStore
from cockpit.widgets.alerts import AlertsPane
from cockpit.widgets.detail import ActivityDetail
from cockpit.widgets.feed import PAGE, WINDOW, Chip, FeedPane, FeedView
from cockpit.widgets.header import PulseHeader
from cockpit.widgets.member import MemberScreen
from cockpit.widgets.pane import EmptyState


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return make_store(tmp_path / "cockpit.db")


def make_app(path: Path, attach: bool = True, **kw: object) -> CockpitApp:
    return CockpitApp(
        store_path=path,
        config=config(),
        registry=registry(),
        attach=attach,
        clock=lambda: NOW,
        **kw,  # type: ignore[arg-type]
    )


def feed(app: CockpitApp) -> FeedView:
    return app.screen_stack[0].query_one(FeedView)


def line_text(view: FeedView, y: int) -> str:
    return "".join(seg.text for seg in view.render_line(y))


def screen_text(app: CockpitApp) -> str:
    return "\n".join(
        "".join(seg.text for seg in strip)
        for strip in app.screen._compositor.render_update(full=True).strips  # type: ignore[union-attr]
    )


async def test_feed_loads_newest_rows_and_follows(store_path: Path) -> None:
    app = make_app(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        view = feed(app)
        await until(pilot, lambda: not view.fetching)
        assert len(view.rows) == PAGE if len(seed_activities()) > PAGE else len(seed_activities())
        assert view.rows[-1].text == "searchable needle in a haystack"
        assert view.cursor == len(view.rows) - 1
        assert view.follow is True
        assert app.focused is view
        await until(pilot, lambda: view.max_scroll_y > 0 and view.scroll_y == view.max_scroll_y)
        # times in the operator's zone (Europe/Berlin, CEST = UTC+2)
        last = line_text(view, view.scrollable_content_region.height - 1)
        assert last.startswith("▌16:29 TG #Acme Chat Linus")
        header = app.query_one(PulseHeader)
        assert header.pulse.active_today == 8
        rendered = header.render().plain
        assert "◆ acme" in rendered and "alerts —" in rendered and "next —" in rendered
        assert "Berlin 16:30" in rendered and "Jakarta 21:30" in rendered


async def test_pane_keys_tab_and_empty_states(store_path: Path) -> None:
    app = make_app(store_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: not feed(app).fetching)
        await pilot.press("2")
        alerts = app.query_one(AlertsPane)
        assert app.pane_index == 1 and app.focused is alerts and alerts.display
        assert not app.query_one(FeedPane).display or not app.query_one(FeedPane).has_class(
            "-active"
        )
        assert "No alert rules configured yet" in str(alerts.query_one(EmptyState).render())
        await pilot.press("3")
        assert app.pane_index == 2
        await pilot.press("4")
        assert app.pane_index == 3
        await pilot.press("tab")
        assert app.pane_index == 0 and app.focused is feed(app)
        await pilot.press("shift+tab")
        assert app.pane_index == 3
        await pilot.press("1")
        assert app.focused is feed(app)


async def test_wide_terminal_tiles_all_panes(store_path: Path) -> None:
    app = make_app(store_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: not feed(app).fetching)
        panes = app.query_one("#panes")
        assert panes.has_class("-wide")
        await until(
            pilot, lambda: all(p.region.height > 0 and p.region.width > 0 for p in panes.children)
        )
        regions = {p.id: p.region for p in panes.children}
        assert regions["feed"].width > regions["alerts"].width
        assert regions["feed"].height > regions["alerts"].height
        await pilot.press("tab")
        assert app.focused is app.query_one(AlertsPane)


async def test_filters_combine_show_chips_and_clear(store_path: Path) -> None:
    app = make_app(store_path)
    async with app.run_test(size=(100, 30)) as pilot:
        view = feed(app)
        pane = app.query_one(FeedPane)
        await until(pilot, lambda: not view.fetching)
        join = next(i for i, r in enumerate(view.rows) if r.kind is Kind.JOIN)
        view._set_cursor(join)
        await pilot.press("k")
        await until(
            pilot,
            lambda: not view.fetching and bool(view.rows) and view.filters.kinds == (Kind.JOIN,),
        )
        assert [r.kind for r in view.rows] == [Kind.JOIN]
        assert [str(c.render()) for c in pane.query(Chip)] == ["kind join ✕"]
        # add a platform filter via the palette path; combined with kind it matches nothing
        app.toggle_filter("platforms", "slack")
        await until(pilot, lambda: not view.fetching and view.filters.platforms == ("slack",))
        assert view.rows == []
        assert "Nothing matches these filters" in "".join(
            line_text(view, y) for y in range(view.scrollable_content_region.height)
        )
        assert [str(c.render()) for c in pane.query(Chip)] == ["platform slack ✕", "kind join ✕"]
        await pilot.press("backspace")  # drops the last chip (kind)
        await until(pilot, lambda: not view.fetching and not view.filters.kinds)
        assert {r.platform for r in view.rows} == {"slack"} and len(view.rows) > 5
        await pilot.press("x")
        await until(pilot, lambda: not view.fetching and not view.filters.active)
        assert len(view.rows) > 50
        # full-text search
        await pilot.press("slash")
        assert app.focused is not None and app.focused.id == "feed-search"
        await pilot.press(*"needle", "enter")
        await until(pilot, lambda: not view.fetching and view.filters.search == "needle")
        assert [r.text for r in view.rows] == ["searchable needle in a haystack"]
        assert app.focused is view
        # a channel filter and a member filter from the row under the cursor
        await pilot.press("x")
        await until(pilot, lambda: not view.fetching and not view.filters.active)
        await pilot.press("c")
        await until(pilot, lambda: not view.fetching and bool(view.filters.channels))
        assert {(r.platform, r.channel) for r in view.rows} == {("telegram", "Acme Chat")}
        await pilot.press("u")
        await until(pilot, lambda: not view.fetching and bool(view.filters.members))
        assert {r.author for r in view.rows} == {"Linus"}
        chips = [str(c.render()) for c in pane.query(Chip)]
        assert chips == ["#Acme Chat (TG) ✕", "@Linus ✕"]
        await pilot.click(Chip)  # clicking a chip removes it
        await until(pilot, lambda: not view.fetching and not view.filters.channels)
        assert view.filters.members and not view.filters.channels


async def _write(path: Path, rows: list[object]) -> None:
    store = await SQLiteStore.open(path)
    try:
        await store.write(rows)  # type: ignore[arg-type]
    finally:
        await store.close()


async def test_attach_polls_follow_pauses_and_resumes(store_path: Path) -> None:
    app = make_app(store_path, attach=True, poll_interval=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        view = feed(app)
        await until(pilot, lambda: not view.fetching)
        base = len(view.rows)
        await _write(store_path, [activity(5000, 0, NOW + timedelta(seconds=1), "live one")])
        await until(pilot, lambda: view.rows[-1].text == "live one", timeout=1.5)
        assert view.follow and view.cursor == len(view.rows) - 1
        await pilot.press("up", "up")
        assert not view.follow
        cursor_id = view.rows[view.cursor].id
        await _write(
            store_path,
            [activity(5001 + i, 1, NOW + timedelta(seconds=2 + i), f"burst {i}") for i in range(5)],
        )
        await until(pilot, lambda: view.pending == 5, timeout=1.5)
        assert view.rows[view.cursor].id == cursor_id  # the view did not move
        assert "PAUSED · 5 new" in str(app.query_one("#follow-state", Static).render())
        await pilot.press("end")
        assert view.follow and view.pending == 0
        assert view.rows[view.cursor].text == "burst 4"
        assert len(view.rows) == base + 6


async def test_in_process_writer_feeds_the_view_and_quit_flushes(store_path: Path) -> None:
    app = make_app(store_path, attach=False)
    async with app.run_test(size=(80, 24)) as pilot:
        view = feed(app)
        await until(pilot, lambda: not view.fetching and app.writer is not None)
        assert app.writer is not None
        await app.writer.write([activity(6000, 4, NOW + timedelta(seconds=5), "from the writer")])
        await until(pilot, lambda: view.rows[-1].text == "from the writer", timeout=1.0)
        await pilot.press("q")
        await until(pilot, lambda: app._stopped)
    assert app.return_code == 0
    check = await SQLiteStore.open(store_path, readonly=True)
    try:
        assert (await check.activity("slack", "C0GEN:6000")) is not None
    finally:
        await check.close()


async def test_detail_and_member_views(store_path: Path) -> None:
    app = make_app(store_path)
    async with app.run_test(size=(100, 40)) as pilot:
        view = feed(app)
        await until(pilot, lambda: not view.fetching)
        reply = next(i for i, r in enumerate(view.rows) if r.reply_to)
        view._set_cursor(reply)
        await pilot.press("enter")
        assert isinstance(app.screen, ActivityDetail)
        context = app.screen.query_one("#detail-context", Static)
        await until(pilot, lambda: "in reply to" in str(context.render()))
        shown = str(context.render())
        assert shown.split("\n")[:2] == [
            "in reply to:",
            "  14:32 Ada Lovelace  Yes, the upgrade went smoothly on my side.",
        ]
        assert "▶" in shown and "Replying: check the docs page on imports" in shown
        await pilot.press("m")
        assert isinstance(app.screen, MemberScreen)
        head = app.screen.query_one("#member-head", Static)
        await until(pilot, lambda: "Ada Lovelace" in str(head.render()))
        assert "@ada" in str(head.render()) and "first seen 2024-05-13" in str(head.render())
        ids = app.screen.query_one("#member-ids", OptionList)
        await until(pilot, lambda: "slack" in screen_text(app))
        assert ids.display
        await until(pilot, lambda: "Standing (30d)" in screen_text(app))
        await pilot.press("f")  # filter the feed by this member
        await until(pilot, lambda: not isinstance(app.screen, MemberScreen))
        await until(pilot, lambda: not view.fetching and bool(view.filters.members))
        assert {r.author_id for r in view.rows} == {PEOPLE[0][1]}


async def test_untrusted_text_is_shown_literally(store_path: Path) -> None:
    app = make_app(store_path)
    async with app.run_test(size=(230, 50)) as pilot:
        view = feed(app)
        await until(pilot, lambda: not view.fetching)
        index = next(i for i, r in enumerate(view.rows) if r.text == HOSTILE)
        line = "".join(seg.text for seg in view.render_line(index - int(view.scroll_y)))
        assert (
            "[bold red]x[/] [link=http://e]y[/link] \\x1b[31mred \\u202eevil\\u202c z\\u200bw"
            in line
        )
        segments = list(view.render_line(index - int(view.scroll_y)))
        assert all(seg.style is None or seg.style.link is None for seg in segments)
        assert not any(ch in line for ch in ("\x1b", "\u202e", "\u200b"))
        view._set_cursor(index)
        await pilot.press("enter")
        body = str(app.screen.query_one("#detail-text Static", Static).render())
        assert (
            body
            == "[bold red]x[/] [link=http://e]y[/link] \\x1b[31mred \\u202eevil\\u202c z\\u200bw"
        )
        await until(
            pilot, lambda: "▶" in str(app.screen.query_one("#detail-context", Static).render())
        )
        assert "\x1b" not in screen_text(app)


async def test_paging_back_keeps_memory_bounded(tmp_path: Path) -> None:
    rows = [
        activity(i, i % len(PEOPLE), NOW - timedelta(seconds=5 * (3000 - i)), f"msg {i}")
        for i in range(3000)
    ]
    path = tmp_path / "big.db"
    await _write_new(path, rows)
    app = make_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        view = feed(app)
        await until(pilot, lambda: not view.fetching)
        assert len(view.rows) == PAGE
        seen_max = 0
        for _ in range(200):
            await pilot.press("pageup")
            await pilot.pause(0.01)
            seen_max = max(seen_max, len(view.rows))
            if view.rows and view.rows[0].text == "msg 0" and view.cursor == 0:
                break
        assert view.rows[0].text == "msg 0" and not view.has_older
        assert seen_max <= WINDOW + PAGE
        assert view.has_newer and not view.follow
        # scrolling forward re-fetches the dropped chunks in order
        for _ in range(400):
            await pilot.press("pagedown")
            await pilot.pause(0.01)
            if not view.has_newer and view.cursor == len(view.rows) - 1:
                break
        texts = [r.text for r in view.rows]
        assert texts == [f"msg {i}" for i in range(3000 - len(texts), 3000)]
        await pilot.press("home")
        await pilot.press("end")
        await until(pilot, lambda: view.follow and not view.fetching)
        assert view.rows[-1].text == "msg 2999"


async def _write_new(path: Path, rows: list[object]) -> None:
    await _write(path, rows)


def test_feed_row_text_marks_kinds() -> None:
    """Replies, joins, leaves, system events and reactions read differently without colour."""
    from datetime import UTC

    from cockpit.store.base import ActivityRow

    def row(kind: Kind, text: str = "", **kw: object) -> ActivityRow:
        base = dict(
            id=1,
            community="acme",
            platform="discord",
            source_id="1",
            kind=kind,
            ts=NOW,
            channel="general",
            channel_id="c1",
            member_id=1,
            author="Ada",
            author_handle=None,
            author_id="1",
            is_bot=False,
            text=text,
            reply_to=None,
            thread=None,
            mentions=(),
            attachments=0,
            reactions=0,
            edited_ts=None,
            deleted=False,
            extras={},
        )
        base.update(kw)
        return ActivityRow(**base)  # type: ignore[arg-type]

    view = FeedView(clock=lambda: NOW, tz=UTC)

    class Dummy:
        theme = "textual-dark"

    view.get_component_rich_style = lambda *a, **k: __import__("rich.style").style.Style()  # type: ignore[method-assign]
    cases = {
        "→ joined": row(Kind.JOIN),
        "← left": row(Kind.LEAVE),
        "⚙ pinned": row(Kind.SYSTEM, "pinned"),
        "+ 👍 reacted": row(Kind.REACTION, "👍", reply_to="9"),
        "↳ sure": row(Kind.MESSAGE, "sure", reply_to="9"),
        "✗ deleted: oops": row(Kind.MESSAGE, "oops", deleted=True),
        "hi (edited)": row(Kind.MESSAGE, "hi", edited_ts=NOW),
    }
    for expected, r in cases.items():
        text = view.row_text(r, 80)
        assert isinstance(text, Text)
        assert text.plain.endswith(expected), (expected, text.plain)
        assert text.plain.startswith(" 14:30 DC #general   Ada")
