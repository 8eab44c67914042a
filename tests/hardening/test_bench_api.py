"""`bench api` quick run: the interface keys, and under light load nothing is lost."""

from __future__ import annotations

import pytest

from bench.api import run

pytestmark = pytest.mark.slow


def test_bench_api_quick_reports_interface_keys_and_loses_nothing(redis_url: str) -> None:
    result = run(quick=True, redis_url=redis_url)
    for key in ("pings_per_s", "ping_p99_ms", "call_pop_p50_ms", "call_pop_p99_ms"):
        assert isinstance(result[key], float) and result[key] > 0, (key, result)
    # Every ping of every step was answered 200 (the quick rates are far below capacity).
    assert result["ping_errors"] == 0, result["ping_steps"]
    assert [s["pings"] for s in result["ping_steps"]] == [300, 600]
    # Calls rang on the emulator, went through the real gateway, and every one popped.
    assert result["calls_lost"] == 0 and result["calls"] == 10
    assert result["call_pop_idle"]["calls_popped"] == 5
    assert result["supervisor_messages_min"] > 0  # the dashboards saw the pings and calls
    assert result["call_pop_p50_ms"] <= result["call_pop_p99_ms"]
