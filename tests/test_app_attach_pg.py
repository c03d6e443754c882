"""An attached cockpit on PostgreSQL learns of new rows from LISTEN/NOTIFY, not by polling:
with SQLite's polling interval set to a minute, a row written by another process still
reaches the feed within seconds, and a restarted notification connection catches up."""

from __future__ import annotations

from datetime import timedelta

from conftest_app import NOW, activity, config, registry, seed_activities, until

from cockpit.app import CockpitApp
from cockpit.store import open_store
from cockpit.widgets.feed import FeedView


async def test_attached_tui_follows_postgresql_notifications(pg_url: str) -> None:
    writer = await open_store(pg_url)
    try:
        await writer.write(seed_activities(20))
        app = CockpitApp(
            store_path=pg_url,  # type: ignore[arg-type]
            config=config(),
            registry=registry(),
            attach=True,
            clock=lambda: NOW,
            poll_interval=60.0,  # were it polling, nothing would arrive in this test
        )
        async with app.run_test(size=(80, 24)) as pilot:
            view = app.screen_stack[0].query_one(FeedView)
            await until(pilot, lambda: app.ready and not view.fetching)
            await pilot.pause(0.5)  # the LISTEN connection is up
            await writer.write([activity(9000, 0, NOW + timedelta(seconds=1), "pushed row")])
            await until(pilot, lambda: bool(view.rows) and view.rows[-1].text == "pushed row")
            await writer.write(
                [activity(9001 + i, 1, NOW + timedelta(seconds=2 + i), f"n{i}") for i in range(3)]
            )
            await until(pilot, lambda: view.rows[-1].text == "n2")
    finally:
        await writer.close()
