"""Triage benchmark: per evaluation set, type accuracy, top-3, P1 recall on life-threatening items,
emergencies suggested as prank, calibration error; plus location hit rate and latency. Sets (see
`bench/triage_sets.py`): the own template split (`test.jsonl`), the own natural set
(hand-written call openings, never trained on), fifteen sets of openings by writers who never saw
the corpus (`own_blind_dev`, `own_blind`, `own_blind_dev2` to `own_blind_dev7`, tuned on;
`own_blind_kept` to `own_blind_kept7`, kept back), the Urdu-script openings of the first five
as whisper hears them on a phone line (`own_recognised_urdu`), the real public texts in
`../shared/data/triage` (city-police complaints, disaster tweets: a different kind of text than
the training corpus, so every figure here is cross-source), and the own sets cut by language
(Urdu / Roman / mixed).
`baseline_ngram_only` (full run only) is the same figures without the sentence embedding (the
n-grams and keywords alone, same corpus), `baseline_templates` for n-grams trained on the old
template set, the way triage worked before the packaged corpus. `helpline15 bench triage
--json` prints `run()`.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np
from pak_geodata import haversine_distance_km

from bench import triage_sets
from dispatch.intake.classifier import IncidentClassifier, load_examples
from dispatch.intake.service import Triage
from dispatch.intake.text import normalize

HIT_RADIUS_M = 300.0
NOT_EMERGENCIES = frozenset({"prank_non_emergency", "information_request", "noise_nuisance"})
ECE_BINS = 10


def _mean(values: list[bool] | list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def expected_calibration_error(confidences: list[float], correct: list[bool],
                               bins: int = ECE_BINS) -> float | None:
    """ECE: the gap between stated confidence and accuracy, averaged over equal-width bins
    weighted by how many answers fall in each."""
    if not confidences:
        return None
    conf, ok = np.asarray(confidences), np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    gap = sum(abs(conf[which == b].mean() - ok[which == b].mean()) * (which == b).sum()
              for b in range(bins) if (which == b).any())
    return round(float(gap / len(conf)), 4)


def reliability(confidences: list[float], correct: list[bool],
                bins: int = 5) -> list[dict]:
    """Reliability table: per confidence bin, how many answers, their mean confidence and how
    many were right (a calibrated triage has the two close)."""
    conf, ok = np.asarray(confidences), np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    return [{"from": round(float(edges[b]), 2), "n": int((which == b).sum()),
             "confidence": round(float(conf[which == b].mean()), 3),
             "accuracy": round(float(ok[which == b].mean()), 3)}
            for b in range(bins) if (which == b).any()]


def evaluate(engine: Triage, rows: list[dict]) -> dict:
    """The figures of the issue for one set, plus per type and per language accuracy."""
    by_type: dict[str, list[bool]] = defaultdict(list)
    by_language: dict[str, list[bool]] = defaultdict(list)
    top3, confidences, p1, as_prank, as_p4, uncertain, certain_ok = [], [], [], [], [], [], []
    location_hits, latencies, correct, p1_false = [], [], [], []
    for row in rows:
        t0 = time.perf_counter()
        result = engine(row["text"])
        latencies.append((time.perf_counter() - t0) * 1000.0)
        ok = result.incident_type == row["incident_type"]
        correct.append(ok)
        by_type[row["incident_type"]].append(ok)
        by_language[row.get("language", "en")].append(ok)
        top3.append(row["incident_type"] in {c.incident_type for c in result.candidates[:3]})
        confidences.append(result.confidence)
        uncertain.append(result.uncertain)
        if not result.uncertain:
            certain_ok.append(ok)
        if row.get("life_threatening"):
            p1.append(result.priority == "P1")
        else:
            p1_false.append(result.priority == "P1")
        if row["incident_type"] not in NOT_EMERGENCIES:
            as_prank.append(result.incident_type == "prank_non_emergency")
            as_p4.append(result.priority == "P4")
        if row.get("lat") is not None:
            location_hits.append(result.location is not None and haversine_distance_km(
                result.location.lat, result.location.lon, row["lat"], row["lon"]
            ) * 1000.0 <= HIT_RADIUS_M)
    every = [ok for oks in by_type.values() for ok in oks]
    return {
        "examples": len(rows),
        "type_accuracy": _mean(every),
        "top3_accuracy": _mean(top3),
        "p1_recall_life_threatening": _mean(p1),
        "life_threatening_examples": len(p1),
        "p1_when_not_life_threatening": _mean(p1_false),
        "emergencies_suggested_as_prank": int(sum(as_prank)),
        "emergencies_suggested_p4": int(sum(as_p4)),
        "ece": expected_calibration_error(confidences, correct),
        "reliability": reliability(confidences, correct),
        "uncertain_rate": _mean(uncertain),
        "accuracy_when_certain": _mean(certain_ok),
        "accuracy_by_type": {k: _mean(v) for k, v in sorted(by_type.items())},
        "accuracy_by_language": {k: _mean(v) for k, v in sorted(by_language.items())},
        "location_examples": len(location_hits),
        "location_hit_rate": _mean(location_hits),
        "latencies": latencies,
    }


def _sets() -> dict[str, Callable[[], list[dict]]]:
    sets: dict[str, Callable[[], list[dict]]] = {
        "own_split": triage_sets.own_split,
        "own_natural": triage_sets.own_natural,
        "own_blind_dev": triage_sets.own_blind_dev,
        "own_blind": triage_sets.own_blind,
        "own_blind_kept": triage_sets.own_blind_kept,
        "own_blind_dev2": triage_sets.own_blind_dev2,
        "own_blind_kept2": triage_sets.own_blind_kept2,
        "own_blind_dev3": triage_sets.own_blind_dev3,
        "own_blind_kept3": triage_sets.own_blind_kept3,
        "own_blind_dev4": triage_sets.own_blind_dev4,
        "own_blind_dev5": triage_sets.own_blind_dev5,
        "own_blind_kept4": triage_sets.own_blind_kept4,
        "own_blind_kept5": triage_sets.own_blind_kept5,
        "own_blind_kept6": triage_sets.own_blind_kept6,
        "own_blind_dev6": triage_sets.own_blind_dev6,
        "own_blind_kept7": triage_sets.own_blind_kept7,
        "own_blind_dev7": triage_sets.own_blind_dev7,
        "own_recognised_urdu": triage_sets.own_recognised_urdu,
    }
    if triage_sets.real_sets_present():
        sets["real_police_complaints"] = triage_sets.mumbai
        sets["real_disaster_tweets"] = triage_sets.disaster
    return sets


def _by_language(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row.get("language") in {"ur", "roman", "mixed"}:
            out[f"own_{row['language']}"].append(row)
    return out


def _strip(figures: dict) -> dict:
    figures.pop("latencies", None)
    return figures


def run(quick: bool = False) -> dict:
    started = time.perf_counter()
    engine = Triage()
    build_s = time.perf_counter() - started
    rng = random.Random(15)
    loaded = {name: load() for name, load in _sets().items()}
    if quick:
        loaded = {name: rng.sample(rows, min(len(rows), 48)) for name, rows in loaded.items()}
    engine(loaded["own_split"][0]["text"])  # warm caches so latency reflects steady state
    results = {name: evaluate(engine, rows) for name, rows in loaded.items()}
    own_rows = loaded["own_split"] + loaded["own_natural"]
    for name, rows in sorted(_by_language(own_rows).items()):
        results[name] = _strip(evaluate(engine, rows))
    latencies = [ms for figures in results.values() for ms in figures.pop("latencies", [])]
    held_out = results["own_split"]
    figures = {
        **{k: v for k, v in held_out.items() if k != "latencies"},
        "keyword_only_accuracy": _keyword_accuracy(engine, loaded["own_split"]),
        "model": engine.classifier.name,
        "temperature": round(engine.classifier.temperature, 3),
        "hit_radius_m": HIT_RADIUS_M,
        "p50_ms": round(float(np.percentile(latencies, 50)), 3),
        "p95_ms": round(float(np.percentile(latencies, 95)), 3),
        "build_s": round(build_s, 2),
        "gazetteer_places": len(engine.gazetteer),
        "sets": results,
        "challenge": results["own_natural"],
    }
    if not quick:
        figures["baseline_ngram_only"] = baseline(loaded, templates=False)
        figures["baseline_templates"] = baseline(loaded, templates=True)
        # What temperature scaling would choose on held-out folds of the corpus (1.0 = none).
        refit = IncidentClassifier.from_files(engine.taxonomy)
        figures["fitted_temperature"] = round(refit._fit_temperature(_corpus()), 3)
    return figures


def _keyword_accuracy(engine: Triage, rows: list[dict]) -> float | None:
    classifier = engine.classifier
    oks = []
    for row in rows:
        keywords = classifier.keywords.scores(normalize(row["text"]))
        oks.append(bool(keywords.sum() > 0) and
                   classifier.types[int(np.argmax(keywords))] == row["incident_type"])
    return _mean(oks)


def _corpus() -> list:
    from dispatch.intake.corpus import augment, load_corpus

    return augment(load_corpus())


def baseline(loaded: dict[str, list[dict]], *, templates: bool) -> dict:
    """Type accuracy and prank count per set for n-grams alone (no sentence embedding),
    trained on the packaged corpus or (`templates`) on the old template set."""
    engine = Triage()
    if templates:
        engine.classifier = IncidentClassifier(
            engine.taxonomy, load_examples(triage_sets.OWN_DIR / "train.jsonl"),
            name="templates", embedder=None)
    else:
        engine.classifier = IncidentClassifier(engine.taxonomy, _corpus(), embedder=None)
    out = {}
    for name, rows in loaded.items():
        figures = evaluate(engine, rows)
        out[name] = {k: figures[k] for k in ("type_accuracy", "top3_accuracy",
                                             "p1_recall_life_threatening",
                                             "emergencies_suggested_as_prank", "ece")}
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
