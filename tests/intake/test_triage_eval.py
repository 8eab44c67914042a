"""Held-out accuracy of triage on sets it was never trained on: the project's own hand-written
call openings (by language) and the real public texts in ../shared/data/triage (read by path).

Thresholds sit a small margin under the figures measured with the current corpus and sentence
embedding (see `helpline15 bench triage --json`); the real sets' labels are mapped from their own
columns and noisy, so their bars are lower than the issue's goals for real call openings."""

from __future__ import annotations

import pytest

from bench import triage as bench
from bench import triage_sets
from dispatch.intake.service import default_triage
from tests.conftest import require_data

# The kept-back set's figures with the current corpus (Roman Punjabi is its weakest part).
KEPT_ACCURACY, KEPT_P1_RECALL, KEPT_PER_LANGUAGE = 0.87, 0.88, 0.75


@pytest.fixture(scope="module")
def engine():
    return default_triage()


def test_own_natural_call_openings(engine) -> None:
    figures = bench.evaluate(engine, triage_sets.own_natural())
    assert figures["examples"] >= 140
    assert figures["type_accuracy"] >= 0.95
    assert figures["top3_accuracy"] >= 0.97
    assert figures["p1_recall_life_threatening"] >= 0.95
    assert figures["emergencies_suggested_as_prank"] == 0
    assert figures["emergencies_suggested_p4"] == 0
    assert figures["ece"] <= 0.15


@pytest.mark.parametrize(("name", "examples", "accuracy", "p1_recall", "per_language"), [
    ("own_blind_dev", 256, 0.92, 0.93, 0.82),  # tuned on (life-threat cues, non-emergencies)
    ("own_blind", 256, 0.91, 0.95, 0.82),      # kept back for round 4, then tuned on
    ("own_blind_kept", 256, KEPT_ACCURACY, KEPT_P1_RECALL, KEPT_PER_LANGUAGE),  # never tuned on
    ("own_blind_dev2", 256, 0.93, 0.94, 0.82),  # read in session 9 (cues, non-police requests)
    ("own_blind_kept2", 256, 0.91, 0.90, 0.78),  # never tuned on (0.914 before session 9)
    ("own_blind_dev3", 192, 0.94, 0.95, 0.90),  # read in session 11 (chatter, cattle, "fire di")
    ("own_blind_kept3", 192, 0.88, 0.88, 0.82),  # never tuned on (0.891 before session 11)
    ("own_blind_dev4", 192, 0.92, 0.95, 0.92),  # read in sessions 11 and 12 (911-style)
    ("own_blind_dev5", 192, 0.94, 0.97, 0.90),  # read in session 12 (0.880 before)
    ("own_blind_kept4", 192, 0.86, 0.87, 0.80),  # never tuned on (0.880 when written)
    ("own_blind_kept5", 160, 0.89, 0.89, 0.86),  # never tuned on (0.900 before session 12)
    ("own_blind_kept6", 192, 0.89, 0.88, 0.75),  # never tuned on (0.891 before round 5)
    ("own_blind_dev6", 192, 0.89, 0.96, 0.84),  # read in session 14 (0.891 before)
    ("own_blind_kept7", 192, 0.88, 0.88, 0.86),  # never tuned on (0.896 before session 14)
    ("own_blind_dev7", 160, 0.90, 0.95, 0.85),  # read in session 14 (0.925 when written)
])
def test_openings_by_writers_who_never_saw_the_corpus(engine, name: str, examples: int,
                                                       accuracy: float, p1_recall: float,
                                                       per_language: float) -> None:
    figures = bench.evaluate(engine, getattr(triage_sets, name)())
    assert figures["examples"] == examples
    assert figures["type_accuracy"] >= accuracy, figures["accuracy_by_type"]
    assert figures["top3_accuracy"] >= 0.96
    assert figures["p1_recall_life_threatening"] >= p1_recall
    assert figures["emergencies_suggested_as_prank"] == 0
    assert figures["emergencies_suggested_p4"] == 0
    for language, accuracy_in_language in figures["accuracy_by_language"].items():
        assert accuracy_in_language >= per_language, (language, figures["accuracy_by_language"])


