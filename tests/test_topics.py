"""Topics in the languages a global community writes: per-language stop words and
discourse markers, phrases, Japanese segmented by Janome and Chinese in character pairs,
rising by a significance test (not a raw count), one topic per set of messages, with
examples and channels; hostile and empty input reads as nothing."""

from __future__ import annotations

import pytest

from cockpit.scoring.topics import Said, g2, language_of, message_terms, rising_topics


@pytest.mark.parametrize(
    ("text", "kept", "dropped"),
    [
        ("fwiw honestly ngl the dark mode toggle is broken", {"dark mode toggle"}, {"fwiw", "ngl"}),
        ("Então, tipo, o modo escuro não funciona né", {"modo escuro"}, {"então", "tipo", "né"}),
        ("wkwk gimana sih cara ekspor data ke csv", {"ekspor data", "csv"}, {"wkwk", "sih"}),
        ("Das Update ist halt eigentlich ziemlich langsam", {"update"}, {"halt", "eigentlich"}),
        ("Pues bueno, el modo oscuro no funciona en Android", {"modo oscuro"}, {"pues", "bueno"}),
        ("Du coup le mode sombre plante sur Android, bref", {"mode sombre"}, {"bref", "coup"}),
        ("Короче, тёмная тема не работает на андроиде", {"тёмная тема"}, {"короче"}),
    ],
)
def test_stop_words_and_markers_per_language(text: str, kept: set[str], dropped: set[str]) -> None:
    terms = message_terms(text)
    assert kept <= terms, terms
    assert not dropped & terms, terms


def test_the_language_is_read_per_message() -> None:
    assert language_of(["o", "modo", "escuro", "não", "funciona"]) == "pt"
    assert language_of(["bagaimana", "cara", "ekspor", "data"]) == "id"
    assert language_of(["тёмная", "тема"]) == "ru"
    assert language_of([]) == "en"


def test_japanese_is_segmented_and_chinese_read_in_pairs() -> None:
    ja = message_terms("APIキーの再発行ってどこでできますか？")
    assert "キー" in ja and "api" in ja and "api キー" in ja  # nouns, and the phrase they make
    assert not {"の", "って", "どこ", "ます"} & ja  # particles, pronouns, auxiliaries
    zh = message_terms("导出数据失败")
    assert {"导出", "数据", "失败"} <= zh


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "🔥🔥🔥",
        "[/] [/bold] [link=file:///etc/passwd]open[/link] \u200f\u200e",
        "<@123456789> <#987654> :tada: @everyone https://example.org/a?b=c",
        "x" * 100_000,
        "\x00\x01\x02 \ud7ff",
    ],
    ids=["empty", "blank", "emoji", "markup", "mentions", "huge", "control"],
)
def test_hostile_or_empty_text_reads_as_nothing(text: str) -> None:
    terms = message_terms(text)
    assert not {"bold", "link", "etc", "passwd", "everyone", "tada", "example"} & terms
    assert all(len(t) < 300 for t in terms)


def said(text: str, channel: str = "general", n: int = 1) -> list[Said]:
    return [Said(text, channel, "discord") for _ in range(n)]


def week(i: int) -> list[Said]:
    """Background chatter that is the same every week."""
    lines = ["the release notes look fine", "docker compose works here", "see you at the call"]
    return [Said(f"{lines[k % 3]} number {k}", "general", "discord") for k in range(i)]


def test_a_word_common_every_week_does_not_rise_a_new_phrase_does() -> None:
    now = week(600) + said("export to csv fails since the update", "help", 25)
    before = week(600)
    topics = rising_topics(now, before)
    assert [t.term for t in topics] == ["export to csv fails"] or topics[0].term.startswith(
        "csv"
    ), [t.term for t in topics]
    (t,) = topics
    assert t.channels == ("#help on discord",) and t.last_week == 0 and t.this_week == 25
    assert t.examples == ("export to csv fails since the update",)
    assert t.g2 >= 10.83
    assert "release notes" not in {x.term for x in topics}


def test_a_small_raw_rise_is_not_significant() -> None:
    # 6 mentions after 3, in weeks of 600 messages: more, but not a signal
    now = week(600) + said("the webhook retries twice", n=6)
    before = week(600) + said("the webhook retries twice", n=3)
    assert rising_topics(now, before) == []
    assert g2(6, 3, 606, 603) < 10.83 < g2(40, 3, 640, 603)


def test_words_of_one_message_repeated_are_one_topic_with_the_rest_related() -> None:
    post = "demo v2.7.1 is out: audit logs, faster sync and forty bug fixes"
    now = week(400) + said(post, "announcements", 12)
    topics = rising_topics(now, week(400))
    assert len(topics) == 1, [t.term for t in topics]
    assert {"audit logs", "faster sync", "bug fixes"} & ({topics[0].term} | set(topics[0].related))


def test_no_window_before_means_nothing_rises() -> None:
    assert rising_topics(said("brand new topic here", n=50), []) == []
    assert rising_topics([], week(10)) == []
