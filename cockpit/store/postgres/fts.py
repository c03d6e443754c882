"""Full-text search for PostgreSQL that finds exactly what SQLite's FTS5 finds.

The SQLite store indexes with FTS5's `unicode61 remove_diacritics 2` tokenizer. PostgreSQL's
own parser splits text differently (URLs, e-mail addresses, hyphenated words and decimals
become compound tokens, and its character classes depend on the database's locale), so the
same `--search` would give other results. Instead the store tokenizes and folds in Python,
per code point exactly as FTS5 does (the table is asked of SQLite's own tokenizer, once per
distinct character), and writes a ready `tsvector` (simple lexemes with positions), queried
with a `tsquery` made the same way. No extension (unaccent) and no superuser are needed.
"""

from __future__ import annotations

import sqlite3
import threading

from cockpit.errors import CockpitError

MAX_POSITION = 16383  # tsvector positions stop here
MAX_LEXEME_BYTES = 2046  # tsvector lexemes must stay under 2 KiB


class _FoldTable(dict[int, str]):
    """Code point -> its folded text ('' for a dropped diacritic, ' ' for a separator),
    filled on first sight of a character from FTS5 itself."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE t USING fts5(text, tokenize='unicode61 remove_diacritics 2')"
        )
        self._db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
        for cp in range(128):  # ASCII up front: the common case costs no lookup
            self[cp] = self._ask(cp)

    def _ask(self, cp: int) -> str:
        with self._lock:
            self._db.execute("DELETE FROM t")
            self._db.execute("INSERT INTO t (text) VALUES (?)", ("\x01x" + chr(cp) + "x\x01",))
            terms = [r[0] for r in self._db.execute("SELECT term FROM v ORDER BY offset")]
        if len(terms) == 1 and terms[0].startswith("x") and terms[0].endswith("x"):
            return str(terms[0][1:-1])
        return " "

    def __missing__(self, cp: int) -> str:
        value = self._ask(cp)
        self[cp] = value
        return value


_FOLD = _FoldTable()


def tokens(text: str) -> list[str]:
    """The tokens FTS5 (unicode61, diacritics removed) sees in `text`, in order."""
    return text.translate(_FOLD).split()


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector(text: str) -> str | None:
    """`text` as a tsvector literal (None for text without a token, as FTS5 skips it).
    Tokens never hold a quote or a backslash (both separate tokens), so none is escaped."""
    toks = text.translate(_FOLD).split()
    if not toks:
        return None
    if len(toks) >= MAX_POSITION or max(map(len, toks)) * 4 > MAX_LEXEME_BYTES:
        return _long_tsvector(toks)
    return " ".join([f"'{t}':{i}" for i, t in enumerate(toks, 1)])


def _long_tsvector(toks: list[str]) -> str | None:
    parts = [
        f"'{t}':{min(i, MAX_POSITION)}"
        for i, t in enumerate(toks, 1)
        if len(t.encode()) <= MAX_LEXEME_BYTES
    ]
    return " ".join(parts) if parts else None


def tsquery(text: str) -> str:
    """What a user typed as a tsquery: every word must occur; `word*` is a prefix; a word of
    several tokens (`don't`, `e-mail`) is a phrase, as `fts_query` in the SQLite store. An
    empty answer (only words without a token, like `!!!`) matches nothing, as in FTS5."""
    terms = []
    empty = False
    for word in text.split():
        prefix = word.endswith("*") and len(word) > 1
        word = word.rstrip("*")
        if not word:
            continue
        toks = tokens(word)
        if not toks:
            empty = True  # FTS5 drops a phrase without a token from the AND
            continue
        phrase = " <-> ".join(_quote(t) for t in toks)
        if prefix:
            phrase += ":*"
        terms.append(f"({phrase})" if len(toks) > 1 else phrase)
    if not terms and not empty:
        raise CockpitError(f"--search {text!r}: nothing to search for")
    return " & ".join(terms)
