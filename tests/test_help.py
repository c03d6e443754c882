"""`?`: a help screen with the concepts and the keys of the pane in view (#17 item 19)."""

from __future__ import annotations

import io
from pathlib import Path

from conftest_app import NOW, config, registry, seed_store, until
from rich.console import Console

from cockpit.app import CockpitApp
from cockpit.widgets.help import HelpScreen, help_text


def _all(screen: HelpScreen) -> str:
    console = Console(width=78, record=True, file=io.StringIO())
    console.print(help_text(screen.pane_id, screen.pane_title, screen.keys))
    return console.export_text()


async def test_help_explains_the_pane_in_view(tmp_path: Path) -> None:
    await seed_store(tmp_path / "h.db")
    app = CockpitApp(
        store_path=tmp_path / "h.db",
        config=config(),
        registry=registry(),
        attach=True,
        clock=lambda: NOW,
        live=False,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.ready)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        screen = app.screen
        assert isinstance(screen, HelpScreen) and screen.pane_id == "feed"
        keys = dict((what, key) for key, what in screen.keys)
        assert keys["Filter platform"] == "p" and keys["Search"] == "/"
        assert "Ack" not in keys  # another pane's key
        text = _all(screen)
        for words in ("chips", "● LIVE", "⏸ PAUSED", "Everywhere", "The header", "Ctrl+P"):
            assert words in text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("2")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        screen = app.screen
        assert isinstance(screen, HelpScreen) and screen.pane_id == "alerts"
        text = _all(screen)
        for words in ("pending", "firing", "acked", "silenced", "resolved"):
            assert words in text
        assert "Filter platform" not in dict((w, k) for k, w in screen.keys)
        # ? again closes it
        await pilot.press("question_mark")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
