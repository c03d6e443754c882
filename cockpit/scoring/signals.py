"""What a message reads as: substance, a question, the terms it is about. Pure and cheap."""

from __future__ import annotations

import re
import unicodedata

_QUESTION_MARKS = ("?", "？", "؟", "¿")
_ASKING = re.compile(
    r"^\s*(?:how|what|why|when|where|who|which|anyone|anybody|does|do|is|are|can|could|"
    r"should|would|will|has|have|any idea|help)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_][\w'-]{2,}", re.UNICODE)
_URL = re.compile(r"https?://\S+|<[^>]*>|[@#]\w+")
STOPWORDS = frozenset(
    """
    the and for you are but not with this that have from they will what when your can just
    was were has had our out all any get got one two been its it's there their them then than
    who why how where which would could should about into over also more some like here very
    does did doing done too yes yeah okay thanks thank please hey hello anyone someone know
    think good great really still need want make sure see let lol gonna today tomorrow time
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def substantive(text: str, min_length: int) -> bool:
    """Long enough to carry something: flooding 'gm' or emoji does not climb the board."""
    return len(text.strip()) >= min_length


def is_question(text: str) -> bool:
    """Reads as a question: a question mark, or a sentence opened by an asking word."""
    stripped = text.strip()
    if len(stripped) < 8:
        return False
    if any(mark in stripped for mark in _QUESTION_MARKS):
        return True
    return bool(_ASKING.match(stripped)) and len(stripped.split()) >= 4


def terms(text: str) -> set[str]:
    """The topic words of one message (lower-cased, no links, mentions or stopwords)."""
    text = _URL.sub(" ", unicodedata.normalize("NFKC", text)).casefold()
    return {w.strip("'-") for w in _WORD.findall(text)} - STOPWORDS


def compact_name(name: str) -> str:
    """A name reduced for matching identities: no accents, case, spaces or punctuation."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in folded if c.isalnum() and not unicodedata.combining(c))
