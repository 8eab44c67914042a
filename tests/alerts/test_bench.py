"""The alerts benchmark runs end to end (quick mode) and reports the agreed keys."""

from __future__ import annotations

import redis

from bench.alerts import REDIS_URL, run


def test_quick_bench_reports_the_agreed_keys() -> None:
    result = run(quick=True)
    assert {"open_timers", "lateness_p50_s", "lateness_p99_s", "cpu_percent"} <= set(result)
    assert result["open_timers"] > 900  # 300 incidents x 3-4 tiers
    assert result["fired"] == result["stream_entries"] == result["open_timers"]
    assert result["per_alert"]["fired"] == result["open_timers"]
    assert 0 <= result["lateness_p50_s"] <= result["lateness_p99_s"]
    assert result["cpu_percent"] > 0
    leftovers = list(redis.Redis.from_url(REDIS_URL).scan_iter(match="h15bench:*"))
    assert leftovers == [], "the benchmark must clean up its keys"
