"""Hardening fixtures: a migrated PostgreSQL database, an app context on Redis db 10, users,
a redis-server of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dispatch.context import AppContext
from dispatch.database.core import session_scope
from tests.conftest import TEST_SECRET
from tests.foundation.helpers import make_stations_and_role_users
from tests.hardening.servers import ThrowawayRedis

SECRET = TEST_SECRET
PASSWORD = "correct horse battery"


@pytest.fixture
def city(ctx: AppContext) -> dict[str, int]:
    """Two stations and one user per role (the SHO belongs to Civil Lines)."""
    with session_scope(ctx.sessions) as session:
        civil, model = make_stations_and_role_users(session, PASSWORD)
        return {"civil": civil.id, "model": model.id}


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    """A redis-server of the test's own, which it may kill and restart (data kept)."""
    server = ThrowawayRedis(tmp_path / "redis").start()
    yield server
    server.kill()


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token",
                           data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
