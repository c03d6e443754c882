"""Every keyword rule at once: one Aho-Corasick pass per batch, whatever the number of words.

Text and keywords are compared after NFKC normalisation, whitespace collapsing and
casefolding, with invisible format characters dropped and lookalike letters (Cyrillic "е")
read as Latin (so "ＳＣＡＭ", "Scam" and "SCAM" are one word, "straße" matches "STRASSE" and
"free   nitro" matches "free nitro"); a case-sensitive rule uses a second automaton over the
NFKC text. The batch (cockpit/alerts/batch.py) does the folding, for every rule at once. Regular expressions are few in practice: a
combined pattern tells whether any of them can match before each is tried on its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

from cockpit.alerts.batch import SEP, Folded, skeleton
from cockpit.alerts.config import KeywordRule


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


# Scripts written without spaces between words: no word boundary is required next to their
# characters (詐欺 matches in これは詐欺です). Hiragana, Katakana, CJK ideographs, Thai, Lao,
# Khmer, Myanmar; Hangul is written with spaces and keeps its boundaries.
_UNSPACED = (
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x2E80, 0x2FDF), (0x3040, 0x30FF),
    (0x3100, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F),
    (0x20000, 0x3FFFF),
)  # fmt: skip


def unspaced(ch: str) -> bool:
    """A character of a script that puts no spaces between words."""
    o = ord(ch)
    return o >= 0x0E00 and any(lo <= o <= hi for lo, hi in _UNSPACED)


def _edge(outside: str, inside: str) -> bool:
    """A word may start or end between these two characters."""
    return not _word_char(outside) or unspaced(outside) or unspaced(inside)


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
                word = " ".join(word.replace(SEP, " ").split())  # NUL separates texts
                key = unicodedata.normalize("NFKC", word)
                table = exact if rule.case_sensitive else folded
                key = key if rule.case_sensitive else skeleton(key)
                table.setdefault(key, []).append(_Entry(index, word, rule.whole_words))
            flags = 0 if rule.case_sensitive else re.IGNORECASE
            for pattern in rule.regex:
                self._regexes.append((index, re.compile(pattern, flags)))
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
        return match_many(self, Folded([text])).get(0, {})


def match_many(matcher: KeywordMatcher, batch: Folded) -> dict[int, dict[int, str]]:
    """Match a batch at once: {position in the batch: {rule index: term}} for the texts that hit.

    The automatons scan the batch's joined texts (NUL, never a word character, between
    them) in one C call each: a batch costs nothing per text and nothing per rule."""
    out: dict[int, dict[int, str]] = {}
    if matcher._folded is not None:
        _scan(matcher._folded, batch, True, out)
    if matcher._exact is not None:
        _scan(matcher._exact, batch, False, out)
    if matcher._regexes:
        for i, text in enumerate(batch.texts):
            if text and (matcher._any_regex is None or matcher._any_regex.search(text)):
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


def _scan(
    automaton: ahocorasick.Automaton, batch: Folded, folded: bool, out: dict[int, dict[int, str]]
) -> None:
    joined = batch.folded if folded else batch.exact
    last = len(joined) - 1
    for end, (length, entries) in automaton.iter(joined):
        start = end - length + 1
        bounded = (start == 0 or _edge(joined[start - 1], joined[start])) and (
            end == last or _edge(joined[end + 1], joined[end])
        )
        found: dict[int, str] | None = None
        for entry in entries:
            if bounded or not entry.whole:
                if found is None:
                    found = out.setdefault(batch.which(folded, start), {})
                if entry.rule not in found:
                    found[entry.rule] = entry.term