def test_urdu_as_the_recogniser_hears_it_is_never_dismissed(engine) -> None:
    """What whisper base makes of Urdu on a phone line is barely readable (type 0.335, top-3
    0.578 measured): triage must say it is unsure, not guess confidently, and never suggest an
    emergency as a prank or P4."""
    figures = bench.evaluate(engine, triage_sets.own_recognised_urdu())
    assert figures["examples"] >= 220
    assert figures["emergencies_suggested_as_prank"] == 0
    assert figures["emergencies_suggested_p4"] == 0
    assert figures["uncertain_rate"] >= 0.6
    assert figures["top3_accuracy"] >= 0.48
    assert figures["ece"] <= 0.15


@pytest.mark.parametrize("language", ["ur", "roman", "mixed"])
def test_own_sets_per_language(engine, language: str) -> None:
    rows = [r for r in triage_sets.own_split() + triage_sets.own_natural()
            if r["language"] == language]
    figures = bench.evaluate(engine, rows)
    assert figures["type_accuracy"] >= 0.92, figures["accuracy_by_type"]
    assert figures["top3_accuracy"] >= 0.97
    assert figures["emergencies_suggested_as_prank"] == 0


def test_real_police_complaints(engine) -> None:
    require_data("triage/mumbai-civic-tweets/tweets_dataset.csv")
    figures = bench.evaluate(engine, triage_sets.mumbai())
    assert figures["examples"] >= 200
    assert figures["type_accuracy"] >= 0.76
    assert figures["top3_accuracy"] >= 0.88
    assert figures["emergencies_suggested_as_prank"] == 0
    assert figures["ece"] <= 0.10


def test_real_disaster_reports(engine) -> None:
    require_data("triage/disaster-tweets-kaggle/train.csv")
    figures = bench.evaluate(engine, triage_sets.disaster())
    assert figures["examples"] >= 650
    assert figures["type_accuracy"] >= 0.68
    assert figures["top3_accuracy"] >= 0.83
    assert figures["p1_recall_life_threatening"] >= 0.93
    assert figures["emergencies_suggested_as_prank"] == 0
    assert figures["ece"] <= 0.08


def test_the_sentence_embedding_beats_ngrams_alone_on_real_texts(engine) -> None:
    """The embedding is in the blend because it helps on real phrasing: on both real sets, the
    same corpus without it names the right type less often and ranks it in the top three no
    more often (session 12: police complaints 80.2 against 78.4 %, disaster tweets 70.3
    against 68.3 %; top-3 91.4 / 89.2 %, 84.7 / 78.0 %; session 13, each distinct text once, after
    corpus round 5: 81.5 / 78.3 %, 70.7 / 68.6 %). Either margin alone moves by a point
    or two with each corpus change (the n-grams gain from new keywords too), so each set must
    gain a point and the two together three."""
    require_data("triage/mumbai-civic-tweets/tweets_dataset.csv")
    require_data("triage/disaster-tweets-kaggle/train.csv")
    from dispatch.intake.classifier import IncidentClassifier
    from dispatch.intake.corpus import augment, load_corpus
    from dispatch.intake.service import Triage

    assert engine.classifier.semantic is not None
    alone = Triage()
    alone.classifier = IncidentClassifier(alone.taxonomy, augment(load_corpus()), embedder=None)
    assert "+e5" not in alone.classifier.name
    gains = []
    for rows in (triage_sets.mumbai(), triage_sets.disaster()):
        blended, ngrams = bench.evaluate(engine, rows), bench.evaluate(alone, rows)
        gains.append(blended["type_accuracy"] - ngrams["type_accuracy"])
        assert gains[-1] >= 0.01, (blended["type_accuracy"], ngrams["type_accuracy"])
        assert blended["top3_accuracy"] >= ngrams["top3_accuracy"]
    assert sum(gains) >= 0.03, gains


def test_expected_calibration_error_is_measured_not_assumed() -> None:
    assert bench.expected_calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0)
    assert bench.expected_calibration_error([1.0] * 4, [False] * 4) == pytest.approx(1.0)
    assert bench.expected_calibration_error([], []) is None


def test_corpus_holds_no_text_from_the_real_sets() -> None:
    """The training text is the project's own: no corpus line of some length is found in the
    real public texts (they are for evaluation only, read by path)."""
    require_data("triage/mumbai-civic-tweets/tweets_dataset.csv")
    require_data("triage/disaster-tweets-kaggle/train.csv")
    from dispatch.intake.corpus import load_corpus
    from dispatch.intake.text import normalize

    real = "\n".join(normalize(r["text"]) for r in triage_sets.mumbai() + triage_sets.disaster())
    lines = [normalize(e.text) for e in load_corpus() if len(e.text) >= 30]
    assert lines and not [line for line in lines if line in real]
