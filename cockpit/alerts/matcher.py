"""Every keyword rule at once: one Aho-Corasick pass per message, whatever the number of words.

Text and keywords are compared after NFKC normalisation and casefolding (so "ＳＣＡＭ",
"Scam" and "SCAM" are one word, and "straße" matches "STRASSE"); a case-sensitive rule
uses a second automaton over the NFKC text. Regular expressions are few in practice: a
combined pattern tells whether any of them can match before each is tried on its own.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

from cockpit.alerts.config import KeywordRule


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@dataclass(frozen=True, slots=True)
class _Entry:
    rule: int
    term: str
    whole: bool


class KeywordMatcher:
    """Built once per rule set; `match(text)` gives {rule index: first term matched}."""

    def __init__(self, rules: Sequence[tuple[int, KeywordRule]]) -> None:
        folded: dict[str, list[_Entry]] = {}
        exact: dict[str, list[_Entry]] = {}
        self._regexes: list[tuple[int, re.Pattern[str]]] = []
        for index, rule in rules:
            for word in rule.keywords:
                word = " ".join(word.split())
                key = unicodedata.normalize("NFKC", word)
                table = exact if rule.case_sensitive else folded
                key = key if rule.case_sensitive else key.casefold()
                table.setdefault(key, []).append(_Entry(index, word, rule.whole_words))
            flags = 0 if rule.case_sensitive else re.IGNORECASE
            for pattern in rule.regex:
                self._regexes.append((index, re.compile(pattern, flags)))
        self._phrases = any(" " in k for k in (*folded, *exact))
        self._folded = _automaton(folded)
        self._exact = _automaton(exact)
        self._any_regex: re.Pattern[str] | None = None
        if len(self._regexes) > 1:
            try:
                self._any_regex = re.compile(
                    "|".join(f"(?{'' if r.flags & re.IGNORECASE == 0 else 'i'}:{r.pattern})"
                             for _, r in self._regexes)
                )  # fmt: skip
            except re.error:
                self._any_regex = None  # e.g. a pattern with global inline flags: try each

    @property
    def empty(self) -> bool:
        return self._folded is None and self._exact is None and not self._regexes

    def match(self, text: str) -> dict[int, str]:
        found: dict[int, str] = {}
        if not text:
            return found
        if self._folded is not None or self._exact is not None:
            norm = unicodedata.normalize("NFKC", text)
            if self._phrases:
                norm = " ".join(norm.split())
            if self._folded is not None:
                _scan(self._folded, norm.casefold(), found)
            if self._exact is not None:
                _scan(self._exact, norm, found)
        if self._regexes and (self._any_regex is None or self._any_regex.search(text)):
            for index, pattern in self._regexes:
                if index not in found:
                    m = pattern.search(text)
                    if m:
                        found[index] = m.group(0)[:80]
        return found


def match_many(matcher: KeywordMatcher, texts: Sequence[str]) -> dict[int, dict[int, str]]:
    """Match a batch at once: {position in `texts`: {rule index: term}} for the texts that hit.

    The normalised texts are joined with NUL (never a word character) and scanned in one C
    call, so a batch costs one normalisation per text and nothing per rule."""
    out: dict[int, dict[int, str]] = {}
    if matcher._folded is not None or matcher._exact is not None:
        for automaton, folded in ((matcher._folded, True), (matcher._exact, False)):
            if automaton is None:
                continue
            pieces = []
            starts = []
            at = 0
            for text in texts:
                norm = unicodedata.normalize("NFKC", text)
                if matcher._phrases:
                    norm = " ".join(norm.split())
                if folded:
                    norm = norm.casefold()
                starts.append(at)
                pieces.append(norm)
                at += len(norm) + 1
            joined = "\x00".join(pieces)
            last = len(joined) - 1
            for end, (length, entries) in automaton.iter(joined):
                start = end - length + 1
                bounded = (start == 0 or not _word_char(joined[start - 1])) and (
                    end == last or not _word_char(joined[end + 1])
                )
                which = bisect_right(starts, start) - 1
                found = out.get(which)
                for entry in entries:
                    if (bounded or not entry.whole) and (found is None or entry.rule not in found):
                        if found is None:
                            found = out[which] = {}
                        found[entry.rule] = entry.term
    if matcher._regexes:
        for i, text in enumerate(texts):
            if matcher._any_regex is None or matcher._any_regex.search(text):
                for index, pattern in matcher._regexes:
                    found = out.get(i)
                    if found is None or index not in found:
                        m = pattern.search(text)
                        if m:
                            out.setdefault(i, {})[index] = m.group(0)[:80]
    return out


def _automaton(table: dict[str, list[_Entry]]) -> ahocorasick.Automaton | None:
    if not table:
        return None
    automaton = ahocorasick.Automaton()
    for key, entries in table.items():
        automaton.add_word(key, (len(key), tuple(entries)))
    automaton.make_automaton()
    return automaton


def _scan(automaton: ahocorasick.Automaton, text: str, found: dict[int, str]) -> None:
    last = len(text) - 1
    for end, (length, entries) in automaton.iter(text):
        start = end - length + 1
        bounded = (start == 0 or not _word_char(text[start - 1])) and (
            end == last or not _word_char(text[end + 1])
        )
        for entry in entries:
            if entry.rule not in found and (bounded or not entry.whole):
                found[entry.rule] = entry.term
