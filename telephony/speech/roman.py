"""Urdu script → Roman Urdu, the way call-takers type it ("chori", "polis", "mal rod").

Roman Urdu has no standard spelling, so this aims at what search and the triage keyword lists
use: long vowels written (ا a, و o, ی i, ے e), short vowels (unwritten in Urdu) left out,
aspiration as "h" (بھ bh). `anyascii` alone drops the vowel letters ("ml rwd"), which matches
no Roman-Urdu spelling; it still handles any other character here.
"""

from __future__ import annotations

import re

from anyascii import anyascii

_CONSONANTS = {
    "ب": "b",
    "پ": "p",
    "ت": "t",
    "ٹ": "t",
    "ث": "s",
    "ج": "j",
    "چ": "ch",
    "ح": "h",
    "خ": "kh",
    "د": "d",
    "ڈ": "d",
    "ذ": "z",
    "ر": "r",
    "ڑ": "r",
    "ز": "z",
    "ژ": "zh",
    "س": "s",
    "ش": "sh",
    "ص": "s",
    "ض": "z",
    "ط": "t",
    "ظ": "z",
    "غ": "gh",
    "ف": "f",
    "ق": "q",
    "ک": "k",
    "ك": "k",
    "گ": "g",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ں": "n",
    "ھ": "h",
    "ع": "",
    "ء": "",
    "ٔ": "",
}
_MARKS = {"۔": ".", "،": ",", "؟": "?", "؛": ";", "٪": "%"}
_WORD = re.compile(r"[\u0600-\u06FF]+")


def _word(word: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(word):
        first, last = i == 0, i == len(word) - 1
        if ch in _CONSONANTS:
            out.append(_CONSONANTS[ch])
        elif ch == "آ":
            out.append("aa")
        elif ch == "ا" or ch in "أإٱ":
            out.append("a")
        elif ch == "و" or ch == "ؤ":
            out.append("w" if first else "o")
        elif ch in "یيىئ":
            out.append("y" if first else "i")
        elif ch == "ے" or ch == "ۓ":
            out.append("e")
        elif ch in "ہهۀة":
            out.append("a" if last and i > 0 else "h")
        elif "\u06f0" <= ch <= "\u06f9" or "\u0660" <= ch <= "\u0669":
            out.append(anyascii(ch))
        elif "\u064b" <= ch <= "\u065f" or ch == "\u0670":
            continue  # diacritics (zer, zabar, pesh, ...): rarely written, never needed
        else:
            out.append(anyascii(ch))
    return "".join(out)


def roman_urdu(text: str) -> str:
    """Roman-Urdu form of Urdu (or Shahmukhi Punjabi) text; Latin text passes unchanged."""
    for mark, ascii_mark in _MARKS.items():
        text = text.replace(mark, ascii_mark)
    return _WORD.sub(lambda m: _word(m.group(0)), text)
