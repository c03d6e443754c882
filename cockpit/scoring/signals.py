"""What a message reads as: substance, a question; names reduced for matching. Pure and cheap
(the topics a message is about: cockpit.scoring.topics)."""

from __future__ import annotations

import unicodedata

from cockpit.alerts.questions import reads_as_question


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


def compact_name(name: str) -> str:
    """A name reduced for matching identities: no accents, case, spaces or punctuation."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in folded if c.isalnum() and not unicodedata.combining(c))
