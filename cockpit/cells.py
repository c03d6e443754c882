"""Text measured in terminal cells, not code points: a CJK character takes two cells, a
combining mark none. CLI tables pad and cut with these so their columns stay aligned, and a
cut name ends in an ellipsis so it does not read as the whole name."""

from __future__ import annotations

from wcwidth import wcswidth, wcwidth

ELLIPSIS = "…"


def cells(text: str) -> int:
    """How many terminal cells the text takes (control characters count as none)."""
    width = wcswidth(text)
    if width >= 0:
        return int(width)
    return sum(max(0, wcwidth(ch)) for ch in text)


def cut(text: str, width: int) -> str:
    """At most `width` cells; a longer text keeps its head and ends with an ellipsis."""
    if cells(text) <= width:
        return text
    if width <= 0:
        return ""
    out, used = [], 0
    for ch in text:
        w = max(0, wcwidth(ch))
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + ELLIPSIS


def fit(text: str, width: int, align: str = "<") -> str:
    """Exactly `width` cells: cut (with an ellipsis) or padded with spaces."""
    text = cut(text, width)
    pad = " " * max(0, width - cells(text))
    return pad + text if align == ">" else text + pad
