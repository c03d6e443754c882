"""What reads as a question: the unanswered rule's `question` pattern, made a test on a text.

The pattern is searched (case-insensitive, multi-line) in the stripped text. The default
pattern costs a regex scan of every message (~1 µs, the unanswered rule's main cost), so
it is answered by string methods that give the same answer (a test holds them to it):
a line ending in "?", or a line opening with one of its words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from cockpit.alerts.config import DEFAULT_QUESTION

_OPENERS = re.compile(
    r"(how|what|why|when|where|who|which|can|could|does|do|is|are|anyone|any)\b", re.IGNORECASE
)


# Every character that can open one of the words under IGNORECASE (the dotted and dotless
# Turkish i included; a test checks all of Unicode): anything else skips the regex.
OPENER_FIRST = frozenset("hwcdiaHWCDIA\u0130\u0131")


def _default(text: str) -> bool:
    s = text.strip()
    if "\n" not in s:
        return s.endswith("?") or (s[:1] in OPENER_FIRST and _OPENERS.match(s) is not None)
    return any(
        line.rstrip().endswith("?") or _OPENERS.match(line) is not None for line in s.split("\n")
    )


def question_test(pattern: str) -> Callable[[str], bool]:
    if pattern == DEFAULT_QUESTION:
        return _default
    search = re.compile(pattern, re.IGNORECASE | re.MULTILINE).search
    return lambda text: search(text.strip()) is not None


def reads_as_question(text: str) -> bool:
    """The default question test (what every figure that counts questions uses)."""
    return _default(text)
