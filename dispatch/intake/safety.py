"""Safety rules of triage, where a wrong answer costs a life rather than a minute.

* Greetings and fillers ("hello hello sir", "ji", "assalam o alaikum") say nothing about what
  happened, so they are taken out before anything is scored.
* A danger cue anywhere in the transcript rules out "prank": a caller who says "hello hello ...
  there is a fire" is reporting a fire.
* Words that put a life at risk ("not breathing", "he has a gun", "saans nahi aa rahi") make the
  call P1 whatever its type.
* A cue that the caller negates ("nobody is hurt", "koi zakhmi nahi") is not a cue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from dispatch.intake.text import normalize, tokens
from dispatch.intake.things import LIVESTOCK, read_things_taken


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


GREETINGS = _words(
    """hello helo hallo hullo hi hey sir sahab sahib saab ji jee salam assalam
    assalamualaikum asalam aslam alaikum alaikom walaikum aoa haan han ha hmm umm uh ok okay
    madam mam yes yeah
    ہیلو سر جی السلام علیکم وعلیکم ہاں سلام"""
)
# "o" in "assalam o alaikum" and "15" ("hello 15") only count as fillers inside a greeting.
_GREETING_GLUE = frozenset({"o", "u", "15", "police", "ہیلو"})

NEGATORS_BEFORE = _words(
    """no not nobody none never nothing noone nowhere isnt wasnt arent werent dont didnt
    doesnt havent hasnt neither without koi_nahi"""
)
# Roman spellings of "nahi" (callers type and recognisers write all of them): one form, so
# "saans nai aa rahi" and "uth nhi raha" meet the cues written "saans nahi", "uth nahi". Not
# "ni" or "ny" ("us ny maara" is "us ne": the ergative, not a negation).
_NAHI_FORMS = frozenset(normalize(w) for w in ("nai", "nahin", "nhi", "nahee", "nahein",
                                                "nahii", "nahi"))
NEGATORS_AFTER = _NAHI_FORMS | frozenset(normalize(w) for w in ("na", "نہیں", "نہ"))
_NEG_CONTRACTION = re.compile(r"\b(is|was|are|were|do|did|does|have|has)n't\b")


# Line checks that open calls as often as greetings do.
FILLER_PHRASES = re.compile(
    r"\b(?:can you hear me|are you there|is anyone there|is this (?:the )?police|"
    r"is this 15|meri awaz aa rahi hai|awaz aa rahi hai|aap sun rahe hain)\b")


# "I called by accident" is a pocket dial, not a road accident (measured: a pocket dial read as
# a road accident, P2, confidence 0.95): the idiom is read as "by mistake" everywhere.
_BY_MISTAKE = re.compile(r"\b(?:(?:by|from) accident|accidentally)\b")
# Firecrackers are neither a fire nor gunfire: "firing crackers" is someone bursting them (a
# police complaint about a procession was read as firing, P1). "crackers, not firing" keeps
# its "firing": only the compound is rewritten.
_FIRECRACKERS = re.compile(r"\b(?:fire[ -]?|firing )(crackers?|patak\w*)\b")


def _plain(text: str) -> str:
    text = _BY_MISTAKE.sub("by mistake", normalize(text).replace("’", "'"))
    text = read_things_taken(text)
    return _FIRECRACKERS.sub(r"bursting \1", text)


def strip_fillers(text: str) -> str:
    """Normalised text without greeting and filler words (kept in order otherwise)."""
    words = tokens(FILLER_PHRASES.sub(" ", _plain(text)))
    kept = [w for w in words if w not in GREETINGS]
    # "o", "15", "police" are content unless they sit between greetings.
    if kept and all(w in _GREETING_GLUE for w in kept):
        return ""
    return " ".join(kept)


# The same for the verb endings the cues are written with ("mar gaya", "jal raha"), as Punjabi
# speakers say them and people type them ("mar gya", "jal reya").
_ROMAN_FORMS = {
    **dict.fromkeys(_NAHI_FORMS, "nahi"),
    **dict.fromkeys(("gya", "gea", "geya"), "gaya"),
    **dict.fromkeys(("gyi", "gayee", "gai"), "gayi"),
    **dict.fromkeys(("reya", "rya", "rahya"), "raha"),
    **dict.fromkeys(("reyi", "rahee"), "rahi"),
    # "im hiding", "hes hitting her": contractions as a recogniser writes them
    "im": "i am", "hes": "he is", "shes": "she is", "theyre": "they are", "youre": "you are",
    "theres": "there is",
}
# "he's hitting her", "I'm hiding", "they're kicking him", with the apostrophe turned to a space
_PRONOUN_CONTRACTION = (
    (re.compile(r"\b(he|she|it|there|someone|somebody|that) s\b"), r"\1 is"),
    (re.compile(r"\bi m\b"), "i am"),
    (re.compile(r"\b(we|they|you) re\b"), r"\1 are"),
)


def prepare(text: str) -> str:
    """Normalised words, contractions opened ("isn't" -> "is not"), punctuation gone, one
    spelling of "nahi" and of the cues' verb endings."""
    norm = _NEG_CONTRACTION.sub(r"\1 not", _plain(text))
    norm = " ".join(tokens(norm.replace("no one", "noone")))
    for pattern, full in _PRONOUN_CONTRACTION:
        norm = pattern.sub(full, norm)
    words = [_ROMAN_FORMS.get(w, w) for w in norm.split()]
    return " ".join(words).replace("koi nahi", "koi_nahi")


