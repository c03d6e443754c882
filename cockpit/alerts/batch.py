"""A commit's events as the rules see them: every text folded once, shared by every rule.

Texts are joined with NUL and normalised in a few C calls for the whole batch (NFKC,
whitespace collapsed, casefolded) instead of per text and per rule: the keyword matcher
scans the joined text, and each message keeps its own folded text (`Event.norm`) and links
(`Event.links`) for the windowed rules (flood duplicates, cross-platform). Events are
selected once per distinct (kinds, scope), so a thousand unscoped rules share one list.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate, repeat
from operator import add

from cockpit.alerts.events import Event
from cockpit.alerts.scope import Scope
from cockpit.model import Kind

SEP = "\x00"  # a starter that composes with nothing: NFKC of a join is the join of NFKCs
# What marks a text whose whitespace needs collapsing, once NFKC has made NBSP, the em and
# ideographic spaces etc. plain spaces (a test checks this list against all of Unicode),
# with the offset of the text's own character in the mark.
WHITESPACE_AFTER_NFKC = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\u1680\u2028\u2029"
_ODD_SPACE = (("  ", 0), (" " + SEP, 0), (SEP + " ", 1), *((c, 0) for c in WHITESPACE_AFTER_NFKC))
# Invisible format characters (Unicode category Cf: zero-width space and joiners, soft hyphen,
# bidi controls, BOM, ...) are dropped before matching, so "fr\u200bee" reads as "free".
_FORMAT = "".join(chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf")
_FORMAT_RE = re.compile("[" + re.escape(_FORMAT) + "]+")
# A confusables skeleton (after UTS #39) for the letters scams borrow: Cyrillic, Greek and
# other lookalikes of lowercase Latin letters (NFKC already folds full-width and math forms).
CONFUSABLES = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "ѕ": "s", "т": "t", "у": "y",
    "х": "x", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ү": "y", "ɡ": "g", "ɑ": "a", "ɩ": "i", "ο": "o",
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    "ω": "w", "ϲ": "c", "ϳ": "j", "ꮪ": "s", "օ": "o", "ս": "u", "ց": "g", "ք": "p", "ı": "i",
}  # fmt: skip
_SKELETON = str.maketrans(CONFUSABLES)
_CONFUSABLE_RE = re.compile("[" + "".join(CONFUSABLES) + "]")


def skeleton(text: str) -> str:
    """Text as matching sees it (NFKC, format characters gone, casefolded, lookalikes made
    Latin); keywords go through the same, so a rule may be written in any script."""
    text = unicodedata.normalize("NFKC", text)
    text = _FORMAT_RE.sub("", text).casefold()
    return text.translate(_SKELETON) if _CONFUSABLE_RE.search(text) else text


_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]]+", re.IGNORECASE)


def links_in(text: str) -> tuple[str, ...]:
    if "://" not in text and "www." not in text:
        return ()
    return tuple(u.rstrip(".,;:!?").casefold() for u in _URL.findall(text))


class Folded:
    """Texts normalised together. `exact` is NFKC with whitespace collapsed (for
    case-sensitive words), `folded` is that casefolded; both hold the texts joined by NUL."""

    __slots__ = ("_ends", "exact", "folded", "texts")

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self._ends: dict[bool, list[int]] = {}
        joined = SEP.join(texts)
        if joined.count(SEP) != len(texts) - 1:  # a NUL inside a text reads as a space
            joined = SEP.join(t.replace(SEP, " ") for t in texts)
        joined = unicodedata.normalize("NFKC", joined)
        if not joined.isascii() and _FORMAT_RE.search(joined):  # C-speed checks: rare
            joined = _FORMAT_RE.sub("", joined)
        self.exact = _collapse(joined)
        folded = self.exact.casefold()  # casefolding never makes or removes whitespace
        if not folded.isascii() and _CONFUSABLE_RE.search(folded):
            folded = folded.translate(_SKELETON)  # one character for one: positions hold
        self.folded = folded

    def norms(self) -> list[str]:
        """Each text folded, in order."""
        return self.folded.split(SEP) if self.texts else []

    def holding(self, marks: Sequence[str]) -> set[int]:
        """The indexes of the texts whose folded form holds one of these marks."""
        return _holding(self.folded, self._ends_of(True), [(m, 0) for m in marks])

    def which(self, folded: bool, position: int) -> int:
        """The index of the text a position of `folded` (or `exact`) falls in."""
        return bisect_right(self._ends_of(folded), position)

    def _ends_of(self, folded: bool) -> list[int]:
        ends = self._ends.get(folded)
        if ends is None:
            joined = self.folded if folded else self.exact
            ends = self._ends[folded] = _ends(joined.split(SEP))
        return ends


def _ends(pieces: list[str]) -> list[int]:
    """Where each piece ends in the pieces joined by SEP (separator included): bisect there."""
    return list(accumulate(map(add, map(len, pieces), repeat(1))))


def _holding(joined: str, ends: list[int], marks: Sequence[tuple[str, int]]) -> set[int]:
    """The pieces of `joined` holding a mark (the character at `offset` of the mark)."""
    found: set[int] = set()
    for mark, offset in marks:
        at = joined.find(mark)
        while at != -1:
            found.add(bisect_right(ends, at + offset))
            at = joined.find(mark, at + 1)
    return found


def _collapse(joined: str) -> str:
    """Whitespace runs as one space, none at either end of a text. Most chat needs nothing:
    C-speed searches find the few texts that do, and only those are split and joined."""
    found = [(mark, offset) for mark, offset in _ODD_SPACE if mark in joined]
    if not found and not joined.startswith(" ") and not joined.endswith(" "):
        return joined
    pieces = joined.split(SEP)
    dirty = {0, len(pieces) - 1} | _holding(joined, _ends(pieces), found)
    for i in dirty:
        pieces[i] = " ".join(pieces[i].split())
    return SEP.join(pieces)


class Batch:
    """The events of one commit, their folded texts, and their selections by kinds and scope."""

    __slots__ = ("_selected", "events", "folded")

    def __init__(self, events: Sequence[Event]) -> None:
        self.events = events
        message = Kind.MESSAGE
        self.folded = folded = Folded([ev.text if ev.kind is message else "" for ev in events])
        norms = folded.norms()
        for ev, norm in zip(events, norms, strict=True):
            ev.norm = norm
        for i in folded.holding(("://", "www.")):  # the few texts with links
            events[i].links = links_in(norms[i])
        self._selected: dict[object, list[Event]] = {}

    def select(self, kinds: frozenset[Kind], scope: Scope | None = None) -> list[Event]:
        """The events of these kinds (in order), within the scope when one is given."""
        key = (kinds, None if scope is None else scope.key)
        found = self._selected.get(key)
        if found is None:
            if scope is None:
                found = [ev for ev in self.events if ev.kind in kinds]
            else:
                found = scope.filter(self.events, kinds)
            self._selected[key] = found
        return found
