"""Every route requires a token (except /health) and enforces its roles; SHOs see one station."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from dispatch.auth.security import issue_token
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.incidents.service import create_incident
from dispatch.units.service import create_unit
from dispatch.vocabulary import ROLES
from tests.foundation.helpers import (
    CHARING_CROSS,
    MODEL_TOWN_PARK,
    make_stations_and_role_users,
)

PASSWORD = "correct horse battery"
ALL = set(ROLES)
# The agreement: which roles may call each route (admin may call all).
MATRIX: dict[tuple[str, str], set[str]] = {
    ("POST", "/api/v1/auth/revoke"): ALL,
    ("GET", "/api/v1/users/me"): ALL,
    ("POST", "/api/v1/users"): {"admin"},
    ("GET", "/api/v1/stations"): ALL,
    ("POST", "/api/v1/stations"): {"admin"},
    ("GET", "/api/v1/units"): ALL,
    ("POST", "/api/v1/units"): {"supervisor", "admin"},
    ("GET", "/api/v1/units/{unit_id}"): ALL,
    ("POST", "/api/v1/units/{unit_id}/position"): {"sho", "admin"},
    ("POST", "/api/v1/units/{unit_id}/status"): {"sho", "dispatcher", "supervisor", "admin"},
    ("GET", "/api/v1/calls"): {"call_taker", "dispatcher", "supervisor", "admin"},
    ("GET", "/api/v1/calls/{call_id}"): {"call_taker", "dispatcher", "supervisor", "admin"},
    ("POST", "/api/v1/calls/{call_id}/conference"): {"call_taker", "dispatcher", "admin"},
    ("POST", "/api/v1/incidents"): {"call_taker", "dispatcher", "supervisor", "admin"},
    ("GET", "/api/v1/incidents"): ALL,
    ("GET", "/api/v1/incidents/{incident_id}"): ALL,
    ("PATCH", "/api/v1/incidents/{incident_id}"): {"call_taker", "dispatcher", "supervisor",
                                                   "admin"},
    ("POST", "/api/v1/incidents/{incident_id}/assignments"): {"dispatcher", "supervisor",
                                                              "admin"},
    ("GET", "/api/v1/incidents/{incident_id}/assignments"): ALL,
    ("GET", "/api/v1/incidents/{incident_id}/duplicates"): {"call_taker", "dispatcher",
                                                            "supervisor", "admin"},
    ("POST", "/api/v1/incidents/{incident_id}/merge"): {"call_taker", "dispatcher",
                                                        "supervisor", "admin"},
    ("POST", "/api/v1/assignments/{assignment_id}/status"): {"sho", "dispatcher", "supervisor",
                                                             "admin"},
    ("GET", "/api/v1/alerts"): {"supervisor", "admin"},
    ("POST", "/api/v1/alerts/{alert_id}/ack"): {"supervisor", "admin"},
    ("GET", "/api/v1/alerts/{alert_id}/deliveries"): {"supervisor", "admin"},
    ("GET", "/api/v1/audit"): {"supervisor", "admin"},
    ("GET", "/api/v1/metrics"): {"supervisor", "admin"},
    ("POST", "/api/v1/intake/triage"): {"call_taker", "dispatcher", "supervisor", "admin"},
    ("POST", "/api/v1/location/aml"): {"call_taker", "dispatcher", "supervisor", "admin"},
    ("GET", "/api/v1/incidents/{incident_id}/recommendations"): {"dispatcher", "call_taker",
                                                                 "supervisor", "admin"},
    ("POST", "/api/v1/routing/eta"): {"dispatcher", "call_taker", "sho", "supervisor", "admin"},
    ("GET", "/api/v1/map/roads"): ALL,
    ("GET", "/api/v1/map/style.json"): ALL,
    ("GET", "/api/v1/map/tiles/{z}/{x}/{y}.pbf"): ALL,
    ("GET", "/api/v1/boards/queue"): ALL,
    ("GET", "/api/v1/boards/units"): ALL,
    ("GET", "/api/v1/kpi"): {"supervisor", "sho", "admin"},
    ("GET", "/api/v1/kpi/export.csv"): {"supervisor", "admin"},
    ("GET", "/api/v1/cameras"): {"supervisor", "sho", "admin"},
    ("GET", "/api/v1/calls/{call_id}/history"): {"call_taker", "dispatcher", "supervisor",
                                                 "admin"},
}
PUBLIC = {("POST", "/api/v1/auth/token"), ("GET", "/api/v1/health"), ("GET", "/health")}


@pytest.fixture
def city(ctx: AppContext) -> dict[str, int]:
    with session_scope(ctx.sessions) as session:
        civil, model = make_stations_and_role_users(session, PASSWORD)
        unit_cl = create_unit(session, call_sign="CL-1", station_id=civil.id, kind="patrol_car")
        unit_mt = create_unit(session, call_sign="MT-1", station_id=model.id, kind="patrol_car")
        inc_cl = create_incident(session, incident_type="burglary", priority="P3", actor="t",
                                 lat=CHARING_CROSS[0], lon=CHARING_CROSS[1])
        inc_mt = create_incident(session, incident_type="burglary", priority="P3", actor="t",
                                 lat=MODEL_TOWN_PARK[0], lon=MODEL_TOWN_PARK[1])
        return {"civil": civil.id, "model": model.id, "unit_cl": unit_cl.id,
                "unit_mt": unit_mt.id, "inc_cl": inc_cl.id, "inc_mt": inc_mt.id}


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token",
                           data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def concrete(path: str) -> str:
    return (path.replace("{unit_id}", "1").replace("{call_id}", "1")
            .replace("{incident_id}", "1").replace("{assignment_id}", "1")
            .replace("{alert_id}", "1").replace("{z}/{x}/{y}", "15/23065/13244"))


def test_matrix_covers_every_route(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    routes = {(method.upper(), path) for path, operations in paths.items()
              for method in operations}
    assert routes - PUBLIC == set(MATRIX), "every route needs a row in the role matrix"


def test_health_needs_no_token(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_no_token_is_refused_with_a_message(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, concrete(path))
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_each_role_logs_in_and_is_held_to_its_routes(client: TestClient, city: dict) -> None:
    for role in ROLES:
        headers = login(client, role)
        me = client.get("/api/v1/users/me", headers=headers).json()
        assert me["role"] == role
        # Revoking the token is checked last, as it ends the session.
        for (method, path), allowed in sorted(MATRIX.items(), key=lambda kv: "revoke" in kv[0][1]):
            response = client.request(method, concrete(path), headers=headers, json={})
            if role in allowed:
                assert response.status_code not in (401, 403), (role, method, path, response.text)
            else:
                assert response.status_code == 403, (role, method, path, response.text)
                assert f"role '{role}' may not" in response.json()["detail"]


def test_wrong_password_and_garbage_token(client: TestClient, city: dict) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "sho", "password": "nope"})
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong user name or password"
    response = client.get("/api/v1/units", headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 401
    assert "invalid token" in response.json()["detail"]


def test_expired_and_revoked_tokens_are_refused(client: TestClient, ctx: AppContext,
                                                city: dict) -> None:
    token, _ = issue_token(username="dispatcher", role="dispatcher", station_id=None,
                           key=ctx.settings.signing_key(), ttl=timedelta(seconds=-1))
    response = client.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    headers = login(client, "dispatcher")
    assert client.get("/api/v1/units", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    response = client.get("/api/v1/units", headers=headers)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_sho_sees_and_changes_only_own_station(client: TestClient, city: dict) -> None:
    headers = login(client, "sho")
    units = client.get("/api/v1/units", headers=headers).json()
    assert [u["call_sign"] for u in units] == ["CL-1"]
    incidents = client.get("/api/v1/incidents", headers=headers).json()
    assert [i["id"] for i in incidents] == [city["inc_cl"]]
    assert client.get(f"/api/v1/incidents/{city['inc_mt']}", headers=headers).status_code == 403
    ping = {"lat": 31.48, "lon": 74.32, "accuracy_m": 5,
            "ts": datetime.now(UTC).isoformat()}
    other = client.post(f"/api/v1/units/{city['unit_mt']}/position", headers=headers, json=ping)
    assert other.status_code == 403
    assert "another station" in other.json()["detail"]
    own = client.post(f"/api/v1/units/{city['unit_cl']}/position", headers=headers, json=ping)
    assert own.status_code == 200 and own.json()["accepted"] is True
    # A dispatcher sees the whole city.
    all_units = client.get("/api/v1/units", headers=login(client, "dispatcher")).json()
    assert {u["call_sign"] for u in all_units} == {"CL-1", "MT-1"}


def test_bad_input_gets_clear_4xx(client: TestClient, city: dict) -> None:
    headers = login(client, "call_taker")
    response = client.post("/api/v1/incidents", headers=headers,
                           json={"incident_type": "alien_landing", "priority": "P1"})
    assert response.status_code == 422
    assert "unknown incident type 'alien_landing'" in response.json()["detail"]
    response = client.post("/api/v1/incidents", headers=headers,
                           json={"incident_type": "fire", "priority": "P1", "colour": "red"})
    assert response.status_code == 422 and "colour" in response.json()["detail"]
    response = client.get("/api/v1/incidents/999999", headers=headers)
    assert response.status_code == 404 and "not found" in response.json()["detail"]


def test_dispatch_flow_over_http_with_invalid_transition(client: TestClient, city: dict) -> None:
    dispatcher = login(client, "dispatcher")
    sho = login(client, "sho")
    created = client.post(f"/api/v1/incidents/{city['inc_cl']}/assignments", headers=dispatcher,
                          json={"unit_id": city["unit_cl"]})
    assert created.status_code == 201, created.text
    assignment_id = created.json()["id"]
    bad = client.post(f"/api/v1/assignments/{assignment_id}/status", headers=sho,
                      json={"status": "cleared"})
    assert bad.status_code == 409 and "cannot go to 'cleared'" in bad.json()["detail"]
    for status in ("acknowledged", "en_route", "on_scene", "cleared"):
        step = client.post(f"/api/v1/assignments/{assignment_id}/status", headers=sho,
                           json={"status": status})
        assert step.status_code == 200, step.text
    incident = client.get(f"/api/v1/incidents/{city['inc_cl']}", headers=dispatcher).json()
    assert [m["milestone"] for m in incident["milestones"]] == [
        "call_received", "incident_created", "unit_dispatched", "unit_acknowledged",
        "unit_en_route", "unit_on_scene"]
