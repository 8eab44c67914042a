"""Ids out of the storable range get 422 naming the parameter, on every route, never a 500.

SQLite's driver raised OverflowError (a 500) for an id beyond 64 bits; PostgreSQL refused one
beyond its `integer` columns with a vague 422. Both back-ends are checked, every route with
an `{..._id}` in its path is found from the app itself, so a new route is covered too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dispatch.api import create_app
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.ids import MAX_ID
from tests.conftest import TEST_SECRET
from tests.foundation.helpers import make_stations_and_role_users
from tests.hardening.conftest import PASSWORD, login

PARAM = re.compile(r"{(\w+_id)}")
OUT_OF_RANGE = [MAX_ID + 1, 2**63, 10**30, 0, -1]
IN_RANGE = [10**9, MAX_ID]


def id_routes(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    """(method, path, id parameters) of every documented route with an id in its path."""
    found = [(method.upper(), path, PARAM.findall(path))
             for path, operations in app.openapi()["paths"].items()
             for method in operations]
    return [(method, path, names) for method, path, names in found if names]


@pytest.fixture
def sqlite_client(tmp_path: Path) -> Iterator[TestClient]:
    """The embedded back-end (SQLite, in-process Redis), where the overflow was a 500."""
    from dispatch.database.migrate import upgrade
    from dispatch.settings import load_settings

    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'ids.db'}",
                             redis_url="memory://", secret_key=TEST_SECRET)
    upgrade(settings.database_url)
    ctx = AppContext.from_settings(settings)
    with session_scope(ctx.sessions) as session:
        make_stations_and_role_users(session, PASSWORD)
    with TestClient(create_app(context=ctx), raise_server_exceptions=False) as client:
        yield client
    ctx.close()


@pytest.fixture
def postgresql_client(ctx: AppContext, city: dict) -> Iterator[TestClient]:
    with TestClient(create_app(context=ctx), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(params=["sqlite", "postgresql"])
def any_client(request: pytest.FixtureRequest) -> TestClient:
    return request.getfixturevalue(f"{request.param}_client")


def test_every_id_route_is_found(tmp_path: Path) -> None:
    """The sweep below is only as good as the routes it finds."""
    from dispatch.settings import load_settings

    app = create_app(load_settings(database_url=f"sqlite:///{tmp_path / 'routes.db'}",
                                   redis_url="memory://", secret_key=TEST_SECRET))
    routes = {(m, p) for m, p, _ in id_routes(app)}
    assert ("POST", "/api/v1/units/{unit_id}/status") in routes
    assert ("GET", "/api/v1/incidents/{incident_id}") in routes
    assert ("GET", "/api/v1/calls/{call_id}") in routes
    assert len(routes) >= 15


def test_ids_out_of_range_get_422_naming_the_parameter(any_client: TestClient) -> None:
    headers = login(any_client, "admin")
    for method, path, names in id_routes(any_client.app):  # type: ignore[arg-type]
        for value in OUT_OF_RANGE:
            url = PARAM.sub(str(value), path)
            response = any_client.request(method, url, headers=headers, json={})
            assert response.status_code == 422, (method, url, response.text)
            locs = [e["loc"] for e in response.json()["errors"]]
            assert ["path", names[0]] in locs, (method, url, locs)
            assert names[0] in response.json()["detail"]


def test_large_ids_in_range_are_not_found(any_client: TestClient) -> None:
    headers = login(any_client, "admin")
    for method, path, _ in id_routes(any_client.app):  # type: ignore[arg-type]
        if method != "GET":
            continue
        for value in IN_RANGE:
            url = PARAM.sub(str(value), path)
            response = any_client.get(url, headers=headers)
            no_map = response.status_code == 503 and "no road map" in response.text
            assert response.status_code == 404 or no_map, (url, response.text)
    status = any_client.post(f"/api/v1/units/{MAX_ID}/status", headers=headers,
                             json={"status": "available"})
    assert status.status_code == 404, status.text


def test_huge_ids_in_a_body_are_a_client_error(any_client: TestClient) -> None:
    headers = login(any_client, "admin")
    for url, body in [("/api/v1/incidents", {"incident_type": "fire", "priority": "P2",
                                             "call_id": 10**30}),
                      ("/api/v1/units", {"call_sign": "X-1", "station_id": 10**30,
                                         "kind": "patrol_car"})]:
        response = any_client.post(url, headers=headers, json=body)
        assert response.status_code in (404, 422), (url, response.text)