# A person named between a negator and a cue starts another clause: "he is not uh his lips are
# blue" (a recogniser writes no comma) negates nothing about the lips.
CLAUSE_STARTS = _words("he she i we they his her my our their its it")


def negated(words: list[str], start: int, end: int) -> bool:
    """Whether the cue words[start:end] are negated: an English negator up to three words
    before ("nobody is hurt") in the same clause, or an Urdu one right after ("zakhmi nahi")."""
    before = words[max(0, start - 3):start]
    after = words[end:end + 2]
    negators = [i for i, w in enumerate(before) if w in NEGATORS_BEFORE]
    if negators and not any(w in CLAUSE_STARTS for w in before[negators[-1] + 1:]):
        return True
    return bool(after) and after[0] in NEGATORS_AFTER or (
        len(after) == 2 and after[0] in {"to", "tou", "bhi", "تو", "بھی"}
        and after[1] in NEGATORS_AFTER)


def find_cues(text: str, cues: tuple[str, ...],
              unless_near: Mapping[str, frozenset[str]] | None = None) -> list[str]:
    """The cues (lower-case words or phrases) said in `text` and not negated. A Latin cue word
    of four letters or more also matches its inflections ("bomb" in "bombing", "shot" in
    "shots"), up to three letters longer. A cue in `unless_near` does not count when one of
    its words comes up to three words before it ("the cars are not moving")."""
    words = prepare(text).split(" ")
    by_first = _index(cues)
    found: dict[str, None] = {}
    for i, word in enumerate(words):
        for parts in by_first.get(word, ()) or by_first.get(_stem_key(word, by_first), ()):
            n = len(parts)
            cue = " ".join(parts)
            near = (unless_near or {}).get(cue, frozenset())
            if _matches(words[i:i + n], parts) and not negated(words, i, i + n) and not any(
                    w in near for w in words[max(0, i - 3):i]):
                found[cue] = None
    return list(found)


def _same(word: str, cue: str) -> bool:
    return word == cue or (len(cue) >= 4 and cue.isascii() and word.startswith(cue)
                           and len(word) - len(cue) <= 3)


def _matches(words: list[str], parts: tuple[str, ...]) -> bool:
    return len(words) == len(parts) and all(_same(w, c) for w, c in zip(words, parts,
                                                                         strict=True))


def _stem_key(word: str, by_first: dict[str, list[tuple[str, ...]]]) -> str:
    for cut in (1, 2, 3):
        if len(word) - cut >= 4 and word[:-cut] in by_first:
            return word[:-cut]
    return ""


@lru_cache(maxsize=8)
def _index(cues: tuple[str, ...]) -> dict[str, list[tuple[str, ...]]]:
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for cue in cues:
        parts = tuple(prepare(cue).split(" "))  # the same letter forms as the transcript's
        by_first.setdefault(parts[0], []).append(parts)
    return by_first


# Words said of a person, and of vehicles, things or the traffic too: "he is not moving" is a
# life at risk, "the cars are not moving" and "hum traffic mein phanse hain" are a jam. Each cue
# (one of LIFE_THREAT_CUES), with the words whose nearness (three words before) makes it so.
_TRAFFIC = "traffic jam rush signal road sarak sadak ٹریفک جام سڑک"
_VEHICLES = (_TRAFFIC + """ car cars vehicle vehicles gari gaari gadi gaadi gariyan gaariyan
    gaddi bus buses truck trucks trala wagon rickshaw rickshaws bike bikes motorcycle line
    queue گاڑی گاڑیاں بس ٹرک رکشہ""")
