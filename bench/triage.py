"""Triage benchmark: type accuracy per type and language, location hit rate, latency.

Measured on the held-out split (tests/data/triage/test.jsonl: template phrasings training never
saw, with recognition-style noise) and, separately, on challenge.jsonl: 48 free-form sentences
written by hand without templates, the closer guess at accuracy on real calls. Keyword-only
and model-only accuracies are measured in the same run as baselines for the combined classifier.
`helpline15 bench triage --json` prints the dict `run()` returns.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from pak_geodata import haversine_distance_km

from dispatch.intake.classifier import DEFAULT_TRAIN_PATH
from dispatch.intake.service import Triage
from dispatch.intake.text import normalize

TEST_PATH = DEFAULT_TRAIN_PATH.with_name("test.jsonl")
CHALLENGE_PATH = DEFAULT_TRAIN_PATH.with_name("challenge.jsonl")
HIT_RADIUS_M = 300.0


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _mean(values: list[bool]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def evaluate(engine: Triage, rows: list[dict]) -> dict:
    """Accuracy, location hit rate and latency of `engine` on labelled rows."""
    by_type: dict[str, list[bool]] = defaultdict(list)
    by_language: dict[str, list[bool]] = defaultdict(list)
    keyword_ok, model_ok, location_hits, latencies = [], [], [], []
    classifier = engine.classifier
    for row in rows:
        t0 = time.perf_counter()
        result = engine(row["text"])
        latencies.append((time.perf_counter() - t0) * 1000.0)
        ok = result.incident_type == row["incident_type"]
        by_type[row["incident_type"]].append(ok)
        by_language[row["language"]].append(ok)
        keywords = classifier.keywords.scores(row["text"])
        keyword_ok.append(bool(keywords.sum() > 0) and
                          classifier.types[int(np.argmax(keywords))] == row["incident_type"])
        model_guess = classifier.model.predict([normalize(row["text"])])[0]
        model_ok.append(model_guess == row["incident_type"])
        if row.get("lat") is not None:
            hit = result.location is not None and haversine_distance_km(
                result.location.lat, result.location.lon, row["lat"], row["lon"]
            ) * 1000.0 <= HIT_RADIUS_M
            location_hits.append(hit)
    every = [ok for oks in by_type.values() for ok in oks]
    return {
        "examples": len(rows),
        "type_accuracy": _mean(every),
        "accuracy_by_type": {k: _mean(v) for k, v in sorted(by_type.items())},
        "accuracy_by_language": {k: _mean(v) for k, v in sorted(by_language.items())},
        "keyword_only_accuracy": _mean(keyword_ok),
        "model_only_accuracy": _mean(model_ok),
        "location_examples": len(location_hits),
        "location_hit_rate": _mean(location_hits),
        "latencies": latencies,
    }


def run(quick: bool = False) -> dict:
    started = time.perf_counter()
    engine = Triage()
    build_s = time.perf_counter() - started
    rows = _rows(TEST_PATH)
    if quick:
        rows = random.Random(15).sample(rows, 48)
    engine(rows[0]["text"])  # warm caches so latency reflects steady state
    held_out = evaluate(engine, rows)
    challenge = evaluate(engine, _rows(CHALLENGE_PATH))
    latencies = held_out.pop("latencies") + challenge.pop("latencies")
    return {
        **held_out,
        "hit_radius_m": HIT_RADIUS_M,
        "p50_ms": round(float(np.percentile(latencies, 50)), 3),
        "p95_ms": round(float(np.percentile(latencies, 95)), 3),
        "build_s": round(build_s, 2),
        "gazetteer_places": len(engine.gazetteer),
        "challenge": challenge,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
