"""Jump to member: forgiving over names, handles and ids, accents folded (#17 item 13)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from conftest_app import COMMUNITY, NOW, config, registry, seed_store, until
from textual.command import CommandList, CommandPalette
from textual.widgets import Input

from cockpit import namematch
from cockpit.app import CockpitApp
from cockpit.model import Activity, Kind
from cockpit.store.base import MemberRow
from cockpit.widgets.member import MemberScreen

PEOPLE = [
    ("discord", "701", "Lena Schäfer", "lenaschaefer"),
    ("discord", "702", "渡辺 健二", "kenji_w"),
    ("slack", "U9", "Lena Smith", "lsmith"),
    ("telegram", "803", "Søren Ølgaard", None),
    ("discord", "704", "Anna Hoffmann", "anna"),
]


def member(i: int, name: str, handle: str | None, uid: str, count: int = 1) -> MemberRow:
    return MemberRow(i, COMMUNITY, "discord", uid, handle, name, False, None, None, count)


ROWS = [member(i + 1, p[2], p[3], p[1], count=10 - i) for i, p in enumerate(PEOPLE)]


def names(query: str) -> list[str]:
    return [m.member.display_name for m in namematch.rank(query, ROWS)]


def test_fold() -> None:
    assert namematch.fold("Schäfer") == "schafer"
    assert namematch.fold("Schäfer", umlauts=True) == "schaefer"
    assert namematch.fold("Søren STRAẞE") == "soren strasse"
    assert namematch.fold("José") == "jose"


def test_rank_is_forgiving_about_accents_words_and_handles() -> None:
    assert names("schafer") == ["Lena Schäfer"]
    assert names("Schaefer") == ["Lena Schäfer"]
    assert names("kenji") == ["渡辺 健二"]
    assert names("健二") == ["渡辺 健二"]
    # both words start words of the name; the more active Lena first
    assert names("Lena S") == ["Lena Schäfer", "Lena Smith"]
    assert names("s lena") == ["Lena Schäfer", "Lena Smith"]
    assert names("@lsmith") == ["Lena Smith"]
    assert names("soren olg") == ["Søren Ølgaard"]
    # ids: the platform's (exact or a prefix), the member number as #N, exactly
    assert names("803") == ["Søren Ølgaard"]
    assert names("#2") == ["渡辺 健二"]
    assert names("#20") == []
    # an exact name outranks a partial one
    assert namematch.rank("anna", ROWS)[0].score == namematch.EXACT
    # letters in order, as a last resort
    assert names("lnschf") == ["Lena Schäfer"]
    assert names("zzz") == [] and names("  ") == []


async def _store(tmp_path: Path) -> Path:
    acts = [
        Activity(
            platform=platform,
            source_id=f"m{i}",
            kind=Kind.MESSAGE,
            ts=NOW - timedelta(minutes=10 - i),
            channel="general",
            channel_id="c1",
            author=name,
            author_id=uid,
            author_handle=handle,
            text="hello",
            community=COMMUNITY,
        )
        for i, (platform, uid, name, handle) in enumerate(PEOPLE)
    ]
    await seed_store(tmp_path / "p.db", acts)
    return tmp_path / "p.db"


def _options(app: CockpitApp) -> list[str]:
    box = app.screen.query_one(CommandList)
    return [str(box.get_option_at_index(i).prompt) for i in range(box.option_count)]


async def test_jump_to_member_finds_partial_and_accent_free_names(tmp_path: Path) -> None:
    app = CockpitApp(
        store_path=await _store(tmp_path),
        config=config(),
        registry=registry(),
        attach=True,
        clock=lambda: NOW,
        live=False,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.ready)
        # the palette reads the members when it opens (none were cached at start here)
        app.palette_members = []
        app.action_jump_member()
        await until(
            pilot, lambda: isinstance(app.screen, CommandPalette) and bool(app.screen.query(Input))
        )
        # typed at once: Textual's palette may drop the hits of a search overtaken by the next key
        app.screen.query_one(Input).value = "schafer"
        await until(pilot, lambda: len(_options(app)) == 1 and "Schäfer" in _options(app)[0])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MemberScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, MemberScreen))
        # the main palette (Ctrl+P) finds members the same way
        await pilot.press("ctrl+p")
        await until(
            pilot, lambda: isinstance(app.screen, CommandPalette) and bool(app.screen.query(Input))
        )
        app.screen.query_one(Input).value = "kenji"
        await until(pilot, lambda: any("渡辺 健二" in o for o in _options(app)))
        await pilot.press("escape")