# A cat stuck on a railing or a buffalo that does not move is not a person at risk.
_ANIMALS = LIVESTOCK + """ billi bili billa kutta kutti kuttay kutte tota kabootar puppy kitten
    cat dog parrot pigeon goat بلی کتا کتے طوطا کبوتر"""
# Punjabi "trapped" and a person down: life-threat cues, each also said of a jam or of things.
_TRAPPED_PUNJABI = ("phasya", "phasiya", "phansya")
_LYING_DOWN = ("sarak pe para", "sarak par para", "sadak pe para", "road pe para",
               "lying on the road", "lying in the road", "سڑک پر پڑا", "سڑک پر پڑی",
               "is on the ground", "are on the ground", "lying on the ground")
_STILL = ("hilta nahi", "hilti nahi")
SAID_OF_TRAFFIC = {
    **{prepare(c): _words(f"{_VEHICLES} {_ANIMALS}")
       for c in ("not moving", "hil nahi", "uth nahi", *_STILL)},
    # "stuck inside" is said of a car or a building, never of a jam: no exception for it.
    **{prepare(c): _words(f"{_TRAFFIC} {_ANIMALS}") for c in (
        "phanse", "phansay", "phans gaye", "phans gaya", "phans gayi", "phas gaya",
        "پھنس گیا", "پھنس گئی", "phansi hui", "phansa hua", "phas gaye", "phas gayi",
        "phasa hua", "phasi hui", "پھنسے", "پھنس گئے",
        "پھنسی", "پھنسا", *_TRAPPED_PUNJABI)},
    # A person lying in the road after a crash is down; rubble or a fallen tree is a blockage.
    **{prepare(c): _words("""malba malbe malbay dher darakht darakhat tree trees
        branch branches pole poles khamba bricks eentein glass pathar pathray stones rubble
        debris trolley container saman load
        ملبہ ملبے ڈھیر درخت کھمبا پتھر سامان""") for c in _LYING_DOWN},
}

