"""Compound fault: Redis is down, incidents are created, and the API process is SIGKILLed before
Redis comes back.

The incidents are in PostgreSQL, and so are their events: they were written to `outbox_events`
in the same transactions. After Redis and a new `helpline15 serve` process start, the new
process's relay publishes what the dead one could not, so every `incident.created` reaches the
stream exactly once and in order.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import redis
from sqlalchemy import text

from bench.load import PASSWORD, ServedStack
from dispatch.database.core import make_engine
from dispatch.events.streams import INCIDENTS, decode
from tests.hardening.servers import ThrowawayRedis

pytestmark = [pytest.mark.faults, pytest.mark.slow]
BODY = {"incident_type": "fire", "priority": "P1", "lat": 31.55, "lon": 74.32}


@pytest.fixture
def stack(own_redis: ThrowawayRedis) -> Iterator[ServedStack]:
    served = ServedStack(redis_url=own_redis.url, units=0).create()
    served.start()
    yield served
    served.destroy()


def created_on_stream(url: str) -> list[int]:
    client = redis.Redis.from_url(url)
    try:
        return [decode(INCIDENTS, mid, fields).data["id"]
                for mid, fields in client.xrange(INCIDENTS)
                if fields[b"type"] == b"incident.created"]
    finally:
        client.close()


def outbox_rows(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM outbox_events")).scalar_one()
    finally:
        engine.dispose()


def wait_for_events(url: str, ids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not set(ids) <= set(created_on_stream(url)):
        time.sleep(0.2)


def test_api_killed_during_a_redis_outage_loses_no_event(
        stack: ServedStack, own_redis: ThrowawayRedis, record_property) -> None:  # type: ignore[no-untyped-def]
    before: list[int] = []
    during: list[int] = []
    after: list[int] = []
    with httpx.Client(base_url=stack.base_url, timeout=30) as http:
        response = http.post("/api/v1/auth/token", data={"username": "ct", "password": PASSWORD})
        response.raise_for_status()
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

        def create(into: list[int], n: int) -> None:
            for _ in range(n):
                reply = http.post("/api/v1/incidents", headers=headers, json=BODY)
                assert reply.status_code == 201, reply.text
                into.append(reply.json()["id"])

        create(before, 5)
        wait_for_events(own_redis.url, before, timeout=10)
        own_redis.kill()
        create(during, 10)  # accepted: PostgreSQL holds the incidents and their events
        waiting = outbox_rows(stack.database_url)
        stack.kill()  # SIGKILL while Redis is still down: nothing in memory survives
        own_redis.start()
        started = time.monotonic()
        stack.start()  # a new API process
        wait_for_events(own_redis.url, during, timeout=30)
        recovered_s = time.monotonic() - started
        create(after, 5)
        wait_for_events(own_redis.url, after, timeout=10)

    events = Counter(created_on_stream(own_redis.url))
    ids = before + during + after
    lost = [i for i in ids if events[i] == 0]
    doubled = [i for i in ids if events[i] > 1]
    order = [i for i in created_on_stream(own_redis.url) if i in during]
    left = outbox_rows(stack.database_url)
    print(f"api killed during redis outage: {len(ids)} incidents, {len(during)} during the "
          f"outage ({waiting} events waiting in outbox_events when the API was killed), "
          f"{len(lost)} events lost, {len(doubled)} doubled, {left} rows left; published "
          f"{recovered_s:.1f} s after the new process started")
    record_property("outbox_compound_events_lost", len(lost))
    record_property("outbox_compound_events_doubled", len(doubled))
    assert waiting >= len(during)  # incident.created and its milestone event, per incident
    assert lost == [] and doubled == []
    assert order == during  # in the order they were committed
    assert left == 0
