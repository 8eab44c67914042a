"""Pydantic shapes of intake results (the JSON of `POST /intake/triage` and `helpline15 triage`).

The first five fields of `TriageResult` are INTERFACE.md's contract; the rest are extras the
console uses to show why a suggestion was made.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class TypeCandidate(BaseModel):
    incident_type: str
    confidence: float = Field(ge=0.0, le=1.0)


class Location(BaseModel):
    """The suggested location; `text` is the gazetteer name plus any block/house detail."""

    text: str
    lat: float
    lon: float
    source: str


class LocationCandidate(BaseModel):
    """One place the transcript may refer to, with the words it was matched from."""

    text: str
    lat: float
    lon: float
    confidence: float = Field(ge=0.0, le=1.0)
    source: str
    matched: str
    kind: str = "place"
    relation: str | None = None  # "near", "opposite", ... when the caller said so


class TriageResult(BaseModel):
    incident_type: str
    priority: str
    confidence: float = Field(ge=0.0, le=1.0)
    candidates: list[TypeCandidate] = Field(description=(
        "the likeliest types, best first; when `uncertain`, the top three, and a prank is never "
        "first (it may follow with a higher confidence: dismissing an emergency costs more)"))
    location: Location | None
    priority_reasons: list[str] = Field(default_factory=list)
    location_candidates: list[LocationCandidate] = Field(default_factory=list)
    language: str
    uncertain: bool = Field(default=False, description=(
        "true when triage cannot tell: the confidence is low or the words so far say nothing "
        "(greetings only); the call-taker should pick from `candidates`"))
    model: str = Field(default="", description=(
        "the classifier that answered, e.g. `ngram-lr/corpus-<hash>+<fit>+e5` (n-grams "
        "blended with a sentence embedding; without `+e5`, n-grams alone); `keywords-only` means "
        "the packaged training text was missing (a broken install)"))
