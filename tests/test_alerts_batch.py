"""The engine's batch path (what makes it fast) gives the answers of the plain, per-text,
per-event way: folding, keyword matching, questions, and every detector over a mixed stream."""

from __future__ import annotations

import random
import re
import sys
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_alerts_engine import MIN, S, ev

from cockpit.alerts.batch import SEP, WHITESPACE_AFTER_NFKC, Folded
from cockpit.alerts.config import DEFAULT_QUESTION, parse_rules
from cockpit.alerts.engine import Engine
from cockpit.alerts.events import Event
from cockpit.alerts.matcher import KeywordMatcher, match_many
from cockpit.alerts.questions import OPENER_FIRST, question_test
from cockpit.model import Kind

# text made of the pieces that matter: words, keywords, case, whitespace of every sort,
# compatibility forms, NUL (the batch's separator), question marks and openers
PIECES = st.sampled_from(
    [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\x85", "\x00", "?", "!",
     "free", "FREE", "ＦＲＥＥ", "nitro", "Nitro", "straße", "STRASSE", "hack", "hacked",
     "how", "How", "anyone", "ACME", "acme", "wallet", "connect", "é", "e\u0301", "_", "x"]
)  # fmt: skip
TEXTS = st.lists(PIECES, max_size=12).map("".join)


def test_the_whitespace_list_is_every_whitespace_nfkc_keeps() -> None:
    kept = "".join(
        c
        for c in map(chr, range(sys.maxunicode + 1))
        if c.isspace() and c != " " and unicodedata.normalize("NFKC", c) == c
    )
    assert kept == WHITESPACE_AFTER_NFKC


@given(st.lists(TEXTS, max_size=8))
def test_a_batch_folds_each_text_as_folding_it_alone(texts: list[str]) -> None:
    alone = [
        " ".join(unicodedata.normalize("NFKC", t.replace(SEP, " ")).casefold().split())
        for t in texts
    ]
    assert Folded(texts).norms() == alone


RULES = parse_rules(
    [
        {"name": "scam", "kind": "keyword", "keywords": ["free nitro", "Straße", "hacked"]},
        {"name": "brand", "kind": "keyword", "keywords": ["ACME"], "case_sensitive": True},
        {"name": "re", "kind": "keyword", "regex": [r"wallet\s+connect", r"^how"]},
        {"name": "part", "kind": "keyword", "keywords": ["hack", "é"], "whole_words": False},
    ]
)
MATCHER = KeywordMatcher(list(enumerate(RULES)))


@given(st.lists(TEXTS, max_size=8))
def test_a_batch_matches_each_text_as_matching_it_alone(texts: list[str]) -> None:
    alone = {i: found for i, t in enumerate(texts) if (found := MATCHER.match(t))}
    assert match_many(MATCHER, Folded(texts)) == alone


def test_matching_examples() -> None:
    texts = ["Get ＦＲＥＥ\n  Nitro now", "no", "x\x00free nitro", "ACME hacked", "how?"]
    assert match_many(MATCHER, Folded(texts)) == {
        0: {0: "free nitro"},
        2: {0: "free nitro"},  # a NUL in a text reads as a space
        3: {0: "hacked", 1: "ACME", 3: "hack"},
        4: {2: "how"},
    }


@settings(max_examples=300)
@given(TEXTS)
def test_the_default_question_test_is_the_default_pattern(text: str) -> None:
    pattern = re.compile(DEFAULT_QUESTION, re.IGNORECASE | re.MULTILINE)
    assert question_test(DEFAULT_QUESTION)(text) == bool(pattern.search(text.strip()))


def test_the_opener_gate_lets_through_every_character_the_regex_could_match() -> None:
    first = re.compile(r"[hwcdia]", re.IGNORECASE)
    missing = [
        hex(c) for c in range(0x110000) if first.match(chr(c)) and chr(c) not in OPENER_FIRST
    ]
    assert missing == []


def test_question_examples() -> None:
    default, custom = question_test(DEFAULT_QUESTION), question_test(r"^help\b")
    assert default("  how do I?  ") and default("hi\nAnyone around") and default("ok?\t\nthanks")
    assert not default("showtime") and not default("? no") and not default("what_ever")
    assert custom("HELP me") and not custom("please help")


