"""`helpline15 bench asr` smoke run: the figures exist and are plausible (not timed)."""

from __future__ import annotations

import pytest

from bench.asr import run
from tests.speech.helpers import require_model, sample


@pytest.mark.slow
def test_quick_bench_reports_every_figure() -> None:
    require_model("vosk-ko")
    sample("ko1_tel8k.wav")
    figures = run(quick=True)
    keys = ("engine", "model", "rtf", "concurrent_calls_per_core", "first_partial_s")
    assert set(keys) | {"final_latency_s"} <= set(figures)
    assert figures["engine"] == "vosk" and figures["model"] == "vosk-ko"
    assert 0 < figures["rtf"] < 5
    assert figures["first_partial_s"] is not None and figures["first_partial_s"] > 0
    assert figures["final_latency_s"] is not None and figures["final_latency_s"] > 0
    assert figures["concurrent_calls_per_core"] in (0, 2)
