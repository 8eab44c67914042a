"""A migrated PostgreSQL database and an application context on the real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from dispatch.api import create_app
from dispatch.context import AppContext
from dispatch.database.migrate import upgrade
from dispatch.database.models import Base
from dispatch.settings import load_settings

SECRET = "test-secret-key-that-is-long-enough-0123456789"


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
def session(ctx: AppContext) -> Iterator[Session]:
    with ctx.sessions() as db:
        yield db
        db.rollback()


@pytest.fixture
def client(ctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(context=ctx)) as test_client:
        yield test_client
