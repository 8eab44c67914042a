"""Benchmark: sustained GPS pings/s with p99, and call-pop latency, against a real `serve`.

`helpline15 serve` (one uvicorn process, with its event persister) runs on the real PostgreSQL
and Redis; the load is `bench.load.peak_hour`: 1,000 handsets pinging with 32 requests in
flight, 200 calls ringing at 10/s timed from the gateway's `call.ringing` append on `h15:calls`
to the `call.updated` message on `/ws/console`, and 5 supervisor dashboards connected.
"""

from __future__ import annotations

from typing import Any

from bench.load import REDIS_URL, run_load


def run(quick: bool = False, *, redis_url: str = REDIS_URL) -> dict[str, Any]:
    if quick:
        result = run_load(handsets=50, rounds=2, calls=10, calls_per_s=10, supervisors=2,
                          in_flight=8, redis_url=redis_url, time_limit_s=40)
    else:
        result = run_load(handsets=1000, rounds=3, calls=200, calls_per_s=10, supervisors=5,
                          in_flight=32, redis_url=redis_url, time_limit_s=180)
    result["server"] = "helpline15 serve (1 uvicorn process) on PostgreSQL + Redis, loopback"
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
