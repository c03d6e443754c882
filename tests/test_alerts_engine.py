"""The rule engine: every rule kind, scope, exclusions, and the pending → firing → resolved lifecycle."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from cockpit.alerts.config import parse_rules
from cockpit.alerts.engine import Engine
from cockpit.alerts.events import Event
from cockpit.alerts.matcher import KeywordMatcher
from cockpit.model import Kind

S = 1000
MIN = 60 * S


def ev(i: int, ts: int, text: str = "", **kw: Any) -> Event:
    base: dict[str, Any] = dict(
        id=i,
        community="c1",
        platform="discord",
        source_id=f"m{i}",
        kind=Kind.MESSAGE,
        ts=ts,
        channel_id="100",
        channel="general",
        author_id="u1",
        author="alice",
        text=text,
    )
    base.update(kw)
    return Event(**base)


def engine(*rules: dict[str, Any], **settings: Any) -> Engine:
    from cockpit.alerts.config import AlertingSettings

    return Engine(parse_rules(list(rules)), AlertingSettings(**settings), clock=lambda: 0)


def states(e: Engine, now: int) -> dict[str, str]:
    e.evaluate(now)
    return {a.rule: a.state for a in e.alerts.values()}


def test_matcher_is_unicode_and_case_aware_with_word_boundaries() -> None:
    rules = parse_rules(
        [
            {"name": "scam", "kind": "keyword", "keywords": ["free nitro", "Straße", "refund"]},
            {"name": "brand", "kind": "keyword", "keywords": ["ACME"], "case_sensitive": True},
            {"name": "re", "kind": "keyword", "regex": [r"wallet\s+connect"]},
            {"name": "part", "kind": "keyword", "keywords": ["hack"], "whole_words": False},
        ]
    )
    m = KeywordMatcher(list(enumerate(rules)))
    assert m.match("Get ＦＲＥＥ   Nitro now") == {0: "free nitro"}
    assert m.match("meet at the STRASSE") == {0: "Straße"}
    assert m.match("refunds please") == {}  # whole words only
    assert m.match("acme is great") == {}
    assert m.match("ACME is great") == {1: "ACME"}
    assert m.match("please WALLET   connect here") == {2: "WALLET   connect"}
    assert m.match("I got hacked") == {3: "hack"}
    assert m.match("") == {}


def test_keyword_rule_scope_bots_staff_and_lifecycle() -> None:
    e = engine(
        {
            "name": "scam",
            "kind": "keyword",
            "keywords": ["hacked"],
            "platforms": ["discord"],
            "channels": ["#general"],
            "exclude_staff": True,
            "for": "1m",
            "hold": "5m",
            "severity": "critical",
            "labels": {"team": "mods"},
        },
        staff=["mira_team", "telegram:42"],
    )
    e.observe(ev(1, 0, "I was HACKED", is_bot=True))
    e.observe(ev(2, 0, "I was hacked", platform="telegram"))
    e.observe(ev(3, 0, "I was hacked", channel="help", channel_id="101"))
    e.observe(ev(4, 0, "I was hacked", handle="Mira_Team"))
    assert e.evaluate(1 * S) == []
    e.observe(ev(5, 2 * S, "my account got hacked!"))
    [new] = e.evaluate(2 * S)
    assert (new.state, new.ids, new.severity) == ("pending", [5], "critical")
    assert new.labels == {
        "team": "mods",
        "community": "c1",
        "platform": "discord",
        "channel": "general",
        "term": "hacked",
        "author_id": "u1",
        "author": "alice",
        "alertname": "scam",
        "severity": "critical",
    }
    assert new.annotations["summary"] == "'hacked' by alice in discord #general"
    assert states(e, 61 * S) == {"scam": "pending"}
    [fired] = e.evaluate(62 * S)
    assert fired.state == "firing" and fired.fired_at == 62 * S
    # the hold keeps it active 5 minutes after the last hit, then it resolves
    assert e.evaluate(2 * S + 5 * MIN - 1) == []
    [gone] = e.evaluate(2 * S + 5 * MIN)
    assert (gone.state, gone.resolved_at) == ("resolved", 2 * S + 5 * MIN)
    assert e.alerts == {}


def test_pending_alert_that_clears_is_dropped_and_keep_firing_for_prevents_flapping() -> None:
    e = engine(
        {"name": "k", "kind": "keyword", "keywords": ["x1"], "for": "10m", "hold": "1m"},
        {"name": "f", "kind": "keyword", "keywords": ["y1"], "hold": "1m", "keep_firing_for": "3m"},
    )
    e.observe(ev(1, 0, "x1 y1"))
    assert states(e, 0) == {"k": "pending", "f": "firing"}
    changed = {a.rule: a.state for a in e.evaluate(MIN)}
    assert changed == {"k": "inactive"}  # pending never fired: dropped, no notification
    assert states(e, 3 * MIN - 1) == {"f": "firing"}  # kept firing 3 min after last seen active
    assert {a.rule: a.state for a in e.evaluate(3 * MIN)} == {"f": "resolved"}


def test_flood_duplicates_mentions_burst_and_links() -> None:
    e = engine({"name": "flood", "kind": "flood"})
    for i in range(2):
        e.observe(ev(i + 1, i * S, "BUY NOW"))
    assert e.evaluate(2 * S) == []
    e.observe(ev(3, 2 * S, "buy now "))  # 3 duplicates within 10 s (case and spaces ignored)
    [a] = e.evaluate(2 * S)
    assert a.summary == "alice on discord: 3 duplicates in 10s"
    assert sorted(a.ids) == [1, 2, 3]
    e2 = engine({"name": "flood", "kind": "flood"})
    e2.observe(ev(1, 0, "hi all", author_id="u2", author="bob", mentions=("a", "b", "c")))
    e2.observe(ev(2, 1 * S, "look", author_id="u2", author="bob", mentions=("d", "e")))
    [m] = e2.evaluate(1 * S)
    assert m.summary == "bob on discord: 5 mentions in 10s"
    e3 = engine({"name": "flood", "kind": "flood", "links": 3})
    for i in range(6):  # 6 different messages in 6 s: no burst yet (7 / 10 s)
        e3.observe(ev(i + 1, i * S, f"msg {i}"))
    assert e3.evaluate(6 * S) == []
    e3.observe(ev(7, 9 * S, "msg 7"))
    assert e3.evaluate(9 * S)[0].summary == "alice on discord: 7 burst in 10s"
    e4 = engine({"name": "flood", "kind": "flood", "links": 3})
    e4.observe(ev(1, 0, "see https://a.example/x and www.b.example"))
    e4.observe(ev(2, 5 * S, "and http://c.example."))
    assert e4.evaluate(5 * S)[0].summary == "alice on discord: 3 links in 10s"


def test_raid_per_community_with_cooldown() -> None:
    e = engine({"name": "raid", "kind": "raid", "joins": 5, "window": "60s", "cooldown": "10m"})
    for i in range(4):
        e.observe(ev(i + 1, i * 10 * S, kind=Kind.JOIN, author_id=f"n{i}"))
    e.observe(ev(9, 30 * S, kind=Kind.JOIN, community="c2", author_id="z"))
    assert e.evaluate(40 * S) == []
    e.observe(ev(5, 45 * S, kind=Kind.JOIN, author_id="n5", platform="telegram"))
    [a] = e.evaluate(45 * S)
    assert a.labels["community"] == "c1"
    assert a.summary == "5 joins in 60s on discord, telegram"
    assert sorted(a.ids) == [1, 2, 3, 4, 5]
    assert e.evaluate(45 * S + 10 * MIN - 1) == []
    assert e.evaluate(45 * S + 10 * MIN)[0].state == "resolved"


def test_cross_platform_same_text_or_link() -> None:
    e = engine({"name": "xp", "kind": "cross_platform", "window": "5m"})
    e.observe(ev(1, 0, "Claim your airdrop at https://scam.example/x now!!"))
    e.observe(ev(2, 1 * S, "totally different words here", platform="slack"))
    assert e.evaluate(1 * S) == []
    e.observe(
        ev(3, 2 * MIN, "claim   your AIRDROP at https://scam.example/x now!!", platform="telegram")
    )
    changed = e.evaluate(2 * MIN)
    assert len(changed) == 2  # the text and the link, one alert each
    assert all(sorted(a.ids) == [1, 3] for a in changed)
    e2 = engine({"name": "xp", "kind": "cross_platform", "window": "5m"})
    e2.observe(ev(1, 0, "Claim your airdrop right now friends"))
    e2.observe(ev(2, 6 * MIN, "Claim your airdrop right now friends", platform="telegram"))
    assert e2.evaluate(6 * MIN) == []  # too far apart


def test_unanswered_question_by_reply_and_thread() -> None:
    e = engine({"name": "q", "kind": "unanswered", "after": "30m"})
    e.observe(ev(1, 0, "How do I reset my password?"))
    e.observe(ev(2, 1 * MIN, "Does anyone know the docs link?", channel="help", channel_id="101"))
    e.observe(ev(3, 2 * MIN, "me too, how?", reply_to="m1"))  # same author: not an answer
    e.observe(ev(4, 3 * MIN, "see the docs", reply_to="m2", author_id="u9", author="bo"))
    assert e.evaluate(30 * MIN - 1) == []
    [a] = e.evaluate(30 * MIN)
    assert a.labels["channel"] == "general" and a.ids == [1]
    assert a.summary == "1 question unanswered for over 30 min in discord #general"
    e.observe(ev(5, 40 * MIN, "settings > reset", thread="m1", author_id="u9", author="bo"))
    assert [x.state for x in e.evaluate(40 * MIN)] == ["resolved"]


def test_volume_against_the_usual_for_that_hour_of_week() -> None:
    e = engine({"name": "vol", "kind": "volume", "min_samples": 3, "high": 3, "min_baseline": 1})
    week = 7 * 24 * 60 * MIN
    n = 0
    for w in range(3):  # three weeks: 2 per minute in minute 0 and 1 of that hour
        for minute in range(2):
            for k in range(2):
                n += 1
                e.observe(ev(n, w * week + minute * MIN + k * S, kind=Kind.REACTION))
    e.evaluate(3 * week - 10 * MIN)
    assert e.alerts == {}
    for k in range(9):
        n += 1
        e.observe(ev(n, 3 * week + k * S, kind=Kind.JOIN))
    e.observe(ev(n + 1, 3 * week + MIN, "next minute"))
    changed = e.evaluate(3 * week + MIN)
    assert [(a.labels["direction"], a.value) for a in changed] == [("high", 9)]


def test_sentiment_share_of_negative_messages() -> None:
    e = engine({"name": "mood", "kind": "sentiment", "min_messages": 4, "threshold": 0.5})
    texts = [
        "I love this",
        "this update is terrible and I hate it",
        "awful, broken, useless garbage",
        "great job team",
    ]
    for i, t in enumerate(texts):
        e.observe(ev(i + 1, i * S, t))
    assert states(e, 4 * S) == {"mood": "firing"}
    assert e.alerts[next(iter(e.alerts))].ids == [2, 3]
    e.observe(ev(5, 5 * S, "thanks, works now"))
    assert states(e, 5 * S) == {}


def test_quiet_core_member() -> None:
    e = engine(
        {"name": "quiet", "kind": "quiet_core", "top": 1, "min_activities": 3, "quiet_for": "14d"}
    )
    day = 24 * 60 * MIN
    for i in range(5):
        e.observe(ev(i + 1, i * day, "hi"))
    for i in range(3):
        e.observe(ev(10 + i, i * day, "yo", author_id="u2", author="bob"))
    e.observe(ev(20, 15 * day, "back", author_id="u2", author="bob"))
    assert e.evaluate(18 * day - 1) == []
    [a] = e.evaluate(18 * day)  # alice (most active) was last seen on day 4
    assert a.labels["author"] == "alice" and a.value == 14
    assert a.summary == "alice (discord): 5 activities in 90 days, silent for 14 days"
    e.observe(ev(30, 19 * day + 1, "I'm back"))
    assert [x.state for x in e.evaluate(19 * day + MIN)] == ["resolved"]


def test_forget_clears_evidence_after_manual_resolve() -> None:
    e = engine({"name": "k", "kind": "keyword", "keywords": ["scam"]})
    e.observe(ev(1, 0, "scam"))
    [a] = e.evaluate(0)
    e.forget(a.fingerprint)
    assert e.evaluate(1 * S) == []
    e.observe(ev(2, 2 * S, "scam again"))
    assert [x.state for x in e.evaluate(2 * S)] == ["firing"]


def test_every_rule_kind_has_a_detector() -> None:
    """The rule union in cockpit.alerts.config is the one list of kinds; a kind without a
    detector (or a detector for no kind) is caught here, not by a user's config."""
    from cockpit.alerts.config import RULE_CLASSES, RULE_KINDS
    from cockpit.alerts.detector_kinds import DETECTORS

    assert set(DETECTORS) == set(RULE_CLASSES)
    assert len(set(RULE_KINDS)) == len(RULE_CLASSES)


