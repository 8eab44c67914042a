"""Triage service: incident type, priority and location suggestions for a transcript.

`Triage` loads the taxonomy, trains the classifier and builds the gazetteer once; each call is
then a few milliseconds. `triage()` uses one shared default instance, built on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from dispatch.intake.classifier import DEFAULT_TRAIN_PATH, PRANK, IncidentClassifier
from dispatch.intake.gazetteer import Gazetteer
from dispatch.intake.history import CallerHistory, flag_caller
from dispatch.intake.priority import PRIORITIES, assess_priority
from dispatch.intake.safety import danger_cues, life_threats
from dispatch.intake.schemas import Location, LocationCandidate, TriageResult, TypeCandidate
from dispatch.intake.taxonomy import load_taxonomy
from dispatch.intake.text import detect_language

MIN_LOCATION_CONFIDENCE = 0.85
MAX_TEXT_CHARS = 5000
UNCERTAIN_BELOW = 0.5  # calibrated top confidence under this: say so, show the top three
UNSURE_CANDIDATE_MIN = 0.2  # an unsure answer takes the priority of any type this likely
UNSURE_PRIORITY = "P3"  # ... and at least this


class Triage:
    """A ready-to-use triage engine (model trained, gazetteer built)."""

    def __init__(
        self,
        *,
        taxonomy_path: Path | None = None,
        train_path: Path = DEFAULT_TRAIN_PATH,
        gazetteer: Gazetteer | None = None,
        osm_names: Iterable[tuple[str, float, float, str]] = (),
    ) -> None:
        self.taxonomy = load_taxonomy(taxonomy_path)
        self.classifier = IncidentClassifier.from_files(self.taxonomy, train_path)
        self.gazetteer = gazetteer or Gazetteer.build(osm_names=osm_names)

    def __call__(
        self,
        text: str,
        *,
        gazetteer: Gazetteer | None = None,
        caller_history: CallerHistory | None = None,
        top: int = 3,
    ) -> TriageResult:
        if not isinstance(text, str) or not text.strip():
            raise ValueError("transcript text is empty")
        text = text[:MAX_TEXT_CHARS]
        ranked = self.classifier.rank(text, top=max(top, 3))
        uncertain = ranked[0][1] < UNCERTAIN_BELOW
        if uncertain and ranked[0][0] == PRANK and len(ranked) > 1:
            # Dismissing a real emergency costs a life: an unsure "prank" is never the first
            # guess; it stays among the candidates for the call-taker to pick.
            ranked = [ranked[1], ranked[0], *ranked[2:]]
        incident_type, confidence = ranked[0]
        caller = flag_caller(caller_history) if caller_history else None
        priority, reasons = assess_priority(
            incident_type, self.taxonomy[incident_type].default_priority, text, caller
        )
        priority, reasons = self._safety_floor(text, incident_type, priority, reasons,
                                               ranked if uncertain else [])
        places = (gazetteer or self.gazetteer).find(text, limit=5)
        best = most_specific(places)
        return TriageResult(
            incident_type=incident_type,
            priority=priority,
            confidence=round(confidence, 4),
            candidates=[TypeCandidate(incident_type=t, confidence=round(p, 4))
                        for t, p in ranked[:max(top, 3) if uncertain else top]],
            location=Location(text=best.text, lat=best.lat, lon=best.lon, source=best.source)
            if best else None,
            priority_reasons=reasons,
            location_candidates=places,
            language=detect_language(text),
            uncertain=uncertain,
            model=self.classifier.name,
        )

    def _safety_floor(self, text: str, incident_type: str, priority: str, reasons: list[str],
                      unsure_among: list[tuple[str, float]]) -> tuple[str, list[str]]:
        """Asymmetric costs. When triage is unsure, the priority is the most urgent among the
        types that are reasonably likely, and never below P3 (a first guess on a few words must
        not set a call to P1, nor dismiss it as P4); words that put a life at risk make it P1;
        a danger cue keeps it above P4."""
        level = PRIORITIES.index(priority)
        if unsure_among:
            likely = [PRIORITIES.index(self.taxonomy[t].default_priority)
                      for t, p in unsure_among if p >= UNSURE_CANDIDATE_MIN]
            unsure_level = min([*likely, PRIORITIES.index(UNSURE_PRIORITY)])
            level = unsure_level if unsure_among[0][1] < UNSURE_CANDIDATE_MIN else min(
                level, unsure_level)
            if PRIORITIES[level] != priority:
                why = ("the most urgent of the likely types" if likely
                       else "until the caller says more")
                reasons = [*reasons, f"unsure of the type: {PRIORITIES[level]} ({why})"]
        threats = life_threats(text)
        if threats and level > 0 and (incident_type != "information_request" or unsure_among):
            level = 0
            reasons = [*reasons, f"life at risk ('{threats[0]}'): P1"]
        if level == len(PRIORITIES) - 1 and (danger := danger_cues(text)):
            level -= 1
            reasons = [*reasons, f"danger cue ('{danger[0]}'): not P4"]
        return PRIORITIES[level], reasons


# A road or an area covers kilometres; a chowk or landmark named beside it pins the spot.
BROAD_KINDS = {"road": 1, "street": 1, "area": 2, "neighbourhood": 2, "town": 2, "city": 3}


def most_specific(places: list[LocationCandidate]) -> LocationCandidate | None:
    """The surest place; among equally sure ones, the most specific ("Mall Road near Charing
    Cross" is Charing Cross)."""
    sure = [p for p in places if p.confidence >= MIN_LOCATION_CONFIDENCE]
    if not sure:
        return None
    top = max(p.confidence for p in sure)
    tied = [p for p in sure if top - p.confidence < 0.05]
    return min(tied, key=lambda p: BROAD_KINDS.get(p.kind, 0))


_default: Triage | None = None
_default_lock = threading.Lock()


def default_triage() -> Triage:
    """The process-wide engine, built on first use (about two seconds)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Triage()
        return _default


def triage(
    *,
    text: str,
    gazetteer: Gazetteer | None = None,
    caller_history: CallerHistory | None = None,
) -> TriageResult:
    """Suggest incident type, priority and location for a (possibly partial) transcript."""
    return default_triage()(text, gazetteer=gazetteer, caller_history=caller_history)


class LiveTriage:
    """Suggestions that follow one call's transcript stream.

    Final segments accumulate; each partial is triaged together with them. `update` tells
    whether the suggestion the console shows (type, priority, location) changed, so the console
    is pushed only when there is something new. The suggested priority never drops as more of
    the transcript arrives (a later "but nobody is hurt" does not undo "he has a gun"); only a
    person lowers it, with `set_priority`.
    """

    def __init__(self, engine: Triage | None = None, *,
                 caller_history: CallerHistory | None = None) -> None:
        self.engine = engine or default_triage()
        self.caller_history = caller_history
        self.final_text = ""
        self.latest: TriageResult | None = None
        self.floor: str | None = None  # most urgent priority suggested so far
        self.set_by_person: str | None = None

    def set_priority(self, priority: str) -> None:
        """A call-taker chose the priority: it stands until they change it again."""
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}")
        self.set_by_person = priority

    def update(self, segment: str, *, final: bool) -> tuple[TriageResult | None, bool]:
        """Feed a partial or final recogniser segment; returns (result, changed)."""
        segment = segment.strip()
        text = f"{self.final_text} {segment}".strip()
        if final and segment:
            self.final_text = text
        if not text:
            return self.latest, False
        result = self._hold_priority(self.engine(text, caller_history=self.caller_history))
        changed = self.latest is None or _shown(result) != _shown(self.latest)
        self.latest = result
        return result, changed

    def _hold_priority(self, result: TriageResult) -> TriageResult:
        if self.set_by_person is not None:
            return result.model_copy(update={
                "priority": self.set_by_person,
                "priority_reasons": [*result.priority_reasons,
                                     f"set by the call-taker: {self.set_by_person}"]})
        if result.confidence == 0.0:  # nothing said yet: no suggestion to hold on to
            return result
        if self.floor is not None and PRIORITIES.index(self.floor) < PRIORITIES.index(
                result.priority):
            result = result.model_copy(update={
                "priority": self.floor,
                "priority_reasons": [*result.priority_reasons,
                                     f"kept at {self.floor}: suggested earlier in this call"]})
        self.floor = result.priority
        return result


def _shown(result: TriageResult) -> tuple[str, str, str | None]:
    return result.incident_type, result.priority, result.location.text if result.location else None
