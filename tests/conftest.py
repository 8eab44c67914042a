"""Shared fixtures: real PostgreSQL and Redis, and the data in ../shared/data.

Each test area gets its own Redis database number so areas never see each other's keys,
and each pytest run gets its own throwaway PostgreSQL database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("H15_TEST_PG_ADMIN_URL", "postgresql://127.0.0.1:5432/test")
REDIS_BASE_URL = os.environ.get("H15_TEST_REDIS_URL", "redis://127.0.0.1:6379")

# One Redis database per test area (tests/<area>/...); 0 is left to people running by hand.
REDIS_DB_BY_AREA = {
    "foundation": 1,
    "telephony": 2,
    "speech": 3,
    "routing": 4,
    "vision": 5,
    "intake": 6,
    "alerts": 7,
    "workflow": 8,
    "e2e": 9,
    "hardening": 10,
}


def data_dir() -> Path:
    """Where ../shared/data lives; H15_DATA_DIR overrides it."""
    return Path(os.environ.get("H15_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))


def require_data(relative: str) -> Path:
    """Return a path in the shared data; missing data fails under CI and skips elsewhere."""
    path = data_dir() / relative
    if not path.exists():
        message = f"shared data missing: {path} (set H15_DATA_DIR to the shared/data folder)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return data_dir()


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A real Redis database reserved for this test area, emptied before each test."""
    import redis

    area = Path(str(request.node.fspath)).relative_to(REPO_ROOT / "tests").parts[0]
    db = REDIS_DB_BY_AREA.get(area, 11)
    url = f"{REDIS_BASE_URL}/{db}"
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"Redis is not reachable at {REDIS_BASE_URL}: {exc}")
    yield url
    client.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this pytest run, dropped at the end."""
    import psycopg

    name = f"h15t_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture(scope="session")
def migrated_pg(pg_url: str) -> str:
    """This run's PostgreSQL database, migrated to head once."""
    from dispatch.database.migrate import upgrade

    upgrade(pg_url)
    return pg_url


@pytest.fixture
def settings(migrated_pg: str, redis_url: str):  # type: ignore[no-untyped-def]
    from dispatch.settings import load_settings

    return load_settings(database_url=migrated_pg, redis_url=redis_url, secret_key=TEST_SECRET)


@pytest.fixture
def ctx(settings):  # type: ignore[no-untyped-def]
    """An application context on emptied tables and this area's Redis database."""
    from sqlalchemy import text

    from dispatch.context import AppContext
    from dispatch.database.models import Base

    context = AppContext.from_settings(settings)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with context.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield context
    context.close()


@pytest.fixture
def client(ctx):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from dispatch.api import create_app

    with TestClient(create_app(context=ctx)) as test_client:
        yield test_client
