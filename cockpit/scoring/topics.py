"""Topics: what a community talks about more than before, in the languages it writes.

Each message is read in its own language: Japanese is segmented into words by Janome (its
nouns are the topic words), Chinese into character pairs, every other script into words;
the stop words of the language it reads as (stopwords-iso, per language, plus English,
which tech communities mix into every language) and its discourse markers ("fwiw", "ngl",
"né", "sih", "halt", "du coup", "короче") are left out. Two- and three-word phrases count
as well as words. A topic is rising when it is said in a larger share of messages than in
the window before, by Dunning's log-likelihood test (G² ≥ 10.83: p < 0.001 on one degree
of freedom), not by a raw count; each comes with example messages and the channels where
it is said. Pure CPU: callers run it in a thread.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

LANGUAGES = ("en", "es", "pt", "id", "de", "fr", "ru", "it", "nl", "tr")
CRITICAL = 10.83  # G² for p < 0.001 with one degree of freedom
MIN_MESSAGES = 4  # a topic is said in at least this many messages of the window
SAME_MESSAGES = 0.6  # terms said in (Jaccard) this much the same messages are one topic
EXAMPLES = 2
CHANNELS = 3

# chat filler that no stop-word list has: discourse markers, laughter, greetings
MARKERS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "fwiw honestly ngl btw imo imho tbh lol lmao idk afaik iirc tho though gonna "
        "wanna gotta kinda sorta yeah yep nope okay ok thx thanks ty pls plz hey hi hello gm gn "
        "morning everyone anyone someone guys folks really actually basically literally just "
        "stuff thing things lot",
        "es": "jaja jajaja pues bueno oye vale osea tipo gracias hola buenas igual onda che",
        "pt": "kkk kkkk kkkkk né tipo então aí pois mano vlw valeu obrigado obrigada oi olá "
        "gente galera bom dia tá",
        "id": "wkwk wkwkwk sih dong deh kok nih ya gan kak bang min terima kasih makasih halo "
        "aja banget gitu gimana",
        "de": "halt eigentlich naja genau übrigens quasi danke hallo moin servus ja ne doch mal",
        "fr": "bah bref genre enfin voilà mdr merci salut coucou bon ouais coup",
        "ru": "ну вообще короче типа кстати блин спасибо привет да нет вот",
        "it": "cioè boh dai grazie ciao allora quindi",
        "nl": "hoor even gewoon dank bedankt hoi",
        "tr": "yani işte şey tamam teşekkürler merhaba",
    }.items()
}

# words the stop-word lists carry that a tech community's topics are made of ("modo oscuro")
KEEP = frozenset(
    ["modo", "mode", "sistema", "dados", "datos", "daten", "data", "version", "versión", "versão"]
)
MAX_WORD = 40  # longer is a hash, a token or a flood, not a word

# links, <tags>, [markup] and [/bbcode], @mentions, #channels, :emoji_names:
_URL = re.compile(r"https?://\S+|<[^>]*>|\[[^\]\n]{0,40}\]|[@#]\w+|:[a-z0-9_+-]+:")
_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]", re.UNICODE)
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_SENTENCE = re.compile(r"[.!?;:,()\[\]\"“”…。！？、\n]+")


@cache
def stop_words(lang: str) -> frozenset[str]:
    """The language's stop words and markers, always with English's."""
    import stopwordsiso  # its lists load once

    words = set(stopwordsiso.stopwords(lang)) | set(stopwordsiso.stopwords("en"))
    words |= MARKERS.get(lang, frozenset()) | MARKERS["en"]
    return frozenset(w.casefold() for w in words) - KEEP


@cache
def _evidence() -> dict[str, dict[str, float]]:
    """word -> {language: weight}: a stop word of one language only says more than one
    that five languages share ("não" is Portuguese; "o" could be several)."""
    import stopwordsiso

    langs: dict[str, set[str]] = defaultdict(set)
    for lang in LANGUAGES:
        for w in set(stopwordsiso.stopwords(lang)) | MARKERS.get(lang, frozenset()):
            langs[w.casefold()].add(lang)
    return {w: {lang: 1 / len(ls) for lang in ls} for w, ls in langs.items()}


def language_of(words: Sequence[str]) -> str:
    """The language whose stop words the message uses most (English when none)."""
    if not words:
        return "en"
    if any(_CYRILLIC.search(w) for w in words):
        return "ru"
    evidence = _evidence()
    score: dict[str, float] = defaultdict(float)
    for w in words:
        for lang, weight in evidence.get(w, {}).items():
            score[lang] += weight
    if not score:
        return "en"
    return max(LANGUAGES, key=lambda lang: (score.get(lang, 0.0), lang == "en"))


@cache
def _japanese() -> Any:
    from janome.tokenizer import Tokenizer

    return Tokenizer()


def _japanese_words(text: str) -> list[list[str]]:
    """Runs of Japanese nouns (and Latin words), split where a particle or verb comes."""
    runs: list[list[str]] = [[]]
    stop = stop_words("ja")
    for token in _japanese().tokenize(text):
        pos = token.part_of_speech.split(",")
        word = token.surface.casefold()
        noun = pos[0] == "名詞" and pos[1] not in ("代名詞", "非自立", "数", "接尾")
        if noun and word not in stop and (len(word) >= 2 or not word.isascii()):
            runs[-1].append(word)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def _runs(text: str) -> list[list[str]]:
    """The message's content words in order, in runs broken by stop words and punctuation
    (a phrase never spans them)."""
    clean = _URL.sub(" ", unicodedata.normalize("NFKC", text)).casefold()
    if _KANA.search(clean):
        return _japanese_words(clean)
    runs: list[list[str]] = []
    for part in _SENTENCE.split(clean):
        words = [w.strip("'’-") for w in _WORD.findall(part)]
        lang = language_of(words)
        stop = stop_words(lang)
        run: list[str] = []
        for w in words:
            if _HAN.fullmatch(w):  # Chinese: character pairs stand for words
                if run:
                    runs.append(run)
                    run = []
                runs.extend([[w[i : i + 2]] for i in range(max(1, len(w) - 1))])
                continue
            if w in stop or len(w) < 2 or len(w) > MAX_WORD:
                if run:
                    runs.append(run)
                run = []
                continue
            run.append(w)
        if run:
            runs.append(run)
    return runs


@lru_cache(maxsize=100_000)
def message_terms(text: str) -> frozenset[str]:
    """The words and two- and three-word phrases one message is about (cached: a refresh
    of the same weeks reads the same texts)."""
    out: set[str] = set()
    for run in _runs(text):
        out.update(run)
        for n in (2, 3):
            for i in range(len(run) - n + 1):
                gram = run[i : i + n]
                if len(set(gram)) == n:
                    out.add(" ".join(gram))
    return frozenset(out)


def g2(a: int, b: int, n1: int, n2: int) -> float:
    """Dunning's log-likelihood of a term in a of n1 messages against b of n2."""
    total = a + b
    e1 = n1 * total / (n1 + n2)
    e2 = n2 * total / (n1 + n2)
    s = 0.0
    if a:
        s += a * math.log(a / e1)
    if b:
        s += b * math.log(b / e2)
    return 2 * s


