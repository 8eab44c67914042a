"""Fault: Redis is SIGKILLed and restarted while incidents are being created.

PostgreSQL is the record, so every incident must be stored exactly once, the API must keep
accepting them during the outage, and every `incident.created` event committed during the
outage must reach the stream once Redis is back (consoles replay from the stream).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text

from dispatch.api import create_app
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.database.models import Base
from dispatch.events.streams import INCIDENTS, decode
from dispatch.settings import load_settings
from dispatch.users.service import create_user
from tests.hardening.conftest import PASSWORD, SECRET, login
from tests.hardening.servers import ThrowawayRedis

pytestmark = pytest.mark.faults


@pytest.fixture
def fault_ctx(migrated_pg: str, own_redis: ThrowawayRedis) -> Iterator[AppContext]:
    settings = load_settings(database_url=migrated_pg, redis_url=own_redis.url,
                             secret_key=SECRET)
    context = AppContext.from_settings(settings)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with context.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    with session_scope(context.sessions) as session:
        create_user(session, username="ct", password=PASSWORD, role="call_taker")
    yield context
    context.close()


def created_events(url: str) -> Counter[int]:
    client = redis.Redis.from_url(url)
    return Counter(decode(INCIDENTS, mid, fields).data["id"]
                   for mid, fields in client.xrange(INCIDENTS)
                   if fields[b"type"] == b"incident.created")


def test_redis_killed_and_restarted_loses_no_incident_or_event(
        fault_ctx: AppContext, own_redis: ThrowawayRedis, record_property) -> None:  # type: ignore[no-untyped-def]
    body = {"incident_type": "fire", "priority": "P1", "lat": 31.55, "lon": 74.32}
    ids: list[int] = []
    with TestClient(create_app(context=fault_ctx)) as client:
        headers = login(client, "ct")

        def create(n: int) -> None:
            for _ in range(n):
                response = client.post("/api/v1/incidents", headers=headers, json=body)
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])

        create(10)
        own_redis.kill()
        create(10)  # Redis is down: the API keeps taking incidents
        own_redis.start()
        create(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(created_events(own_redis.url)) < len(ids):
            time.sleep(0.2)
    with fault_ctx.engine.connect() as connection:
        stored = Counter(connection.execute(text("SELECT id FROM incidents")).scalars())
    events = created_events(own_redis.url)
    lost = [i for i in ids if events[i] == 0]
    duplicated = [i for i in ids if events[i] > 1]
    print(f"redis kill: {len(ids)} incidents, {len(lost)} events lost, {len(duplicated)} doubled")
    record_property("redis_kill_events_lost", len(lost))
    assert sorted(stored) == sorted(ids) and set(stored.values()) == {1}
    assert lost == [] and duplicated == []
