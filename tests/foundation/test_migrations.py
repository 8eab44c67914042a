"""Migrations go from empty to head and back on PostgreSQL and SQLite; history is append-only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import inspect, text

from dispatch.database.core import make_engine
from dispatch.database.migrate import current_revision, downgrade, upgrade
from dispatch.database.models import Base
from tests.conftest import PG_ADMIN_URL

EXPECTED_TABLES = set(Base.metadata.tables)


@pytest.fixture
def empty_pg() -> Iterator[str]:
    """A database of its own, because this test empties and refills the schema."""
    name = f"h15t_migrations_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_postgres_empty_to_head_and_back(empty_pg: str) -> None:
    assert tables(empty_pg) == set()
    upgrade(empty_pg)
    assert tables(empty_pg) == EXPECTED_TABLES
    assert current_revision(empty_pg) is not None
    downgrade(empty_pg, "base")
    assert tables(empty_pg) == set()
    assert current_revision(empty_pg) is None
    upgrade(empty_pg)
    assert tables(empty_pg) == EXPECTED_TABLES


def test_sqlite_empty_to_head_and_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h15.db'}"
    upgrade(url)
    assert tables(url) == EXPECTED_TABLES
    downgrade(url, "base")
    assert tables(url) == set()


def test_postgres_refuses_rewriting_the_audit_trail(empty_pg: str) -> None:
    upgrade(empty_pg)
    engine = make_engine(empty_pg)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO audit_log (at, actor, action, entity_type, entity_id) "
                "VALUES (now(), 'alice', 'incident.create', 'incident', '1')"))
            connection.execute(text(
                "INSERT INTO status_history (at, entity_type, entity_id, to_status, actor) "
                "VALUES (now(), 'incident', 1, 'open', 'alice')"))
        for statement in ("UPDATE audit_log SET actor = 'mallory'",
                          "DELETE FROM audit_log",
                          "UPDATE status_history SET to_status = 'closed'",
                          "DELETE FROM status_history"):
            with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
        with engine.connect() as connection:
            actor = connection.execute(text("SELECT actor FROM audit_log")).scalar_one()
        assert actor == "alice"
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_receipt_times_are_backfilled_and_the_trail_stays_append_only(
        backend: str, empty_pg: str, tmp_path: Path) -> None:
    """0006 adds `received_at` to rows written before it (equal to their stamped time, which the
    server wrote), through PostgreSQL's append-only trigger, and leaves the trigger on."""
    url = empty_pg if backend == "postgresql" else f"sqlite:///{tmp_path / 'h15.db'}"
    upgrade(url, "0005")
    engine = make_engine(url)
    stamped = "2026-11-22 09:00:00+00:00"
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO incidents (incident_type, priority, status, location_confirmed, "
                f"created_at) VALUES ('fire', 'P1', 'open', false, '{stamped}')"))
            connection.execute(text(
                "INSERT INTO incident_milestones (incident_id, milestone, reached_at) "
                f"VALUES (1, 'incident_created', '{stamped}')"))
            connection.execute(text(
                "INSERT INTO status_history (at, entity_type, entity_id, to_status, actor) "
                f"VALUES ('{stamped}', 'incident', 1, 'open', 'alice')"))
        upgrade(url)
        with engine.connect() as connection:
            for table, column in (("status_history", "at"), ("incident_milestones",
                                                             "reached_at")):
                same = connection.execute(text(
                    f"SELECT received_at = {column} FROM {table}")).scalar_one()
                assert same in (True, 1), table
        if backend == "postgresql":
            with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
                connection.execute(text("UPDATE status_history SET received_at = now()"))
    finally:
        engine.dispose()