def test_a_keyword_alert_is_about_one_trigger_and_stays_so() -> None:
    """'refund' by A and 'airdrop' by B in one channel are two alerts: more posts never turn
    one into the other, so acking the false positive cannot ack the real scam."""
    e = engine({"name": "scam", "kind": "keyword", "keywords": ["refund", "airdrop"]})
    e.observe(ev(1, 0, "do I get a refund?", author_id="a1", author="ann"))
    [first] = e.evaluate(0)
    e.observe(ev(2, 1 * S, "airdrop live, claim now", author_id="b2", author="bob"))
    e.observe(ev(3, 2 * S, "refund please", author_id="a1", author="ann"))
    e.evaluate(2 * S)
    by_fp = {a.fingerprint: a for a in e.alerts.values()}
    assert len(by_fp) == 2
    assert by_fp[first.fingerprint].summary == "'refund' by ann in discord #general"
    assert by_fp[first.fingerprint].ids == [1, 3]
    other = next(a for fp, a in by_fp.items() if fp != first.fingerprint)
    assert (other.summary, other.ids) == ("'airdrop' by bob in discord #general", [2])
    assert (other.labels["term"], other.labels["author_id"]) == ("airdrop", "b2")


SHIPPED = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("where", ["cockpit.toml", "cockpit/demo.toml"])
def test_shipped_scam_rule_pages_scams_not_support_questions(where: str) -> None:
    """Billing and account questions hold the words but no lure: nobody is woken for them."""
    raw = tomllib.loads((SHIPPED / where).read_text(encoding="utf-8"))
    rule = next(r for r in raw["rules"] if r["name"] == "scam-words")
    quiet = [
        "do I get a refund?",
        "if I downgrade mid-month do I get a refund?",
        "I think my account got hacked, what should I do?",
        "is the airdrop real? never share your wallet with anyone",
        "refund policy is here: https://docs.example.com/billing#refund",
        "how do I claim your free trial thing from the docs?",
    ]
    loud = [
        "🎁 FREE NITRO giveaway, claim: https://dlscord-nitro.gift/x",
        "airdrop is live, connect your wallet to claim 500 tokens",
        "refund desk here, DM me your order id and I will refund you",
        "send 0.1 ETH to 0x52908400098527886E0F7030069857D2E4169EE7 for your airdrop",
        "giveaway! message me on telegram t.me/fake_support",
    ]
    for i, text in enumerate(quiet):
        e = engine(rule)
        e.observe(ev(i + 1, 0, text))
        assert e.evaluate(0) == [], text
    for i, text in enumerate(loud):
        e = engine(rule)
        e.observe(ev(i + 1, 0, text))
        [a] = e.evaluate(0)
        assert a.severity == "critical" and a.annotations.get("runbook"), text


