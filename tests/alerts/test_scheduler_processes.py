"""Real scheduler processes on real Redis and PostgreSQL: killed, restarted, run twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import redis

from alerts.policy import TIERS, TimerSpec, timer_key
from alerts.store import TimerStore

REPO_ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("scheduler_child.py")


@pytest.fixture
def pg_dsn(pg_url: str) -> Iterator[str]:
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS fired_alerts")
        conn.execute(
            "CREATE TABLE fired_alerts (key text PRIMARY KEY, late boolean NOT NULL,"
            " fired_by text NOT NULL, lateness_s double precision NOT NULL)"
        )
    yield dsn


def start_child(redis_url: str, pg_dsn: str, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), redis_url, pg_dsn, name], env=env, cwd=REPO_ROOT
    )


def arm_spread(redis_url: str, count: int, first_in_s: float, spacing_s: float) -> list[TimerSpec]:
    """Arm `count` timers due one after another starting `first_in_s` from now."""
    import asyncio

    from redis.asyncio import Redis

    start = datetime.now(UTC) + timedelta(seconds=first_in_s)
    specs = [
        TimerSpec(
            key=timer_key(f"inc{i // 4}", "unit_on_scene", TIERS[i % 4]),
            incident_id=f"inc{i // 4}",
            milestone="unit_on_scene",
            tier=TIERS[i % 4],
            due_at=start + timedelta(seconds=i * spacing_s),
        )
        for i in range(count)
    ]

    async def arm() -> None:
        client = Redis.from_url(redis_url)
        assert await TimerStore(client).schedule(specs) == count
        await client.aclose()

    asyncio.run(arm())
    return specs


def fired_rows(pg_dsn: str) -> dict[str, tuple[bool, str, float]]:
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute("SELECT key, late, fired_by, lateness_s FROM fired_alerts").fetchall()
    return {key: (late, by, lateness) for key, late, by, lateness in rows}


def wait_for_rows(pg_dsn: str, at_least: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        count = len(fired_rows(pg_dsn))
        if count >= at_least:
            return count
        time.sleep(0.05)
    return len(fired_rows(pg_dsn))


def wait_started(client: redis.Redis, count: int, timeout_s: float = 60) -> None:
    """Wait until `count` children are up, so timers come due while they run, not before."""
    deadline = time.monotonic() + timeout_s
    while client.llen("test:started") < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert client.llen("test:started") >= count, "scheduler process did not start"


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_two_schedulers_raise_each_alert_exactly_once(redis_url: str, pg_dsn: str) -> None:
    client = redis.Redis.from_url(redis_url)
    procs = [start_child(redis_url, pg_dsn, name) for name in ("a", "b")]
    try:
        wait_started(client, 2)
        keys = [s.key for s in arm_spread(redis_url, count=120, first_in_s=0.5, spacing_s=0.02)]
        assert wait_for_rows(pg_dsn, len(keys), timeout_s=40) == len(keys)
        time.sleep(0.5)  # give a would-be duplicate the chance to show up
    finally:
        for proc in procs:
            stop(proc)
    assert sorted(x.decode() for x in client.lrange("test:started", 0, -1)) == ["a", "b"]
    attempts = Counter(json.loads(x)["key"] for x in client.lrange("test:attempts", 0, -1))
    assert set(attempts) == set(keys)
    assert [k for k, n in attempts.items() if n > 1] == [], "an alert was raised twice"
    assert set(fired_rows(pg_dsn)) == set(keys)
    assert client.zcard("h15:alerts:timers") == 0 and client.zcard("h15:alerts:inflight") == 0
    client.close()


@pytest.mark.slow
def test_killed_scheduler_loses_nothing_and_duplicates_nothing(redis_url: str, pg_dsn: str) -> None:
    client = redis.Redis.from_url(redis_url)
    count, first_in_s, spacing_s = 80, 0.5, 0.05
    first = start_child(redis_url, pg_dsn, "first")
    try:
        wait_started(client, 1)
        specs = arm_spread(redis_url, count=count, first_in_s=first_in_s, spacing_s=spacing_s)
        keys = [s.key for s in specs]
        assert wait_for_rows(pg_dsn, 20, timeout_s=30) >= 20
        deadline = time.monotonic() + 10
        while not client.zcard("h15:alerts:inflight") and time.monotonic() < deadline:
            time.sleep(0.001)  # kill it mid-delivery, the hardest moment
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    killed_at = time.time()
    in_flight_at_kill = {k.decode() for k in client.zrange("h15:alerts:inflight", 0, -1)}
    assert in_flight_at_kill, "the kill did not catch a delivery in flight"
    before_restart = fired_rows(pg_dsn)
    assert len(before_restart) < count, "the kill came too late to test anything"
    time.sleep(2.5)  # the lease (1 s) and the in-flight claims (2 s) expire; timers come due
    restarted_at = time.time()
    second = start_child(redis_url, pg_dsn, "second")
    try:
        assert wait_for_rows(pg_dsn, count, timeout_s=40) == count, "alerts were lost"
    finally:
        stop(second)

    rows = fired_rows(pg_dsn)
    assert set(rows) == set(keys)
    attempts = Counter(json.loads(x)["key"] for x in client.lrange("test:attempts", 0, -1))
    repeated = {k for k, n in attempts.items() if n > 1}
    assert in_flight_at_kill <= set(rows), "an alert caught mid-delivery was lost"
    # Only a timer caught mid-delivery by the kill may be attempted again; it is recorded once.
    assert repeated <= in_flight_at_kill, "a timer that had been marked fired was fired again"
    assert all(n <= 2 for n in attempts.values())
    # What came due while nothing ran fires at once on restart, marked late.
    due_while_down = [
        s.key
        for s in specs
        if killed_at < s.due_at.timestamp() < restarted_at - 1.0 and s.key not in before_restart
    ]
    assert due_while_down, "no timer came due during the outage; the test proves nothing"
    for key in due_while_down:
        late, fired_by, lateness = rows[key]
        assert fired_by == "second" and late, (key, rows[key])
        assert lateness > 1.0
    client.close()
