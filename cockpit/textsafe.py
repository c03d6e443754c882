"""Text from the internet is untrusted: make it inert before it reaches a terminal.

Control characters, escape sequences, bidi overrides and zero-width characters are shown
as visible `\\uXXXX` / `\\xNN` escapes. Rich markup needs no escaping here: the display
layers build `rich.text.Text` objects (never parse markup) from what this returns.
"""

from __future__ import annotations

import re

_INVISIBLE = (
    "\u0000-\u0008\u000b-\u001f\u007f-\u009f"  # C0 (not \t \n), DEL, C1
    "\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
)
# Joiners are legitimate inside emoji sequences (ZWJ) and words (ZWNJ in Persian, Indic
# scripts); elsewhere they only hide things.
_EMOJI = "\u2600-\u27bf\ufe0f\U0001f000-\U0001faff"
_STRAY_JOINER = f"(?<![{_EMOJI}])\u200d|\u200d(?![{_EMOJI}])|(?<!\\w)\u200c|\u200c(?!\\w)"
_UNSAFE = re.compile(f"[{_INVISIBLE}]|{_STRAY_JOINER}")
_UNSAFE_LINE = re.compile(f"[{_INVISIBLE}\t\n]|{_STRAY_JOINER}")


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch == "\n":
        return " ⏎ "
    if ch == "\t":
        return " "
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str) -> str:
    """Multi-line text with every invisible or controlling character made visible."""
    return _UNSAFE.sub(_escape, text)


def inert_line(text: str) -> str:
    """One line: as `inert`, with newlines shown as ⏎ and tabs as spaces."""
    return _UNSAFE_LINE.sub(_escape, text)
