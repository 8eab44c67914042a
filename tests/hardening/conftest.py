"""Hardening fixtures: a migrated PostgreSQL database, an app context on Redis db 10, users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from dispatch.api import create_app
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.database.migrate import upgrade
from dispatch.database.models import Base
from dispatch.settings import load_settings
from dispatch.users.service import create_user
from dispatch.vocabulary import ROLES
from tests.foundation.helpers import make_stations

SECRET = "hardening-secret-key-long-enough-0123456789abcdef"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def migrated_pg(pg_url: str) -> str:
    upgrade(pg_url)
    return pg_url


@pytest.fixture
def ctx(migrated_pg: str, redis_url: str) -> Iterator[AppContext]:
    settings = load_settings(database_url=migrated_pg, redis_url=redis_url, secret_key=SECRET)
    context = AppContext.from_settings(settings)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with context.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield context
    context.close()


@pytest.fixture
def client(ctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(context=ctx)) as test_client:
        yield test_client


@pytest.fixture
def city(ctx: AppContext) -> dict[str, int]:
    """Two stations and one user per role (the SHO belongs to Civil Lines)."""
    with session_scope(ctx.sessions) as session:
        civil, model = make_stations(session)
        for role in ROLES:
            create_user(session, username=role, password=PASSWORD, role=role,
                        station_id=civil.id if role == "sho" else None)
        return {"civil": civil.id, "model": model.id}


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token",
                           data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
