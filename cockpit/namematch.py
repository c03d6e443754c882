"""Finding a member by what an operator types: forgiving about case, accents, order of words
and how much of a name is typed (`kenji`, `schafer`, `Lena S`, `@lenaschaefer`, `#12`, `1001`).

Pure functions over `MemberRow`s; the cockpit's "Jump to member" uses them on the members it
has read, the store's exact lookups cover the rest.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from cockpit.store.base import MemberRow

# letters NFKD does not decompose, and the German spellings of umlauts (`Schaefer`)
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe", "ß": "ss", "þ": "th"})
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
_WORD = re.compile(r"\w+")

EXACT = 1.0
PREFIX = 0.9  # every typed word starts a word of the name, handle or id
CONTAINS = 0.7  # every typed word occurs inside one
SCATTERED = 0.4  # the letters occur in order (`lnschf`)


def fold(text: str, *, umlauts: bool = False) -> str:
    """Lower case without accents: `Schäfer` → `schafer` (`schaefer` with `umlauts`)."""
    text = text.casefold()
    if umlauts:
        text = text.translate(_UMLAUTS)
    text = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(c for c in text if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class Match:
    member: MemberRow
    score: float


def _fields(m: MemberRow) -> list[str]:
    raw = [m.display_name, m.handle or "", m.platform_user_id]
    out: list[str] = []
    for value in raw:
        for umlauts in (False, True):
            folded = fold(value, umlauts=umlauts)
            if folded and folded not in out:
                out.append(folded)
    return out


def _subsequence(needle: str, hay: str) -> bool:
    it = iter(hay)
    return all(c in it for c in needle)


def score(query: str, m: MemberRow) -> float:
    """How well `query` names `m`: 0 for not at all, up to `EXACT`."""
    q = query.strip()
    if not q:
        return 0.0
    if q.startswith("#") and q[1:].isdigit():
        return EXACT if int(q[1:]) == m.id else 0.0
    q = fold(q.lstrip("@"))
    fields = _fields(m)
    if q in fields or q == str(m.id):
        return EXACT
    words = _WORD.findall(q)
    if not words:
        return 0.0
    starts = [w for f in fields for w in _WORD.findall(f)] + fields
    if all(any(s.startswith(w) for s in starts) for w in words):
        return PREFIX
    if all(any(w in f for f in fields) for w in words):
        return CONTAINS
    squeezed = "".join(words)
    if len(squeezed) >= 3 and any(_subsequence(squeezed, f) for f in fields):
        return SCATTERED
    return 0.0


def rank(query: str, members: Iterable[MemberRow], limit: int = 50) -> list[Match]:
    """The members `query` names, best first (then the most active)."""
    found = [Match(m, s) for m in members if (s := score(query, m)) > 0]
    found.sort(key=lambda x: (-x.score, -x.member.activity_count, x.member.id))
    return found[:limit]