# Said in a call, these put a life at risk now: P1 whatever the incident type.
LIFE_THREAT_CUES = (
    "not breathing", "stopped breathing", "cant breathe", "can't breathe", "no pulse",
    "heart attack", "unconscious", "not responding", "not moving", "dying", "is dead",
    "died", "killed", "kill me", "kill him", "kill her", "kill us", "will kill", "stabbed",
    "shot", "gun", "guns", "pistol", "rifle", "kalashnikov", "bullet", "bleeding heavily",
    "lot of blood", "drowning", "drowned", "poison", "overdose", "suicide", "choking",
    "trapped", "burning", "on fire", "bomb", "explosion", "blast", "kidnapped", "abducted",
    "ransom", "kerosene", "petrol on", "firing", "gunfire", "gunshot", "shooting", "shots",
    "opened fire", "massacre", "murder", "hostage", "hijack", "chest pain", "seizure",
    "too many tablets", "too many pills", "too many of her", "too many of his",
    "swallowed", "overdosed",
    "not waking", "wont wake", "passed out", "stroke", "not conscious", "convulsing",
    "turning blue", "gun to", "knife to",
    "isnt breathing", "isn't breathing", "barely breathing", "cannot breathe", "cant breath",
    "gasping", "unresponsive", "collapsed", "won't wake", "doesnt wake", "doesn't wake",
    "no heartbeat", "cardiac arrest", "blood everywhere", "bleeding a lot",
    "fire khol", "fire kiya", "fire kar", "seene mein dard", "seenay mein dard",
    "hosh mein nahi", "hil nahi", "uth nahi", "bol nahi", "daura", "laash",
    "saans nahi", "sans nahi", "dil ka daura", "behosh", "be hosh",
    "hosh nahi", "mar raha", "mar rahi", "mar gaya", "mar gayi", "maar dega", "maar de ga",
    "maar doon", "jaan se", "qatal", "qatl", "goli", "goliyan", "golian", "pistol",
    "bandooq", "banduq", "tamancha", "doob", "zehar", "khudkushi", "phanse", "phansay",
    "aag", "jal raha", "jal rahi", "bam", "dhamaka", "agwa", "aghwa", "utha kar le gaye",
    "tawan", "chhuri maar", "churi maar", "khoon beh",
    # sinking in water, a stroke taking the speech, a person dragged or locked in a room
    "going under", "went under", "canal mein gir", "nehar mein gir", "نہر میں گر",
    "not able to speak", "unable to speak", "cant speak properly", "can't speak properly",
    "ghaseet", "kamre mein band", "kamre me band", "kamray mein band", "کمرے میں بند",
    "locked her in", "locked him in", "locked in a room",
    # how badly someone is hurt, as callers say it rather than name the injury
    "bohat zakhmi", "shadeed zakhmi", "sakht zakhmi", "buri tarah zakhmi", "badly hurt",
    "badly injured", "seriously injured", "seriously hurt", "severely injured",
    "critical condition", "serious condition", "halat nazuk", "halat bohat nazuk",
    "tarap raha", "tarap rahi", "tarap rahe", "tang kat", "taang kat", "haath kat gaya",
    "haddi bahar", "bone sticking out", "bone is sticking out", "aankhen nahi khol",
    "ankhen nahi khol", "gala kat", "crushed him", "crushed her", "crushed under", "crushed by",
    "barely conscious", "bohat khoon", "khoon bohat",
    "kaafi khoon", "khoon ruk nahi", "khoon band nahi", "bleeding badly", "bleeding really bad",
    "bleeding bad", "won't stop bleeding", "wont stop bleeding", "trouble breathing",
    "difficulty breathing", "saans phool", "sans phool", "neela par", "neeli par",
    "شدید زخمی", "بہت زخمی", "حالت نازک", "تڑپ رہا", "تڑپ رہی", "بہت خون", "خون رک نہیں",
    "سانس نہیں", "دل کا دورہ", "بے ہوش", "مر گیا", "مر گئی", "جان سے", "قتل", "گولی",
    "گولیاں", "پستول", "بندوق", "ڈوب", "زہر", "خودکشی", "پھنسے", "آگ", "جل رہا", "جل رہی",
    "بم", "دھماکہ", "دھماکا", "اغوا", "تاوان", "چھری مار", "خون بہہ", "فائرنگ", "فائر",
    "سینے میں", "ہوش میں نہیں", "بول نہیں", "لاش", "دورہ",
    # Someone unresponsive, a breath or pulse failing, people trapped, a blade drawn, a
    # throat held: as callers describe them rather than name them.
    "not getting up", "not answering", "no response", "cpr", "pulse", "limp", "lifeless",
    "stuck inside", "stuck in side", "pinned down", "strangle", "strangling", "throttling",
    "choking her", "choking him", "knife", "knives", "machete", "axe", "acid",
    "stab", "stabbing", "hanged", "hanging himself", "hanging herself", "fell from the roof",
    "fell off the roof", "electrocuted", "electric shock", "chhat se gir", "chat se gir",
    "jawab nahi de", "saans ruk", "sans ruk", "saah ruk", "saah nahi",
    "saah rukdi", "saans rukdi", "saans ukhar", "sans ukhar",
    "nabz", "phans gaye", "phans gaya", "phans gayi", "phas gaya", "پھنس گیا", "پھنس گئی",
    "phansi hui", "phansa hua", "dab gaye", "dab gaya", "dab gayi",
    "malbe tale", "malbe mein", "malbay tale", "malbay mein", "chhuri", "chhuriyan", "churi",
    "churiyan", "chaqu", "chaku",
    "gala daba", "gala dab", "tezab", "tezaab", "تیزاب", "karant", "current lag", "phanda",
    "still inside", "still in the car", "still in it", "stuck under", "trapped under",
    "pinned under", "under the truck", "under the bus", "run over", "ran over", "kuchal",
    "phas gaye", "phas gayi", "phasa hua", "phasi hui", "fits", "foaming", "mirgi",
    "dora par", "dora pad", "i am hiding", "we are hiding", "locked myself",
    "hiding in", "hiding under", "hiding from", "in the closet", "luk ke", "luk kar",
    "chhup ke", "chhup kar", "چھپ کر", "چھپ کے",
    "hit over the head", "head injury", "sar phat", "sar phaat",
    "کچل", "مرگی", "سر پھٹ",
    # Blue lips, silence, chest pain, someone in the water, fuel poured on a person, a threat
    # to kill said in Punjabi or Urdu (dev set 2, session 9).
    "lips are blue", "lips blue", "hont neele", "hont neelay", "not speaking", "not talking",
    "gal nahi kar", "baat nahi kar", "chhaati ch dard", "chhati ch dard",
    "chhati mein dard", "chhaati mein dard", "chaati mein dard", "chhaati wich dard",
    "in the canal", "into the canal", "in the river", "into the river", "nehar mein",
    "nehr mein", "nehar ch", "nehar wich", "dariya mein", "paani mein gir", "pani mein gir",
    "mitti ka tel", "tel daal", "tel chirak", "tel chhirak", "petrol daal", "petrol chirak",
    "petrol chhirak", "poured petrol", "maar dena", "maar denge", "maar dalenge",
    "maar daalega", "maar dalega", "maar deyan", "ہونٹ نیلے", "بات نہیں کر", "چھاتی میں درد",
    "نہیں اٹھ", "اٹھ نہیں", "نہر میں", "دریا میں", "پانی میں گر", "مٹی کا تیل", "تیل ڈال",
    "تیل چھڑک", "پٹرول چھڑک", "پٹرول ڈال", "مار دوں", "مار دے گا", "مار ڈال",
    # Someone run over, lying in the road, trapped in a car (Punjabi), foaming after pesticide,
    # shaking after taking something (dev set 5, session 12).
    *_STILL, *_TRAPPED_PUNJABI, *_LYING_DOWN, "neechay aa gaya", "neeche aa gaya",
    "neechay aa gayi", "neeche aa gayi", "thallay aa gaya", "thalle aa gaya", "jhaag",
    "keeray maar", "keera maar", "pesticide", "jhatke", "jhatkay", "body is shaking",
    "body shake", "نیچے آ گیا", "نیچے آ گئی", "جھاگ", "جھٹکے",
    # A person down or slumped, a caller hiding, a diabetic's sugar crashing, a live wire on
    # the road (911-style set, session 12; Lahore's monsoon brings the wires down).
    "slumped", "room hiding", "hiding upstairs", "hiding downstairs", "hiding right now",
    "hiding now", "closet",
    "sugar is low", "sugar is really low", "sugar is very low", "low blood sugar", "sugar kam ho",
    "sugar gir", "power line down", "power lines down", "live wire", "sparking",
    "bijli ki taar", "taar gir", "taar toot", "بجلی کی تار", "تار گر",
    # Someone lying in their blood, in Urdu and Punjabi (corpus round 5, session 13).
    "lat pat", "lath path", "lahu luhan", "lahoo luhan", "لت پت", "لہو لہان",
    "جواب نہیں دے", "سانس رک", "نبض", "پھنس گئے", "پھنسی", "پھنسا", "دب گئے", "دب گیا",
    "ملبے تلے", "ملبے میں", "چھری", "چھریاں", "چاقو", "گلا دبا", "تیزاب", "کرنٹ", "پھندا",
)
# Anything that says someone is in danger or hurt: enough to rule out "prank".
DANGER_CUES = LIFE_THREAT_CUES + (
    "help me", "save me", "emergency", "hurt", "injured", "injury", "bleeding", "blood",
    "attack", "attacked", "beating", "beat", "hit", "fight", "robbed", "stolen", "thief",
    "accident", "crash", "fire", "arson", "smoke", "missing", "danger", "threat", "threatening",
    "bachao", "bachaao", "madad", "zakhmi", "khoon", "maar", "mara", "chot", "hamla",
    "larai", "jhagra", "chor", "chori", "daku", "cheen", "loot", "accident", "takkar",
    "dhuan", "laapata", "lapata", "khatra", "dhamki", "riot", "attack", "terror",
    "weapon", "explode", "kill", "knife", "collapsed", "ambulance", "rescue", "trapped",
    "unattended", "suspicious", "kidnap", "abduct", "snatch", "rob", "burgl", "stab",
    "carjack", "mugged", "screaming", "chura", "چرا", "cheekh", "cheekhne", "cheekhen",
    "چیخ", "چیخیں",
    # a threat to blow a place up, however it is asked about
    "blow up", "uda denge", "ura denge", "uda dein ge", "اڑا دیں گے", "اڑا دیا جائے",
    # bangs a caller is unsure of ("might have been fireworks") may be shots
    "bang", "loud bangs", "tarr tarr", "thah thah", "thaa thaa", "tha tha tha", "hitting",
    "kicking", "punching", "slapping", "slapped",
    # Asking the police to act against someone is a complaint, whatever else it is.
    "arrest", "abuse", "abusing", "abusive", "harass", "gaali", "gaaliyan", "take action",
    "action against", "complaint against",
    "گالی", "گالیاں", "گرفتار",
    "بچاؤ", "مدد", "زخمی", "خون", "مار", "چوٹ", "حملہ", "لڑائی", "جھگڑا", "چور", "چوری",
    "ڈاکو", "چھین", "لوٹ", "حادثہ", "ٹکر", "دھواں", "لاپتہ", "خطرہ", "دھمکی",
)


def life_threats(text: str) -> list[str]:
    return find_cues(text, LIFE_THREAT_CUES, SAID_OF_TRAFFIC)


def danger_cues(text: str) -> list[str]:
    return find_cues(text, DANGER_CUES)
