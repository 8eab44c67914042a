"""Benchmark: how late alerts fire with 10,000 open incidents, and what the scheduler costs.

Each incident gets the real policy's timers for one milestone (3 tiers, 4 for P1 serious crime),
with due times spread uniformly over a few seconds so they all come due during the run. The
scheduler runs on the real Redis (database 12 unless H15_BENCH_REDIS_URL says otherwise, under a
throwaway key prefix that is deleted afterwards); its `fire` appends each alert to a Redis stream
as the dispatch service does. Lateness = fire time - due time. CPU = this process's CPU time over
wall time while the scheduler runs (100 = one core).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from alerts.kpi import percentile
from alerts.policy import PRIORITIES, TIMED_MILESTONES, TimerSpec, load_policy
from alerts.timers import FiredAlert, Scheduler, TimerStore

REDIS_URL = os.environ.get("H15_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
INCIDENT_TYPES = ("firing_shooting", "robbery_snatching", "road_traffic_accident", "burglary")


def _open_timers(incidents: int, first_due: float, spread_s: float) -> list[TimerSpec]:
    """The policy's timers for each incident, re-timed to come due within the run."""
    policy = load_policy()
    rng = random.Random(15)
    started = datetime.now(UTC)
    specs = []
    for i in range(incidents):
        for spec in policy.schedule_for(
            incident_id=f"bench{i}",
            priority=PRIORITIES[i % len(PRIORITIES)],
            incident_type=INCIDENT_TYPES[i % len(INCIDENT_TYPES)],
            milestone=TIMED_MILESTONES[i % len(TIMED_MILESTONES)],
            started_at=started,
            jurisdiction={"station": f"PS-{i % 29}", "district": "Islamabad"},
        ):
            due = datetime.fromtimestamp(first_due + rng.uniform(0, spread_s), tz=UTC)
            specs.append(
                TimerSpec(
                    spec.key, spec.incident_id, spec.milestone, spec.tier, due, spec.recipients
                )  # fmt: skip
            )
    return specs


async def _cleanup(redis: Redis, prefix: str) -> None:
    batch = []
    async for key in redis.scan_iter(match=f"{prefix}:*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            await redis.unlink(*batch)
            batch = []
    if batch:
        await redis.unlink(*batch)


async def _bench(incidents: int, spread_s: float, lead_s: float, batch: bool) -> dict[str, Any]:
    """Arm, run the scheduler until every timer fired, measure. `batch` picks `fire_many`."""
    redis = Redis.from_url(REDIS_URL)
    prefix = f"h15bench:{uuid.uuid4().hex[:8]}"
    store = TimerStore(redis, prefix=prefix, fired_ttl_s=600)
    stream = f"{prefix}:stream"
    lateness: list[float] = []
    try:
        t0 = time.perf_counter()
        specs = _open_timers(incidents, time.time() + lead_s, spread_s)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        armed = await store.schedule(specs)
        arm_s = time.perf_counter() - t0

        async def fire_many(alerts: list[FiredAlert]) -> None:
            async with redis.pipeline(transaction=False) as pipe:
                for alert in alerts:
                    pipe.xadd(stream, {"key": alert.key, "tier": alert.tier.value})
                await pipe.execute()
            raised = time.time()  # lateness counts until the alert is on the stream
            lateness.extend(raised - a.due_at.timestamp() for a in alerts)

        async def fire(alert: FiredAlert) -> None:
            await redis.xadd(stream, {"key": alert.key, "tier": alert.tier.value})
            lateness.append(time.time() - alert.due_at.timestamp())

        if batch:
            scheduler = Scheduler(store, fire_many=fire_many, poll_interval_s=0.1)
        else:
            scheduler = Scheduler(store, fire, poll_interval_s=0.1)
        stop = asyncio.Event()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        task = asyncio.create_task(scheduler.run(stop))
        deadline = time.time() + lead_s + spread_s + 120
        while scheduler.stats.fired < armed and time.time() < deadline:
            await asyncio.sleep(0.05)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        stop.set()
        await task
        return {
            "open_timers": armed,
            "incidents": incidents,
            "fired": scheduler.stats.fired,
            "late_over_1s": scheduler.stats.late,
            "lateness_p50_s": round(percentile(lateness, 50), 4) if lateness else None,
            "lateness_p99_s": round(percentile(lateness, 99), 4) if lateness else None,
            "lateness_max_s": round(max(lateness), 4) if lateness else None,
            "cpu_percent": round(100.0 * cpu / wall, 1),
            "run_wall_s": round(wall, 2),
            "due_spread_s": spread_s,
            "arm_s": round(arm_s, 3),
            "build_specs_s": round(build_s, 3),
            "stream_entries": await redis.xlen(stream),
        }
    finally:
        await _cleanup(redis, prefix)
        await redis.aclose()


def run(quick: bool = False) -> dict[str, Any]:
    """Full: 10,000 incidents due over 20 s. Quick: 300 incidents over 1.5 s (a smoke run).

    The headline keys come from the batch callback (`fire_many`, how dispatch should wire it);
    `per_alert` repeats the run with one `fire` call per alert, for comparison.
    """
    size = {"incidents": 300, "spread_s": 1.5, "lead_s": 0.5} if quick else {
        "incidents": 10_000, "spread_s": 20.0, "lead_s": 8.0}  # fmt: skip
    result = asyncio.run(_bench(**size, batch=True))
    per_alert = asyncio.run(_bench(**size, batch=False))
    result["fire_mode"] = "fire_many (one pipeline per claimed batch)"
    result["per_alert"] = {
        k: per_alert[k]
        for k in ("lateness_p50_s", "lateness_p99_s", "lateness_max_s", "cpu_percent", "fired")
    }
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    result["redis_url"] = REDIS_URL
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick=os.environ.get("QUICK") == "1"), indent=2))
