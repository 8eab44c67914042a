"""Devanagari -> Roman-Urdu-style Latin, so transcripts from Hindi speech models reach the same
classifier, keywords and gazetteer as Roman Urdu ("आग लगी है" -> "aag lagi hai").

Hindi and Urdu share their spoken words; only the script differs. anyascii gives per-letter
Latin; this module adds what it leaves out: the inherent vowel "a" after a bare consonant, with
Hindi's schwa deletion (V C a C V -> V C C V: "कलमा" -> "kalma", not "kalama"), and the
spellings Roman-Urdu writers use (च ch, श sh, व w, ड़ r, ज़ z, nasal n).
"""

from __future__ import annotations

import re

from anyascii import anyascii

_DEVANAGARI_RUN = re.compile(r"[\u0900-\u097F]+")
_VIRAMA = "\u094d"
_NUKTA = "\u093c"
_OVERRIDES = {
    "च": "ch", "छ": "chh", "श": "sh", "ष": "sh", "व": "w", "ं": "n", "ँ": "n", "आ": "aa",
    "ा": "a", "ई": "i", "ऊ": "oo", "ड़": "r", "ढ़": "rh", "ज़": "z", "फ़": "f", "क़": "q",
    "ख़": "kh", "ग़": "gh", "ऑ": "o", "ॉ": "o",
}


def _is_consonant(ch: str) -> bool:
    return "\u0915" <= ch <= "\u0939" or "\u0958" <= ch <= "\u095f"


def _is_vowel_sign(ch: str) -> bool:
    return "\u093e" <= ch <= "\u094c" or ch in "\u0962\u0963"


def _word(word: str) -> str:
    # units: (latin, kind) with kind "C" consonant (bare), "V" vowel or sign, "N" nasal/other
    units: list[tuple[str, str]] = []
    i = 0
    while i < len(word):
        ch = word[i]
        if i + 1 < len(word) and word[i + 1] == _NUKTA:
            ch, i = ch + _NUKTA, i + 1
        latin = _OVERRIDES.get(ch, anyascii(ch).replace("'", ""))
        if _is_consonant(ch[0]):
            nxt = word[i + 1] if i + 1 < len(word) else ""
            bare = nxt == "" or _is_consonant(nxt)  # an inherent "a" may follow
            units.append((latin, "C" if bare and nxt else "c"))
        elif ch == _VIRAMA:
            pass
        elif _is_vowel_sign(ch) or ch in "अआइईउऊएऐओऔऋ":
            units.append((latin, "V"))
        else:
            units.append((latin, "N"))
        i += 1
    out: list[str] = []
    previous_vowel = False  # was the sound before the current consonant a vowel?
    for index, (latin, kind) in enumerate(units):
        out.append(latin)
        if kind == "C":
            after = units[index + 2][1] if index + 2 < len(units) else ""
            next_is_consonant = index + 1 < len(units) and units[index + 1][1] in "Cc"
            delete = previous_vowel and next_is_consonant and after == "V"
            if not delete:
                out.append("a")
                previous_vowel = True
                continue
        previous_vowel = kind == "V"
    return "".join(out)


def romanize_devanagari(text: str) -> str:
    """Replace every Devanagari run in `text` with Latin; other text passes through."""
    return _DEVANAGARI_RUN.sub(lambda m: _word(m.group(0)), text)
