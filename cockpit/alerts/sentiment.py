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


def compound(text: str) -> float:
    analyzer, _ = _analyzer()
    return float(analyzer.polarity_scores(text)["compound"])


def is_negative(text: str, below: float) -> bool:
    analyzer, triggers = _analyzer()
    lowered = text.lower()
    if not any(tok in triggers for tok in _WORD.findall(lowered)):
        return False
    return float(analyzer.polarity_scores(text)["compound"]) <= below
