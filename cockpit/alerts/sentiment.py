"""Is a message negative? VADER's lexicon (offline, from PyPI), behind a cheap pre-check.

VADER costs ~80 µs a message. A message can only score negative if it holds a word of
negative valence or a negation (which flips a positive word), so messages with neither
skip the analyser: most chat does, and the answer is the same.
"""

from __future__ import annotations

import re
from functools import lru_cache

from vaderSentiment.vaderSentiment import NEGATE, SentimentIntensityAnalyzer

_WORD = re.compile(r"[\w']+|[:;=][-']?[()\[\]dpDP/\\|]")


@lru_cache(maxsize=1)
def _analyzer() -> tuple[SentimentIntensityAnalyzer, frozenset[str]]:
    analyzer = SentimentIntensityAnalyzer()
    triggers = {word for word, valence in analyzer.lexicon.items() if valence < 0}
    triggers.update(NEGATE)
    triggers.update(w.replace("'", "") for w in NEGATE)
    return analyzer, frozenset(triggers)


# scores by text: chat repeats itself ("thanks!", "+1", a spam wave), and a backtest may
# fill it ahead from other processes (`score_many`, `remember`)
_SCORES: dict[str, float] = {}
_SCORES_MAX = 200_000
# texts the pre-check cleared (no negative word, no negation), so a backtest that sorted a
# page out ahead does not read each text's words a second time
_CLEAR: set[str] = set()


def compound(text: str) -> float:
    score = _SCORES.get(text)
    if score is None:
        analyzer, _ = _analyzer()
        score = float(analyzer.polarity_scores(text)["compound"])
        if len(_SCORES) >= _SCORES_MAX:
            _SCORES.clear()  # bounded: a cheap reset beats an LRU's bookkeeping per message
        _SCORES[text] = score
    return score


def may_be_negative(text: str) -> bool:
    """The cheap pre-check: a word of negative valence or a negation in it."""
    _, triggers = _analyzer()
    return not triggers.isdisjoint(_WORD.findall(text.lower()))


def unscored(texts: list[str]) -> list[str]:
    """Of these texts, the distinct ones that would need the analyser and are not scored."""
    if len(_CLEAR) + len(texts) > _SCORES_MAX:
        _CLEAR.clear()
    out = []
    for t in dict.fromkeys(texts):
        if t in _SCORES or t in _CLEAR:
            continue
        if may_be_negative(t):
            out.append(t)
        else:
            _CLEAR.add(t)
    return out


def score_many(texts: list[str]) -> list[float]:
    """Scores of many texts (run in a worker process by a backtest)."""
    analyzer, _ = _analyzer()
    return [float(analyzer.polarity_scores(t)["compound"]) for t in texts]


def remember(texts: list[str], scores: list[float]) -> None:
    if len(_SCORES) + len(texts) > _SCORES_MAX:
        _SCORES.clear()
    _SCORES.update(zip(texts, scores, strict=True))


def is_negative(text: str, below: float) -> bool:
    score = _SCORES.get(text)
    if score is not None:
        return score <= below
    if text in _CLEAR or not may_be_negative(text):
        return False
    return compound(text) <= below
