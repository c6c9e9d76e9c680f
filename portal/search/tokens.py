"""One tokeniser for the indexed text and for what people type, so both engines see the
same words.

Text is Unicode-normalised (NFKD), stripped of accents, case-folded and split into runs
of letters and digits. Characters outside ASCII are spelled as `z` + six hex digits, so
each engine receives plain ASCII words whatever its own tokeniser or the database locale
would make of them; prefix matching still works (the spelling is fixed-width per
character). Nothing of the user's input reaches SQL except these words, as bound
parameters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# What a search uses at most: more words are ignored (and the page says so).
MAX_QUERY_WORDS = 8
MAX_WORD_LENGTH = 40
# Longer words are indexed by their start (PostgreSQL refuses lexemes over 2 KB).
MAX_INDEX_WORD_LENGTH = 100
# Input beyond this is not even read.
MAX_QUERY_CHARS = 1000

_WORD = re.compile(r"[^\W_]+")


def _ascii(word: str) -> str:
    return "".join(ch if ord(ch) < 128 else f"z{ord(ch):06x}" for ch in word)


def words(text: str | None) -> list[str]:
    """The display words of a text: normalised, case-folded, accents removed."""
    if not text:
        return []
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WORD.findall(stripped.casefold())


def index_text(*parts: str | None) -> str:
    """The text to store in the index: engine words separated by single spaces."""
    return " ".join(_ascii(w[:MAX_INDEX_WORD_LENGTH]) for part in parts for w in words(part))


@dataclass(frozen=True)
class QueryWord:
    shown: str  # what the page shows ("neglect")
    token: str  # what the engines match (ASCII, a prefix)


@dataclass(frozen=True)
class ParsedQuery:
    words: tuple[QueryWord, ...]
    ignored: int  # words dropped beyond MAX_QUERY_WORDS (or the input was cut short)

    @property
    def tokens(self) -> list[str]:
        return [w.token for w in self.words]

    def __bool__(self) -> bool:
        return bool(self.words)


def parse_query(text: str | None) -> ParsedQuery:
    """Whatever was typed becomes at most MAX_QUERY_WORDS safe words (never an error)."""
    text = text or ""
    cut = len(text) > MAX_QUERY_CHARS
    found = words(text[:MAX_QUERY_CHARS])
    seen: dict[str, QueryWord] = {}
    for word in found:
        word = word[:MAX_WORD_LENGTH]
        if word not in seen:
            seen[word] = QueryWord(shown=word, token=_ascii(word))
    chosen = list(seen.values())[:MAX_QUERY_WORDS]
    ignored = len(seen) - len(chosen) + (1 if cut else 0)
    return ParsedQuery(tuple(chosen), ignored)
