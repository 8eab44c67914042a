"""Word and character error rates, for tests and the benchmark (edit distance via rapidfuzz)."""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import Levenshtein

_NUMBER_WORDS = {"2": "two", "to": "two", "too": "two"}


def normalise_words(text: str) -> list[str]:
    """Lower-case words without punctuation; homophones of "two" folded (a number, for us)."""
    text = unicodedata.normalize("NFC", text).lower()
    words = re.sub(r"[^\w' ]+", " ", text).split()
    return [_NUMBER_WORDS.get(w, w) for w in words]


def wer(reference: str, hypothesis: str) -> float:
    ref = normalise_words(reference)
    if not ref:
        raise ValueError("empty reference")
    return Levenshtein.distance(ref, normalise_words(hypothesis)) / len(ref)


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate ignoring spaces and bracketed noise tokens (Korean spacing varies)."""

    def chars(text: str) -> str:
        text = re.sub(r"\[[^\]]*\]", "", unicodedata.normalize("NFC", text))
        return re.sub(r"[\s\W]+", "", text)

    ref = chars(reference)
    if not ref:
        raise ValueError("empty reference")
    return Levenshtein.distance(ref, chars(hypothesis)) / len(ref)
