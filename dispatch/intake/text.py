"""Text normalisation and language guessing for transcripts.

Speech recognisers and callers spell the same word many ways: Arabic vs Urdu letter forms,
diacritics, mixed case, punctuation. Everything downstream (keywords, n-gram model, gazetteer)
sees text normalised the same way, so a variant never silently misses.
"""

from __future__ import annotations

import re
import unicodedata

from dispatch.intake.devanagari import romanize_devanagari

# Arabic code points that Urdu keyboards and recognisers use interchangeably.
_URDU_LETTER_MAP = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ئ": "ی",
        "ك": "ک",
        "ه": "ہ",
        "ۀ": "ہ",
        "ة": "ہ",
        "ۃ": "ہ",
        "أ": "ا",
        "إ": "ا",
        "ٱ": "ا",
        "آ": "آ",
        "ؤ": "و",
        "۰": "0",
        "۱": "1",
        "۲": "2",
        "۳": "3",
        "۴": "4",
        "۵": "5",
        "۶": "6",
        "۷": "7",
        "۸": "8",
        "۹": "9",
        "٠": "0",
        "١": "1",
        "٢": "2",
        "٣": "3",
        "٤": "4",
        "٥": "5",
        "٦": "6",
        "٧": "7",
        "٨": "8",
        "٩": "9",
        "،": ",",
        "۔": ".",
        "؟": "?",
    }
)
_TOKEN_RE = re.compile(r"[\w\u0600-\u06FF\u0900-\u097F]+", re.UNICODE)
_ARABIC_RE = re.compile(r"[\u0600-\u06FF]")
_DEVANAGARI_RE = re.compile(r"[\u0900-\u097F]")
_LATIN_RE = re.compile(r"[A-Za-z]")

def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Frequent function words: enough to tell Roman Urdu from English in a short utterance.
ROMAN_URDU_WORDS = _word_set(
    """hai hain ho hua hui hue raha rahi rahe gaya gayi gaye kar kardo karo ki ka ke ko
    mein main mai se par pe nahi nahin jaldi bhai bhi yahan wahan idhar udhar aur abhi
    koi kuch kya kia sahab sahib ji mera meri mere hamara hamari hum ap aap unhon unho
    wala wali wale paas pas samne saamne qareeb kareeb gali mohalla bohat bahut hoa
    lag lagi rahay haan ne tha thi thay ab kal"""
)
ENGLISH_WORDS = _word_set(
    """the a an is are was were there someone somebody my our his her please help near
    opposite at in on of and with has have been being this that it they he she we you
    right now quickly come send police hurry happened happening outside inside road
    street people man men woman car house"""
)

# Greetings and fillers that open almost every call: no evidence about what happened.
FILLER_WORDS = _word_set(
    """hello helo hallo hi hey sir sahab sahib saab ji jee salam assalam assalamualaikum
    alaikum walaikum aoa haan han ok okay please madam bhai yaar suno sunen sunein
    ہیلو سر جی السلام علیکم وعلیکم ہاں سنیں بھائی"""
)


def normalize(text: str) -> str:
    """Lower-case, NFKC, unify Urdu letter forms, strip diacritics, collapse whitespace, and
    write Devanagari (Hindi speech models) in Roman-Urdu spelling."""
    text = unicodedata.normalize("NFKC", text)
    if _DEVANAGARI_RE.search(text):
        text = romanize_devanagari(text)
    text = text.translate(_URDU_LETTER_MAP)
    # Drop combining marks (Urdu harakat, Devanagari nukta stays meaningful as a letter).
    text = "".join(
        ch for ch in text if not (unicodedata.category(ch) == "Mn" and "\u064b" <= ch <= "\u065f")
    )
    text = text.replace("\u0670", "")  # superscript alef
    return re.sub(r"\s+", " ", text.lower()).strip()


def tokens(text: str) -> list[str]:
    """Word tokens of already-normalised text (Latin, Urdu and Devanagari letters, digits)."""
    return _TOKEN_RE.findall(text)


def detect_language(text: str) -> str:
    """Guess `en`, `ur` (Urdu script), `roman` (Roman Urdu), `hi` (Devanagari) or `mixed`."""
    arabic = len(_ARABIC_RE.findall(text))
    devanagari = len(_DEVANAGARI_RE.findall(text))
    latin = len(_LATIN_RE.findall(text))
    total = arabic + devanagari + latin
    if total == 0:
        return "en"
    if devanagari / total > 0.5:
        return "hi"
    if arabic / total > 0.8:
        return "ur"
    if arabic / total > 0.2:
        return "mixed"
    words = tokens(text.lower())
    urdu_hits = sum(w in ROMAN_URDU_WORDS for w in words)
    english_hits = sum(w in ENGLISH_WORDS for w in words)
    if urdu_hits == 0:
        return "en"
    if english_hits == 0 or urdu_hits >= 2 * english_hits:
        return "roman"
    if english_hits >= 3 * urdu_hits:
        return "en"
    return "mixed"


# Letters a recogniser confuses on noisy phone audio, one class each (retroflex and dental,
# the several s, z, t and h letters); vowel letters, aspiration and nasal marks carry little
# of what was heard and are left out.
SOUND_CLASSES = str.maketrans(
    {**dict.fromkeys("تٹط", "t"), **dict.fromkeys("دڈ", "d"), **dict.fromkeys("رڑ", "r"),
     **dict.fromkeys("سصث", "s"), **dict.fromkeys("زذضظژ", "z"), **dict.fromkeys("کقخ", "k"),
     **dict.fromkeys("گغ", "g"), "ج": "j", "چ": "c", "ش": "x", "ب": "b", "پ": "p", "ف": "f",
     "ل": "l", "م": "m", "ن": "n",
     **dict.fromkeys("اآعءیےوںھہحئۓۂ", "")}
)
_NOT_URDU_CONSONANT = re.compile(r"[^tdrszkgjcxbpflmn]")


def sound_skeleton(text: str) -> str:
    """The consonants of the Urdu-script words, in sound classes, without spaces: whisper on
    phone audio writes "آگ لگ گئی" as "ادلاگ گائی" or "ٹکر" as "تاکیر" (splits, merges,
    swapped look-alike sounds), which keep most of the skeleton. Latin text has none."""
    urdu = " ".join(w for w in normalize(text).split() if _ARABIC_RE.search(w))
    return _NOT_URDU_CONSONANT.sub("", urdu.translate(SOUND_CLASSES))