ALL_KINDS = [
    {"name": "kw", "kind": "keyword", "keywords": ["free nitro", "scam"], "per": "author"},
    {"name": "flood", "kind": "flood", "mentions": 3, "links": 2},
    {"name": "raid", "kind": "raid", "joins": 4, "window": "30s"},
    {"name": "xp", "kind": "cross_platform", "window": "2m", "min_length": 10},
    {"name": "q", "kind": "unanswered", "after": "3m", "answered_by": "any_message"},
    {"name": "q2", "kind": "unanswered", "after": "2m", "channels": ["c1"]},
    {"name": "vol", "kind": "volume", "min_samples": 2, "min_baseline": 1, "high": 2},
    {"name": "mood", "kind": "sentiment", "min_messages": 3, "window": "2m"},
    {"name": "quiet", "kind": "quiet_core", "top": 3, "min_activities": 3, "quiet_for": "5m"},
]
SAYINGS = ["free nitro here", "how do I log in?", "I hate this, awful", "thanks!", "scam scam",
           "see https://x.example/a and www.y.example", "gm", "same text on every platform"]  # fmt: skip


def mixed_stream(seed: int, n: int) -> list[Event]:
    rng = random.Random(seed)
    out = []
    ts = 0
    for i in range(1, n + 1):
        ts += rng.choice([0, 100, 500, 2 * S, 20 * S, 3 * MIN])
        kind = rng.choice([Kind.MESSAGE] * 6 + [Kind.JOIN, Kind.REACTION])
        if i % 150 < 5:  # now and then a raid
            kind = Kind.JOIN
        author = f"u{rng.randrange(6)}"
        extra: dict[str, Any] = {}
        if rng.random() < 0.2:
            extra["reply_to"] = f"m{rng.randrange(1, i + 1)}"
        if rng.random() < 0.1:
            extra["mentions"] = ("a", "b")
        channel = rng.choice(["c1", "c2"])
        out.append(
            ev(i, ts, rng.choice(SAYINGS) if kind is Kind.MESSAGE else "", kind=kind,
               platform=rng.choice(["discord", "telegram", "slack"]),
               channel=channel, channel_id=channel[1:],
               author_id=author, author=author, is_bot=rng.random() < 0.05, **extra)
        )  # fmt: skip
    return out


def replay(events: list[Event], batch: int) -> list[tuple[Any, ...]]:
    """Feed `batch` events at a time, evaluating after every 12 events (the same instants
    whatever the batch size: each batch size divides 12)."""
    e = Engine(parse_rules(ALL_KINDS), clock=lambda: 0)
    seen = []
    for i in range(0, len(events), batch):
        chunk = events[i : i + batch]
        if batch == 1:
            e.observe(chunk[0])
        else:
            e.observe_many(chunk)
        if (i + len(chunk)) % 12 == 0:
            for a in e.evaluate(chunk[-1].ts):
                seen.append((a.rule, a.state, sorted(a.labels.items()), a.ids, a.summary))
    return seen


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batches_give_the_alerts_of_one_event_at_a_time(seed: int) -> None:
    events = mixed_stream(seed, 600)
    one_by_one = replay([_copy(x) for x in events], 1)
    assert {rule for rule, *_ in one_by_one} >= {"kw", "flood", "raid", "xp", "q", "quiet"}
    assert replay([_copy(x) for x in events], 4) == one_by_one
    assert replay([_copy(x) for x in events], 12) == one_by_one


def _copy(x: Event) -> Event:
    return Event(x.id, x.community, x.platform, x.source_id, x.kind, x.ts, x.channel_id,
                 x.channel, x.author_id, x.author, x.text, x.reply_to, x.thread, x.mentions,
                 x.is_bot, x.handle)  # fmt: skip


def test_flood_one_message_can_trip_a_limit_of_one() -> None:
    e = Engine(parse_rules([{"name": "f", "kind": "flood", "mentions": 1}]), clock=lambda: 0)
    e.observe(ev(1, 0, "hi", mentions=("a",)))
    [a] = e.evaluate(0)
    assert a.summary == "alice on discord: 1 mentions in 10s"


def test_flood_window_survives_an_author_going_quiet_and_coming_back() -> None:
    e = Engine(parse_rules([{"name": "f", "kind": "flood"}]), clock=lambda: 0)
    e.observe_many([ev(1, 0, "spam"), ev(2, 1 * S, "spam")])
    assert e.evaluate(1 * S) == []
    e.observe(ev(3, 12 * S, "spam"))  # the first two are out of the 10 s window
    e.observe(ev(4, 13 * S, "spam"))
    assert e.evaluate(13 * S) == []
    e.observe(ev(5, 14 * S, "SPAM "))
    [a] = e.evaluate(14 * S)
    assert (a.summary, sorted(a.ids)) == ("alice on discord: 3 duplicates in 10s", [3, 4, 5])


