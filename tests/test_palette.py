"""Jump to member: forgiving over names, handles and ids, accents folded (#17 item 13)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from conftest_app import COMMUNITY, NOW, seed_store
from textual.command import CommandList

from cockpit import namematch
from cockpit.app import CockpitApp
from cockpit.model import Activity, Kind
from cockpit.store.base import MemberRow

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
