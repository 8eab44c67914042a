"""`helpline15 bench asr` smoke run: the figures exist and are plausible (not timed)."""

from __future__ import annotations

import pytest

from bench.asr import run
from tests.speech.helpers import require_model, sample


@pytest.mark.slow
def test_quick_bench_reports_every_figure() -> None:
    require_model("vosk-ko")
    sample("ko1_tel8k.wav")
    figures = run(quick=True, engine="vosk")
    keys = ("engine", "model", "rtf", "concurrent_calls_per_core", "first_partial_s")
    assert set(keys) | {"final_latency_s"} <= set(figures)
    assert figures["engine"] == "vosk" and figures["model"] == "vosk-ko"
    assert 0 < figures["rtf"] < 5
    assert figures["first_partial_s"] is not None and figures["first_partial_s"] > 0
    assert figures["final_latency_s"] is not None and figures["final_latency_s"] > 0
    assert figures["concurrent_calls_per_core"] in (0, 2)
    assert figures["final_after_speech_s"] == figures["final_latency_s"]
    assert figures["memory_mb"] > 100  # the Korean model alone is ~500 MB


@pytest.mark.slow
def test_quick_bench_measures_the_default_multilingual_engine() -> None:
    require_model("whisper-base")
    sample("ur1_tel8k.wav")
    figures = run(quick=True)
    keys = ("rtf", "first_partial_s", "final_after_speech_s", "concurrent_calls_per_core")
    assert set(keys) | {"engine", "model", "memory_mb", "cer_tel8k"} <= set(figures)
    assert figures["engine"] == "whisper" and figures["model"] == "whisper-base"
    assert 0 < figures["rtf"] < 20 and figures["memory_mb"] > 100
    assert 0 < figures["cer_tel8k"] < 1
    assert figures["concurrent_calls_per_core"] in (0, 2)
    assert [t["calls"] for t in figures["concurrency_trials"]] == [2]
