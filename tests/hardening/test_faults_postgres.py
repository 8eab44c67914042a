"""Fault: PostgreSQL crashes (`pg_ctl stop -m immediate`) and restarts while incidents arrive.

While it is down the API answers 503 "nothing was stored, retry" (never a 500, never a 201
for something not stored); the client retries those after the restart. Every acknowledged
incident is stored exactly once, and every incident the client meant to create exists once.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text

from dispatch.api import create_app
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.database.migrate import upgrade
from dispatch.events.streams import INCIDENTS, decode
from dispatch.settings import load_settings
from dispatch.users.service import create_user
from tests.hardening.conftest import PASSWORD, SECRET, login
from tests.hardening.servers import ThrowawayPostgres

pytestmark = [pytest.mark.faults, pytest.mark.slow]


@pytest.fixture
def own_pg() -> Iterator[ThrowawayPostgres]:
    if not ThrowawayPostgres.available():
        reason = "PostgreSQL 15 server binaries or runuser are not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}: the fault suite must run in CI")
        pytest.skip(reason)
    directory = Path(tempfile.mkdtemp(prefix="h15-pg-", dir="/tmp"))
    server = ThrowawayPostgres(directory).init()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def test_postgres_crash_and_restart_loses_no_acknowledged_incident(
        own_pg: ThrowawayPostgres, redis_url: str, record_property) -> None:  # type: ignore[no-untyped-def]
    upgrade(own_pg.url)
    ctx = AppContext.from_settings(load_settings(database_url=own_pg.url, redis_url=redis_url,
                                                 secret_key=SECRET))
    with session_scope(ctx.sessions) as session:
        create_user(session, username="ct", password=PASSWORD, role="call_taker")
    acknowledged: list[int] = []
    refused = statuses = 0
    codes: Counter[int] = Counter()

    def create(headers: dict[str, str]) -> bool:
        nonlocal statuses
        response = client.post("/api/v1/incidents", headers=headers, json={
            "incident_type": "fire", "priority": "P1", "lat": 31.55, "lon": 74.32})
        codes[response.status_code] += 1
        statuses += 1
        if response.status_code == 201:
            acknowledged.append(response.json()["id"])
            return True
        assert response.status_code == 503, response.text
        assert "retry" in response.json()["detail"]
        return False

    try:
        with TestClient(create_app(context=ctx)) as client:
            headers = login(client, "ct")
            for _ in range(10):
                assert create(headers)
            own_pg.crash()
            for _ in range(5):
                refused += not create(headers)
            assert client.get("/health").status_code == 503
            own_pg.start()
            for _ in range(refused + 10):  # the client retries what was refused
                assert create(headers)
            assert client.get("/health").status_code == 200
        with ctx.engine.connect() as connection:
            stored = Counter(connection.execute(text("SELECT id FROM incidents")).scalars())
    finally:
        ctx.close()
    events = Counter(decode(INCIDENTS, mid, f).data["id"]
                     for mid, f in redis.Redis.from_url(redis_url).xrange(INCIDENTS)
                     if f[b"type"] == b"incident.created")
    print(f"postgres crash: {len(acknowledged)} acknowledged, {refused} refused with 503 "
          f"and retried, {len(set(acknowledged) - set(stored))} lost, codes {dict(codes)}")
    record_property("postgres_crash_lost", len(set(acknowledged) - set(stored)))
    assert refused == 5
    assert sorted(stored) == sorted(acknowledged) and set(stored.values()) == {1}
    assert len(acknowledged) == 25
    assert set(events) == set(acknowledged) and set(events.values()) == {1}