def test_cross_platform_finds_a_text_across_the_generation_swap() -> None:
    e = Engine(parse_rules([{"name": "xp", "kind": "cross_platform", "window": "5m"}]))
    text = "Claim your airdrop right now friends"
    e.observe(ev(1, 4 * MIN, text))
    for i in range(2, 8):  # the first one seen is in the older generation by now
        e.observe(ev(i, 4 * MIN + i * 30 * S, f"unrelated chatter number {i}"))
    e.observe(ev(9, 8 * MIN + 59 * S, text, platform="telegram"))
    [a] = e.evaluate(9 * MIN)
    assert sorted(a.ids) == [1, 9]
    e.observe(ev(10, 13 * MIN + 58 * S, text, platform="slack"))  # within 5 min of telegram
    assert e.evaluate(14 * MIN)[0].summary.startswith("2 copies on slack, telegram:")
    e.observe(ev(11, 19 * MIN, text))  # the others are older than 5 min by now
    assert e.evaluate(19 * MIN) == []


def test_cross_platform_min_copies_tells_a_wave_from_people_sharing_a_faq() -> None:
    rule = {"name": "wave", "kind": "cross_platform", "window": "2m", "min_copies": 10}
    e = Engine(parse_rules([rule]))
    faq = "restart the bridge after upgrading, it fixes the sync"
    for i, platform in enumerate(["discord", "telegram", "slack", "discord", "telegram"]):
        e.observe(ev(i + 1, i * 40 * S, faq, platform=platform))  # a handful, over minutes
    assert e.evaluate(4 * MIN) == []
    scam = "free nitro for everyone who joins now https://nitro.example/claim"
    for i in range(9):  # a wave: seconds apart, on two platforms
        e.observe(ev(20 + i, 5 * MIN + i * 2 * S, scam, platform="discord" if i % 3 else "slack"))
    assert [a.rule for a in e.evaluate(5 * MIN + 20 * S)] == []  # 9 copies: not yet
    e.observe(ev(29, 5 * MIN + 20 * S, scam, platform="discord"))
    fired = e.evaluate(5 * MIN + 21 * S)
    assert sorted(a.summary for a in fired) == [
        "10 copies on discord, slack: free nitro for everyone who joins now https://nitro.example/claim",
        "10 copies on discord, slack: https://nitro.example/claim",
    ]
    # copies older than the window do not count toward a new wave
    e2 = Engine(parse_rules([rule]))
    for i in range(12):
        e2.observe(ev(i + 1, i * 3 * MIN, scam, platform="discord" if i % 2 else "slack"))
    assert e2.evaluate(40 * MIN) == []


def test_unanswered_any_message_answers_only_its_channel() -> None:
    rule = {"name": "q", "kind": "unanswered", "after": "5m", "answered_by": "any_message"}
    e = Engine(parse_rules([rule]))
    e.observe(ev(1, 0, "How do I join?", channel_id="1", channel="help"))
    e.observe(ev(2, 0, "Anyone here?", channel_id="2", channel="chat"))
    e.observe(ev(3, 1 * MIN, "me again?", channel_id="2", channel="chat"))  # the asker
    e.observe(ev(4, 2 * MIN, "read the pins", channel_id="1", author_id="u2", author="bo"))
    [a] = e.evaluate(5 * MIN)
    assert (a.labels["channel"], a.ids) == ("chat", [2])
    e.observe(ev(5, 6 * MIN, "hello", channel_id="2", channel="chat", author_id="u3"))
    assert [x.state for x in e.evaluate(6 * MIN)] == ["resolved"]


def test_quiet_core_forgets_what_is_older_than_the_lookback() -> None:
    rule = {"name": "quiet", "kind": "quiet_core", "top": 5, "min_activities": 3,
            "lookback": "10d", "quiet_for": "2d"}  # fmt: skip
    e = Engine(parse_rules([rule]))
    day = 24 * 60 * MIN
    for i in range(3):  # bob: three on day 0, alice: two on day 5 and one late arrival for day 1
        e.observe(ev(i + 1, i * S, "hi", author_id="u2", author="bob"))
    e.observe_many([ev(10, 5 * day, "x"), ev(11, 5 * day + 1, "y"), ev(12, 1 * day, "late")])
    assert sorted(a.labels["author"] for a in e.evaluate(8 * day)) == ["alice", "bob"]
    # day 11: bob's day 0 is beyond the 10 days (0 left); day 12: alice's day 1 too (2 left)
    e.evaluate(11 * day)
    assert [a.labels["author"] for a in e.alerts.values()] == ["alice"]
    e.evaluate(12 * day)
    assert e.alerts == {}
