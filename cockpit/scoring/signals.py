"""What a message reads as: substance, a question, the terms it is about. Pure and cheap."""

from __future__ import annotations

import re
import unicodedata

from cockpit.alerts.questions import reads_as_question

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
    """Reads as a question, by the same test as the unanswered rule (a line ending in a
    question mark, or opened by an asking word): one definition for the health figures, the
    report and the alerts. A '?' inside a link (a scam's `claim?ref=`) asks nothing."""
    stripped = text.strip()
    if len(stripped) < 8:
        return False
    return reads_as_question(stripped.replace("？", "?").replace("؟", "?"))


def terms(text: str) -> set[str]:
    """The topic words of one message (lower-cased, no links, mentions or stopwords)."""
    text = _URL.sub(" ", unicodedata.normalize("NFKC", text)).casefold()
    return {w.strip("'-") for w in _WORD.findall(text)} - STOPWORDS


def compact_name(name: str) -> str:
    """A name reduced for matching identities: no accents, case, spaces or punctuation."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in folded if c.isalnum() and not unicodedata.combining(c))