@dataclass(frozen=True, slots=True)
class Said:
    """A message as topics read it: its text and where it was said."""

    text: str
    channel: str
    platform: str


@dataclass(frozen=True, slots=True)
class Topic:
    term: str
    this_week: int  # messages saying it in the window
    last_week: int  # ... and in the window before
    ratio: float  # its share of messages now over before (+1 smoothing)
    g2: float
    examples: tuple[str, ...]
    channels: tuple[str, ...]
    related: tuple[str, ...] = ()  # other terms said in the same messages

    def to_json(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "this_week": self.this_week,
            "last_week": self.last_week,
            "ratio": round(self.ratio, 2),
            "g2": round(self.g2, 1),
            "examples": list(self.examples),
            "channels": list(self.channels),
            "related": list(self.related),
        }


def _counts(messages: Iterable[Said]) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    n = 0
    for m in messages:
        n += 1
        counts.update(message_terms(m.text))
    return counts, n


def rising_topics(this: Sequence[Said], before: Sequence[Said], top: int = 8) -> list[Topic]:
    """Terms said significantly more this window than before, the strongest first."""
    now, n1 = _counts(this)
    was, n2 = _counts(before)
    if not n1:
        return []
    n2 = max(n2, 1)
    floor = max(MIN_MESSAGES, n1 // 2000)
    scored: list[tuple[float, str]] = []
    for term, a in now.items():
        b = was.get(term, 0)
        if a < floor or a / n1 <= b / n2:
            continue
        score = g2(a, b, n1, n2)
        if score >= CRITICAL:
            scored.append((score, term))
    scored.sort(key=lambda s: (-s[0], -s[1].count(" "), s[1]))  # a phrase before its word
    candidates = [t for _, t in scored[: top * 8]]
    score_of = dict((t, g) for g, t in scored)
    said_in = _messages_of(set(candidates), this)
    chosen: list[tuple[str, list[str]]] = []  # a topic and the terms folded into it
    for term in candidates:
        mine = said_in.get(term, set())
        home = next(
            (c for c in chosen if _jaccard(mine, said_in.get(c[0], set())) >= SAME_MESSAGES), None
        )
        if home is not None:  # said in the same messages (one announcement's words): one topic
            if not _inside(term, home[0]) and not _inside(home[0], term):
                home[1].append(term)
            continue
        if any(_inside(term, c[0]) for c in chosen):
            continue  # a word of a phrase already chosen, said mostly there
        chosen.append((term, []))
        if len(chosen) >= top:
            break
    found = _where({t for t, _ in chosen}, this)
    out = []
    for term, related in chosen:
        a, b = now[term], was.get(term, 0)
        examples, channels = found.get(term, ([], Counter()))
        out.append(
            Topic(
                term=term,
                this_week=a,
                last_week=b,
                ratio=((a + 1) / (n1 + 1)) / ((b + 1) / (n2 + 1)),
                g2=score_of[term],
                examples=tuple(examples),
                channels=tuple(c for c, _ in channels.most_common(CHANNELS)),
                related=tuple(related[:5]),
            )
        )
    return out


def _messages_of(terms: set[str], messages: Sequence[Said]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = defaultdict(set)
    for i, m in enumerate(messages):
        for term in terms & message_terms(m.text):
            out[term].add(i)
    return out


def _jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _inside(small: str, big: str) -> bool:
    return small != big and f" {small} " in f" {big} "


def _where(terms: set[str], messages: Sequence[Said]) -> dict[str, tuple[list[str], Counter[str]]]:
    """Example messages (short ones first seen) and channel counts for each term."""
    out: dict[str, tuple[list[str], Counter[str]]] = defaultdict(lambda: ([], Counter()))
    for m in messages:
        hit = terms & message_terms(m.text)
        for term in hit:
            examples, channels = out[term]
            channels[f"#{m.channel} on {m.platform}"] += 1
            line = " ".join(m.text.split())
            if len(examples) < EXAMPLES and 12 <= len(line) <= 200 and line not in examples:
                examples.append(line)
    return dict(out)