def test_new_account_is_a_scam_cue_where_the_platform_says_how_old_it_is() -> None:
    """A Discord id carries the account's creation time: a day-old account posting 'refund'
    is a cue, a years-old one asking the same is not."""
    rule = {"name": "s", "kind": "keyword", "keywords": ["refund"], "context": ["new_account"]}
    now = 1_764_000_000_000  # Nov 2025
    young = str((now - 86_400_000 - 1_420_070_400_000) << 22)
    old = str((now - 3 * 365 * 86_400_000 - 1_420_070_400_000) << 22)
    e = engine(rule)
    e.observe(ev(1, now, "refund here", author_id=old))
    assert e.evaluate(now) == []
    e.observe(ev(2, now, "refund here", author_id=young))
    [a] = e.evaluate(now)
    assert a.annotations["account_age"] == "24h"


def test_keywords_survive_invisible_characters_lookalikes_and_cjk() -> None:
    """Evasions: a zero-width space or soft hyphen inside a word, a Cyrillic 'е' in 'free';
    and CJK, written without spaces, where a word has no boundary to stand between."""
    [rule] = parse_rules(
        [{"name": "scam", "kind": "keyword", "keywords": ["free nitro", "airdrop", "詐欺", "scam"]}]
    )
    m = KeywordMatcher([(0, rule)])
    assert m.match("fr\u200bee nitro inside") == {0: "free nitro"}
    assert m.match("air\u00addrop live") == {0: "airdrop"}
    assert m.match("fr\u0435e nitr\u043e") == {0: "free nitro"}  # Cyrillic е and о
    assert m.match("FRΕΕ NΙΤRΟ") == {0: "free nitro"}  # Greek capitals
    assert m.match("これは詐欺です") == {0: "詐欺"}
    assert m.match("scammer and scamp") == {}  # Latin words keep their boundaries
    assert m.match("这不是诈骗") == {}
    # a rule written with a lookalike matches plain text too
    [odd] = parse_rules([{"name": "o", "kind": "keyword", "keywords": ["gіveaway"]}])
    assert KeywordMatcher([(0, odd)]).match("GIVEAWAY time") == {0: "gіveaway"}
