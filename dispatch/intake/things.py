"""Words said of people and of things alike, read by what they are said of.

"Utha kar le gaye" (took away), "gum ho gayi" (is lost), "nahi mil rahi" (cannot be found) are
said of a kidnapped or missing person and of a stolen goat, motorcycle or generator: "meri bakri
utha ke le gaye" read as a kidnapping, P1. Said of a thing, an animal or a vehicle named just
before, they are read as a theft ("chori") by every part of triage (the models, keywords and
safety cues all see the text after this). A person named or marked nearby ("bete ko", "usay"),
or the vehicle as a container ("gari mein", "gari wale"), keeps the person's reading: a person
taken is the costlier one to miss.
"""

from __future__ import annotations

import re

from dispatch.intake.text import normalize, tokens


def _words(text: str) -> frozenset[str]:
    return frozenset(normalize(text).split())


def _urdu(*parts: str) -> list[str]:
    return [normalize(p) for p in parts]


_UTHA, _KAR, _LE, _GAYE, _LIYA = _urdu("اٹھا", "کر|کے", "لے", "گئے|گیا|گئی", "لیا")
_MISSING_UR, _NOT_FOUND_UR = _urdu("غائب|گم|لاپتہ", "نہیں مل (?:رہا|رہی|رہے|رہیں)")
# Each phrase (a named group) and what it reads as when said of a thing.
_SAID = re.compile(
    r"\b(?P<took>(?:utha|uthaa|otha)(?: (?:kar|ke|k|kr|kay|ky))? (?:le|lay|lai) "
    r"(?:gaye|gaya|gayi|gye|gya|gae|gai|gayee))\b"
    r"|\b(?P<took_one>(?:utha|uthaa) (?:liya|lia|liye|lie))\b"
    r"|\b(?P<missing>gayab|ghaib|gaib|gum|lapata|laapata)\b"
    r"|\b(?P<not_found>nahi mil (?:raha|rahi|rahe|rahin|rhi|rha))\b"
    r"|\b(?P<missing_en>missing)\b"
    rf"|\b(?P<took_ur>{_UTHA}(?: (?:{_KAR}))? {_LE} (?:{_GAYE}))\b"
    rf"|\b(?P<took_one_ur>{_UTHA} {_LIYA})\b"
    rf"|\b(?P<missing_ur>{_MISSING_UR})\b|\b(?P<not_found_ur>{_NOT_FOUND_UR})\b")
_READ_AS = {
    "took": "chori kar ke le gaye", "took_one": "chori kar liya", "missing": "chori",
    "not_found": "chori ho gayi", "missing_en": "stolen",
    **dict(zip(("took_ur", "took_one_ur", "missing_ur", "not_found_ur"),
               _urdu("چوری کر کے لے گئے", "چوری کر لیا", "چوری", "چوری ہو گئی"), strict=True)),
}
# Farm animals: stolen like things, and never a person at risk (safety.py's exceptions).
LIVESTOCK = """bakri bakra bakre bakriyan bakrian bhains bhainsen bhens bhainsain gaaye gaay
    gaayen janwar janwaron maweshi murghi murghiyan murgiyan bail ghora ghori pashu
    بکری بکرا بکریاں بھینس بھینسیں گائے جانور مویشی مرغی مرغیاں"""
_THINGS = _words(LIVESTOCK + """ mal motorcycle motorbike bike cycle car rickshaw gari gaari
    gadi gaadi gaddi saman samaan
    generator meter pipe pipes mobile phone paise paisay cash raqam zewar zevar jewellery
    jewelry sona battery batteries taar cable tv laptop pump motor solar panel pankha bartan
    sariya maal bag purse handbag wallet batua tyre tyres truck van scooter
    موٹرسائیکل سائیکل گاڑی سامان جنریٹر میٹر موبائل فون پیسے زیور سونا بیٹری تار تاریں
    موٹر موٹریں بیگ پرس مال بٹوہ""")
# Said near a person, the words keep the person's reading whatever else is named: "mere bete
# ki bike utha ke le gaye" is read with the son taken too.
_PERSON_MARKERS = _words("""ko nu noon nun usay usey use usko unko inko isko onu ohnu enu
    unhen unhain beta bete beti bacha bache bachi bachay bachon bachcha bhai bhaiya behan
    bahen larka larki larke kuri munda munde aadmi admi aurat shohar husband wife biwi abbu
    ammi chacha mama driver son daughter brother sister father mother child kid baby he she
    him her girl boy man woman
    کو نوں اسے انہیں بیٹا بیٹے بیٹی بچہ بچی بچے بھائی بہن لڑکا لڑکی آدمی عورت شوہر بیوی""")
# "Koi gari nahi mil rahi" is no vehicle to be had (for a woman in labour), not a stolen one:
# a thing is lost or missing only when it is someone's ("meri gari nahi mil rahi").
_OWNED = _words("""meri mera mere hamari hamara hamare humari humara saadi saada sade sadi
    apni apna my our his their میری میرا میرے ہماری ہمارا ہمارے اپنی اپنا""")
_LOST = frozenset({"missing", "not_found", "missing_en", "missing_ur", "not_found_ur"})
_TIMES = _words("raat subah subha shaam sham din dopehar kal رات صبح شام دن دوپہر")
_CONTAINER = _words("mein main me ch wich vich wale wala wali walay in inside میں والے")


def _read(match: re.Match[str]) -> str:
    before = tokens(match.string[:match.start()])[-8:]
    things = [i for i, w in enumerate(before) if w in _THINGS]
    marked = any(w in _PERSON_MARKERS and (i == 0 or before[i - 1] not in _TIMES)
                 for i, w in enumerate(before))
    if not things or marked or any(w in _CONTAINER for w in before[things[-1] + 1:]):
        return match.group(0)
    said = match.lastgroup or ""
    if said in _LOST and not _OWNED & set(before[max(0, things[-1] - 3):things[-1]]):
        return match.group(0)
    return _READ_AS[said]


def read_things_taken(text: str) -> str:
    """Normalised `text` with the phrases said of a thing read as a theft."""
    return _SAID.sub(_read, text)
