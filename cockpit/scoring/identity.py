"""Link suggestions: identities on different platforms that may be one person, with a
confidence, for an operator to accept (`members link`) or reject; never merged silently."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from cockpit.scoring.signals import compact_name

SAME_HANDLE, SAME_NAME, SIMILAR = 0.9, 0.75, 0.5


@dataclass(frozen=True, slots=True)
class Identity:
    id: int
    platform: str
    handle: str | None
    name: str
    person_id: int | None
    activities: int


@dataclass(frozen=True, slots=True)
class Suggestion:
    a: Identity
    b: Identity
    confidence: float
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a.id,
            "b": self.b.id,
            "confidence": round(self.confidence, 2),
            "reason": self.reason,
            "a_platform": self.a.platform,
            "b_platform": self.b.platform,
            "a_name": self.a.name,
            "b_name": self.b.name,
            "a_handle": self.a.handle,
            "b_handle": self.b.handle,
        }


def _keys(i: Identity) -> list[str]:
    keys = [compact_name(i.name)]
    if i.handle:
        keys.append(compact_name(i.handle))
    return [k for k in keys if len(k) >= 4]


def suggest(
    identities: Iterable[Identity],
    rejected: set[tuple[int, int]] | None = None,
    min_confidence: float = SIMILAR,
    limit: int = 50,
) -> list[Suggestion]:
    """Pairs on different platforms, not linked yet and not rejected, most likely first.

    Same handle beats same display name beats similar names (a handle or a name close to the
    other's, compared without accents, case or punctuation). Names shared by many identities
    (common names) lower the confidence, since they say less.
    """
    rejected = rejected or set()
    people = [i for i in identities if i.activities > 0]
    by_key: dict[str, list[Identity]] = {}
    for i in people:
        for k in set(_keys(i)):
            by_key.setdefault(k, []).append(i)
    best: dict[tuple[int, int], Suggestion] = {}

    def offer(a: Identity, b: Identity, confidence: float, reason: str) -> None:
        if a.platform == b.platform or (a.person_id is not None and a.person_id == b.person_id):
            return
        pair = (min(a.id, b.id), max(a.id, b.id))
        if pair in rejected or confidence < min_confidence:
            return
        lo, hi = (a, b) if a.id < b.id else (b, a)
        if pair not in best or best[pair].confidence < confidence:
            best[pair] = Suggestion(lo, hi, confidence, reason)

    for group in by_key.values():
        if len(group) > 20:
            continue  # a very common name links nobody
        crowd = 1.0 if len(group) <= 2 else 0.9
        for x, a in enumerate(group):
            for b in group[x + 1 :]:
                if a.handle and b.handle and a.handle.casefold() == b.handle.casefold():
                    na, nb = compact_name(a.name), compact_name(b.name)
                    if na == nb or SequenceMatcher(None, na, nb).ratio() >= 0.8:
                        offer(a, b, SAME_HANDLE, "same handle and name")
                    else:
                        offer(a, b, SIMILAR + 0.1, "same handle, different names")
                elif a.name.casefold() == b.name.casefold():
                    offer(a, b, SAME_NAME * crowd, "same display name")
                else:
                    offer(a, b, (SAME_NAME - 0.05) * crowd, "same name, written differently")
    # similar names: compared within blocks sharing a first three letters
    blocks: dict[str, list[tuple[str, Identity]]] = {}
    for i in people:
        for k in set(_keys(i)):
            blocks.setdefault(k[:3], []).append((k, i))
    for block in blocks.values():
        if len(block) > 200:
            continue
        for x, (ka, a) in enumerate(block):
            for kb, b in block[x + 1 :]:
                if ka == kb or a.platform == b.platform:
                    continue
                ratio = SequenceMatcher(None, ka, kb).ratio()
                if ratio >= 0.85:
                    offer(a, b, SIMILAR + (ratio - 0.85) * 0.6, "similar names")
    found = sorted(
        best.values(), key=lambda s: (-s.confidence, -(s.a.activities + s.b.activities), s.a.id)
    )
    return found[:limit]


def identities_from_rows(rows: Sequence[Sequence[Any]]) -> list[Identity]:
    return [Identity(int(r[0]), r[1], r[2], r[3], r[4], int(r[5])) for r in rows]
