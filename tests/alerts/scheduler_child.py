"""A real scheduler process for the restart and two-scheduler tests (SIGKILL-able).

Usage: scheduler_child.py REDIS_URL PG_DSN NAME. Every fire attempt is pushed to the Redis list
`test:attempts` (to spot duplicates) and recorded in PostgreSQL table `fired_alerts` whose primary
key is the alert key: the caller's unique constraint the design relies on. SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import psycopg
from redis.asyncio import Redis

from alerts.timers import FiredAlert, Scheduler, TimerStore


async def main(redis_url: str, pg_dsn: str, name: str) -> None:
    redis = Redis.from_url(redis_url)
    pg = await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def fire(alert: FiredAlert) -> None:
        await redis.rpush("test:attempts", json.dumps({"key": alert.key, "by": name}))
        await asyncio.sleep(0.05)  # a real delivery takes time: widens the window for a kill
        await pg.execute(
            "INSERT INTO fired_alerts (key, late, fired_by, lateness_s) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (key) DO NOTHING",
            (alert.key, alert.late, name, alert.lateness_s),
        )

    scheduler = Scheduler(
        TimerStore(redis),
        fire,
        lease_ttl_s=1.0,
        claim_timeout_s=2.0,
        poll_interval_s=0.05,
        max_concurrency=4,
    )
    await redis.rpush("test:started", name)
    try:
        await scheduler.run(stop)
    finally:
        await pg.close()
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
