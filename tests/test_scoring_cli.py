"""`cockpit leaderboard | health | report | members link/unlink/suggest` end to end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from cockpit.cli import main
from cockpit.store.sqlite import SQLiteStore
from cockpit.timeutil import utcnow
from factories import act


def today_and_past() -> datetime:
    """A moment earlier today (UTC), a few minutes before now, so the expected scores carry
    no day of decay whatever time of day the suite runs (two hours back is yesterday
    between 00:00 and 02:00)."""
    now = utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if now - midnight < timedelta(minutes=10):
        return now - timedelta(minutes=5)  # the first minutes of a day: as close as it gets
    return max(midnight, now - timedelta(hours=2))


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    config = tmp_path / "cockpit.toml"
    config.write_text('[cockpit]\ncommunity = "c1"\n')

    async def fill() -> None:
        store = await SQLiteStore.open(tmp_path / "s.db")
        now = today_and_past()
        await store.write([
            act(0, source_id="q", author="Ann", author_id="ann", author_handle="ann",
                text="how do I claim the <b>[red]badge[/red]</b>?", ts=now),
            act(0, source_id="a", author="Lena", author_id="lena", author_handle="lena",
                text="open your profile, then badges", ts=now + timedelta(minutes=3), reply_to="q"),
            act(0, platform="slack", source_id="s", author="Lena", author_id="U1",
                author_handle="lena", text="posted the AMA notes in the wiki", ts=now),
        ])  # fmt: skip
        await store.close()

    asyncio.run(fill())

    def go(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(config), "--db", str(tmp_path / "s.db"), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return go


def test_leaderboard_explain_link_and_report(run: Run) -> None:
    code, out, _ = run("leaderboard", "--window", "7d", "--json")
    rows = json.loads(out)
    assert code == 0 and [(r["name"], r["platforms"], r["score"]) for r in rows] == [
        ("Lena", ["discord"], 0.5 + 1 + 5),
        ("Ann", ["discord"], 0.5 + 1 + 1),
        ("Lena", ["slack"], 0.5),
    ]
    code, _, err = run("leaderboard", "--explain", "lena")
    assert code == 1 and "ambiguous" in err
    code, out, _ = run("members", "suggest", "--json")
    assert [(s["reason"], s["confidence"]) for s in json.loads(out)] == [
        ("same handle and name", 0.9)
    ]
    code, out, _ = run("members", "link", "#2", "#3")
    assert code == 0 and "linked #2 and #3" in out
    code, out, _ = run("leaderboard", "--explain", "#3")
    assert code == 0 and "Lena (discord, slack): rank 1, score 7.00" in out
    assert out.splitlines()[-2].split()[-1] == "7.00"  # the total line
    code, out, _ = run("members", "unlink", "#2")
    assert code == 0
    code, out, _ = run("health", "--json")
    h = json.loads(out)[0]
    assert (h["questions"], h["unanswered"], h["median_first_response_s"]) == (1, 0, 180.0)
    code, out, _ = run("report", "--format", "html")
    assert code == 0 and out.startswith("<!doctype html>")
    assert "<svg" in out and "Lena" in out and "src=" not in out
    code, out, _ = run("report")
    assert code == 0 and out.startswith("# Community report: c1")
    code, _, err = run("leaderboard", "--community", "nope")
    assert code == 1 and "no community 'nope'" in err


def test_one_definition_of_question_and_trend_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scam post with '?' in its link is no question waiting for an answer (as for the
    unanswered rule); the leaderboard and the report give each person the same trend; a
    person seen long before but not last week is 'back', not 'new'."""
    from cockpit.alerts.questions import reads_as_question
    from cockpit.scoring.signals import is_question

    for text in (
        "🎁 FREE NITRO claim: https://dlscord-nitro.gift/claim?ref=1 @everyone",
        "how do I reset my key?",
        "anyone around to help with the SDK",
        "thanks, that worked",
    ):
        assert is_question(text) == reads_as_question(text.strip()), text
    assert not is_question("🎁 FREE NITRO claim: https://dlscord-nitro.gift/claim?ref=1")
    config = tmp_path / "cockpit.toml"
    config.write_text('[cockpit]\ncommunity = "c1"\n')
    now = utcnow() - timedelta(hours=2)

    async def fill() -> None:
        store = await SQLiteStore.open(tmp_path / "t.db")
        rows = [
            act(
                0,
                source_id="old",
                author="Ada",
                author_id="ada",
                ts=now - timedelta(days=40),
                text="an answer from long ago, long enough to count",
            ),
            act(
                0,
                source_id="scam",
                author="Eve",
                author_id="eve",
                ts=now,
                text="FREE NITRO for everyone https://dlscord-nitro.gift/claim?ref=9 @everyone",
            ),
        ]
        for i in range(6):
            rows.append(
                act(
                    0,
                    source_id=f"a{i}",
                    author="Ada",
                    author_id="ada",
                    ts=now - timedelta(minutes=i),
                    text=f"a substantive message {i} here",
                )
            )
            rows.append(
                act(
                    0,
                    source_id=f"b{i}",
                    author="Bo",
                    author_id="bo",
                    ts=now - timedelta(days=9, minutes=i),
                    text=f"last week's words {i} ok",
                )
            )
            rows.append(
                act(
                    0,
                    source_id=f"c{i}",
                    author="Cy",
                    author_id="cy",
                    ts=now - timedelta(days=(0 if i < 3 else 9), minutes=i),
                    text=f"both weeks, message {i} here",
                )
            )
        await store.write(rows)
        await store.close()

    asyncio.run(fill())
    base = ["--config", str(config), "--db", str(tmp_path / "t.db")]
    capsys.readouterr()
    assert main([*base, "leaderboard", "--window", "7d", "--json"]) == 0
    board = {s["name"]: s["trend"] for s in json.loads(capsys.readouterr().out)}
    assert main([*base, "report", "--window", "7d", "--format", "json"]) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert {s["name"]: s["trend"] for s in report["leaderboard"]} == board
    assert board["Ada"] == "back" and board["Eve"] == "new"
    assert report["health"]["unanswered"] == 0  # the scam post is not a question
    assert main([*base, "report", "--window", "7d"]) == 0
    md = capsys.readouterr().out
    assert "questions wait for an answer" not in md
