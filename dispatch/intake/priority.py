"""Priority: the type's default, raised by modifiers heard in the transcript, with reasons.

Each modifier raises urgency one step (P3 -> P2) at most once; P1 is the ceiling. Information
requests and pranks are not raised by words alone (a caller asking about a gun licence is not
an armed incident), but a repeat caller always is, and a prank flag never lowers anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dispatch.intake.history import CallerFlags
from dispatch.intake.safety import negated, prepare
from dispatch.intake.text import tokens

PRIORITIES = ("P1", "P2", "P3", "P4")
NOT_RAISED_BY_WORDS = frozenset({"information_request", "prank_non_emergency"})


@dataclass(frozen=True)
class Modifier:
    name: str
    reason: str
    pattern: re.Pattern[str]
    applies_to: frozenset[str] | None = None  # None: every type


def _words(*alternatives: str, extra: str | None = None) -> re.Pattern[str]:
    """One pattern: Latin words on word boundaries, Urdu-script phrases as substrings."""
    latin = [a for a in alternatives if a.isascii()]
    other = [a for a in alternatives if not a.isascii()]
    parts = [extra] if extra else []
    if latin:
        parts.append(r"\b(?:" + "|".join(latin) + r")\b")
    if other:
        parts.append("(?:" + "|".join(other) + ")")
    return re.compile("|".join(parts))


# "maar rha hai", "kut reha ae", "aa rahi hain": the Roman spellings of the progressive, which
# says the same as the Urdu "رہا ہے" already listed.
_ROMAN_PROGRESSIVE = (r"\b(?:raha|rha|rahi|rhi|rahe|rhe|reha|rehi|rahay)\s+"
                      r"(?:hai|he|hay|hain|hein|ae|ay|e|aan|haan|o)\b")

MODIFIERS = (
    Modifier("weapon", "weapon mentioned", _words(
        "gun", "guns", "pistol", "pistols", "rifle", "kalashnikov", "klashnikov", "knife",
        "knives", "weapon", "weapons", "armed", "gunpoint", "asla", "aslah", "aslaha", "chaku",
        "chaqu", "churi", "chhuri", "bandooq", "banduq", "tamancha",
        "پستول", "بندوق", "اسلحہ", "اسلحے", "چاقو", "چھری", "کلاشنکوف")),
    Modifier("injuries", "people injured", _words(
        "injured", "injuries", "bleeding", "blood", "hurt", "wounded", "unconscious", "dead",
        "died", "zakhmi", "zakhmii", "khoon", "behosh", "mar gaya", "lash",
        "زخمی", "خون", "بے ہوش", "لاش", "مر گیا")),
    Modifier("now", "happening now", _words(
        "right now", "now", "still", "happening", "going on", "abhi", "is waqt", "ho raha",
        "ho rahi", "ho rahe", "kar raha", "kar rahe", "maar raha", "maar rahe", "chal rahi",
        "ابھی", "اس وقت", "ہو رہا", "ہو رہی", "ہو رہے", "رہا ہے", "رہے ہیں", "رہی ہے",
        extra=r"\b(?:is|are|am)\s+\w+ing\b|" + _ROMAN_PROGRESSIVE),
        frozenset({"robbery_snatching", "burglary", "assault_fight", "domestic_violence",
                   "harassment", "suspicious_activity", "kidnapping_missing_person"})),
    Modifier("child", "a child is involved", _words(
        "child", "children", "kid", "kids", "baby", "boy", "girl", "son", "daughter", "bacha",
        "bachay", "bache", "bachi", "bachchi", "beta", "beti", "masoom",
        "بچہ", "بچے", "بچی", "بیٹا", "بیٹی", "معصوم"),
        frozenset({"kidnapping_missing_person", "medical_emergency", "domestic_violence",
                   "harassment", "assault_fight", "road_traffic_accident", "fire"})),
    Modifier("spreading_fire", "fire is spreading", _words(
        "spreading", "spread", "whole building", "phail", "phel", "phail rahi", "pheli",
        "پھیل"), frozenset({"fire"})),
    Modifier("trapped", "people trapped", _words(
        "trapped", "stuck inside", "phans", "phanse", "phansa", "andar phans", "پھنس"),
        frozenset({"fire", "road_traffic_accident"})),
)


def _first_affirmed(pattern: re.Pattern[str], norm: str) -> re.Match[str] | None:
    """The first match the caller does not negate ("nobody is hurt", "koi zakhmi nahi")."""
    for match in pattern.finditer(norm):
        before = tokens(norm[:match.start()])
        said = tokens(match.group(0))
        words = before + said + tokens(norm[match.end():])
        if not negated(words, len(before), len(before) + len(said)):
            return match
    return None


def assess_priority(
    incident_type: str,
    default_priority: str,
    text: str,
    caller: CallerFlags | None = None,
) -> tuple[str, list[str]]:
    """The suggested priority and the reasons, starting from the type's default."""
    if default_priority not in PRIORITIES:
        raise ValueError(f"unknown priority {default_priority!r}")
    level = PRIORITIES.index(default_priority)
    reasons = [f"default for {incident_type}: {default_priority}"]
    norm = prepare(text)
    if incident_type not in NOT_RAISED_BY_WORDS:
        for modifier in MODIFIERS:
            if modifier.applies_to is not None and incident_type not in modifier.applies_to:
                continue
            match = _first_affirmed(modifier.pattern, norm)
            if match:
                if level > 0:
                    level -= 1
                    reasons.append(f"{modifier.reason} ('{match.group(0)}'): raised")
                else:
                    reasons.append(f"{modifier.reason} ('{match.group(0)}')")
    if caller is not None:
        if caller.repeat_caller:
            if level > 0:
                level -= 1
            reasons.append(f"{caller.reasons[0] if caller.reasons else 'repeat caller'}: raised")
        if caller.prank_suspect:
            reasons.append("caller has prank history: verify, priority not lowered")
    return PRIORITIES[level], reasons
