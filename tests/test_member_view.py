"""The member view links identities across platforms on the operator's word, shows the
person's standing from the leaderboard, and refuses to change anything when attached."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from conftest_app import NOW, config, registry, seed_store, until
from rich.text import Text
from textual.widgets import OptionList, Static

from cockpit.app import CockpitApp
from cockpit.scoring.config import ScoringSettings
from cockpit.store.sqlite import SQLiteStore
from cockpit.store.sqlite_scoring import ScoringStore
from cockpit.widgets.member import MemberScreen, identity_line, known_identities


def make_app(path: Path, attach: bool) -> CockpitApp:
    return CockpitApp(
        store_path=path,
        config=config(),
        registry=registry(),
        attach=attach,
        clock=lambda: NOW,
        live=False,
    )


def rows(screen: MemberScreen) -> list[str]:
    if not screen.is_mounted:
        return []
    listing = screen.query_one("#member-ids", OptionList)
    out = []
    for i in range(listing.option_count):
        prompt = listing.get_option_at_index(i).prompt
        assert isinstance(prompt, Text)
        out.append(prompt.plain)
    return out


async def ada_ids(path: Path) -> tuple[int, int]:
    store = await SQLiteStore.open(path)
    try:
        found = await store.find_members("Ada Lovelace")
    finally:
        await store.close()
    by_platform = {m.platform: m.id for m in found}
    return by_platform["discord"], by_platform["slack"]


async def test_link_then_unlink_from_the_member_view(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    await seed_store(path)
    discord_ada, slack_ada = await ada_ids(path)
    app = make_app(path, attach=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.ready)
        screen = MemberScreen(discord_ada, app.pane_context)
        app.push_screen(screen)
        await until(pilot, lambda: len(rows(screen)) == 2)
        this, other = rows(screen)
        assert this.startswith("• discord   Ada Lovelace @ada") and "this" not in this
        assert other.startswith("? slack     Ada Lovelace @ada")
        assert "suggested 90%: same handle and name" in other
        help_line = screen.query_one("#member-links-help", Static).render()
        assert "1 possible link: l link · x not them" in str(help_line)
        await until(
            pilot,
            lambda: str(screen.query_one("#member-standing", Static).render()).startswith(
                "Standing (30d)  #"
            ),
        )
        screen.query_one("#member-ids", OptionList).highlighted = 1
        await pilot.press("l")
        await until(pilot, lambda: rows(screen)[1:2] and rows(screen)[1].startswith("= slack"))
        assert app.store is not None and isinstance(app.store, SQLiteStore)
        scoring = ScoringStore(app.store, ScoringSettings(), lambda: NOW)
        key = await scoring.key_of(discord_ada)
        assert key < 0 and key == await scoring.key_of(slack_ada)
        assert "u unlink" in str(screen.query_one("#member-links-help", Static).render())
        screen.query_one("#member-ids", OptionList).highlighted = 1
        await pilot.press("u")
        await until(pilot, lambda: rows(screen)[1].startswith("? slack"))
        assert await scoring.key_of(slack_ada) == slack_ada
        # the operator says they are different people: the suggestion goes, for good
        screen.query_one("#member-ids", OptionList).highlighted = 1
        await pilot.press("x")
        await until(pilot, lambda: len(rows(screen)) == 1)
        assert (
            min(discord_ada, slack_ada),
            max(discord_ada, slack_ada),
        ) in await scoring.store.identity.rejected()


async def test_attached_operators_cannot_link(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    await seed_store(path)
    discord_ada, _ = await ada_ids(path)
    app = make_app(path, attach=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.ready)
        screen = MemberScreen(discord_ada, app.pane_context)
        app.push_screen(screen)
        await until(pilot, lambda: len(rows(screen)) == 2)
        screen.query_one("#member-ids", OptionList).highlighted = 1
        await pilot.press("l")
        await until(pilot, lambda: bool(app._notifications))
        assert [n.message for n in app._notifications][-1] == (
            "Read-only: attached to a store another process writes; "
            "link with `cockpit members link`."
        )
        assert rows(screen)[1].startswith("? slack")


async def test_known_identities_without_the_scoring_tables_are_name_matches(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.db"
    await seed_store(path)
    discord_ada, _ = await ada_ids(path)
    store = await SQLiteStore.open(path)
    try:
        member = await store.member(discord_ada)
        assert member is not None
        known = await known_identities(store, member, None)
    finally:
        await store.close()
    assert [k.status for k in known] == ["this", "suggested"]
    line = identity_line(known[1], UTC).plain
    assert line.startswith("? slack     Ada Lovelace @ada") and "same handle and name" in line
