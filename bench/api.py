"""Benchmark: sustained GPS pings/s at p99, and how fast a call pops on the console.

Against a real `helpline15 serve --workers 2` on PostgreSQL and Redis (its own database), with
`helpline15 gateway` logged in to the Asterisk emulator and supervisor dashboards connected:

1. **Pings, open loop.** Handsets ping on a fixed schedule at rising rates; latency runs from
   each ping's scheduled time. `sustained_pings_per_s` is the highest offered rate whose p99 was
   within the goal (50 ms) with no errors and at least 97 % of the rate achieved; the sweep
   stops after two failing steps in a row (one can be a passing spike on a shared machine),
   and each step is reported, so the knee is visible.
2. **Call pops.** The emulator rings calls; the clock runs from its first AMI event to the
   `call.updated` message on `/ws/console` (gateway → persister → PostgreSQL → hub → socket).
   Measured idle, and again while 1,000 handsets ping every 2 s (500 pings/s: a busier fleet
   than the 5–10 s interval handsets use, but below the knee, where every latency grows).

The load shares the server's two cores, so it is kept cheap (`bench/clients.py`); the ping
schedule runs in a process of its own so that reading the dashboards' feeds never delays it.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import httpx

from bench.clients import ConsoleWatch, open_socket, ping_at_rate_apart, pinger, place_calls, token
from bench.load import REDIS_URL, ServedStack, telephony, watch_supervisors

P99_GOAL_MS = 50.0
FULL_RATES = (250, 500, 750, 1000, 1250, 1500, 1750, 2000, 2500, 3000)
QUICK_RATES = (100, 200)
LOADED_RATE, QUICK_LOADED_RATE = 500, 100


def _sustained(step: dict[str, Any]) -> bool:
    return (step["ping_errors"] == 0 and step["p99_ms"] is not None
            and step["p99_ms"] <= P99_GOAL_MS
            and step["achieved_per_s"] >= 0.97 * step["offered_per_s"])


async def measure(stack: ServedStack, *, rates: tuple[int, ...], step_s: float, calls: int,
                  supervisors: int, load_rate: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        sho, ct, sup = [await token(client, name) for name in ("sho", "ct", "sup")]
    stop = asyncio.Event()
    watchers = asyncio.create_task(watch_supervisors(stack, sup, supervisors, stop))
    console = ConsoleWatch(await open_socket(stack.ws_url, "console", ct))
    steps: list[dict[str, Any]] = []
    pool = pinger()
    try:
        async with telephony(stack) as emulator:
            # Warm-up: the first pings seed each process's fleet cache.
            await ping_at_rate_apart(pool, stack.base_url, sho, stack.unit_ids, rate=100,
                                     duration_s=2)
            idle_pops = await place_calls(emulator, console, calls=calls, per_s=5,
                                          deadline=time.monotonic() + 60)
            for rate in rates:
                step = await ping_at_rate_apart(pool, stack.base_url, sho, stack.unit_ids,
                                                rate=rate, duration_s=step_s)
                steps.append(step)
                if len(steps) >= 2 and not any(_sustained(s) for s in steps[-2:]):
                    break  # two failed steps in a row: past the knee, not a passing spike
                await asyncio.sleep(1)
            good = [s for s in steps if _sustained(s)]
            sustained = good[-1]["offered_per_s"] if good else 0
            await asyncio.sleep(3)  # let the last, overloaded step drain
            loaded = await asyncio.gather(
                ping_at_rate_apart(pool, stack.base_url, sho, stack.unit_ids, rate=load_rate,
                                   duration_s=max(step_s, calls / 5 + 2)),
                place_calls(emulator, console, calls=calls, per_s=5,
                            deadline=time.monotonic() + 90))
    finally:
        pool.shutdown()
        await console.close()
        stop.set()
    watched = await watchers
    pings_under_calls, loaded_pops = loaded
    best = max(steps, key=lambda s: s["achieved_per_s"])
    return {
        "sustained_pings_per_s": sustained,
        "pings_per_s": float(sustained),
        "ping_p50_ms": good[-1]["p50_ms"] if good else best["p50_ms"],
        "ping_p99_ms": good[-1]["p99_ms"] if good else best["p99_ms"],
        "ping_p99_goal_ms": P99_GOAL_MS,
        "max_pings_per_s_achieved": best["achieved_per_s"],
        "ping_steps": steps,
        "call_pop_idle": idle_pops,
        "call_pop_under_load": {**loaded_pops, "pings_per_s": load_rate,
                                "ping_p99_ms": pings_under_calls["p99_ms"]},
        "call_pop_p50_ms": loaded_pops["call_pop_p50_ms"],
        "call_pop_p99_ms": loaded_pops["call_pop_p99_ms"],
        "calls": idle_pops["calls"] + loaded_pops["calls"],
        "calls_lost": idle_pops["calls_lost"] + loaded_pops["calls_lost"],
        "ping_errors": sum(s["ping_errors"] for s in steps)
        + pings_under_calls["ping_errors"],
        **watched,
    }


def run(quick: bool = False, *, redis_url: str = REDIS_URL,
        workers: int | None = None) -> dict[str, Any]:
    workers = workers or min(2, os.cpu_count() or 1)
    stack = ServedStack(redis_url=redis_url, units=100 if quick else 1000,
                        workers=workers).create()
    try:
        stack.start()
        result = asyncio.run(measure(
            stack, rates=QUICK_RATES if quick else FULL_RATES, step_s=3 if quick else 8,
            calls=5 if quick else 50, supervisors=2 if quick else 5,
            load_rate=QUICK_LOADED_RATE if quick else LOADED_RATE))
    finally:
        stack.destroy()
    result["server"] = (f"helpline15 serve --workers {workers} + helpline15 gateway, on "
                        "PostgreSQL and Redis, loopback; load from this process")
    result["cores"] = os.cpu_count()
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
