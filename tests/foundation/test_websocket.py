"""Live pushes over WebSocket: authenticated, scoped by role and station, no silent loss."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.units.service import create_unit
from dispatch.users.service import create_user
from tests.foundation.helpers import CHARING_CROSS, MODEL_TOWN_PARK, make_stations

PW = "pw-1234"


@pytest.fixture
def city(ctx: AppContext) -> dict[str, int]:
    with session_scope(ctx.sessions) as session:
        civil, model = make_stations(session)
        for name, role, station in (("ct", "call_taker", None), ("disp", "dispatcher", None),
                                    ("sup", "supervisor", None), ("sho_cl", "sho", civil.id),
                                    ("sho_mt", "sho", model.id)):
            create_user(session, username=name, password=PW, role=role, station_id=station)
        unit_cl = create_unit(session, call_sign="CL-1", station_id=civil.id, kind="patrol_car")
        unit_mt = create_unit(session, call_sign="MT-1", station_id=model.id, kind="patrol_car")
        return {"unit_cl": unit_cl.id, "unit_mt": unit_mt.id}


def token(client: TestClient, user: str) -> str:
    return client.post("/api/v1/auth/token", data={"username": user, "password": PW}
                       ).json()["access_token"]


def auth(client: TestClient, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(client, user)}"}


def new_incident(client: TestClient, where: tuple[float, float], kind: str = "burglary") -> int:
    response = client.post("/api/v1/incidents", headers=auth(client, "ct"), json={
        "incident_type": kind, "priority": "P2", "lat": where[0], "lon": where[1]})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def receive_until(ws, wanted_type: str, limit: int = 50) -> dict:  # type: ignore[no-untyped-def]
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == wanted_type:
            return msg
    raise AssertionError(f"no {wanted_type} message")


def test_bad_token_and_wrong_role_are_refused(client: TestClient, city: dict) -> None:
    with client.websocket_connect("/ws/supervisor") as ws:
        ws.send_json({"token": "garbage"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401
    with client.websocket_connect("/ws/supervisor") as ws:
        ws.send_json({"token": token(client, "ct")})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403 and "call_taker" in closed.value.reason


def test_supervisor_sees_incidents_live(client: TestClient, city: dict) -> None:
    with client.websocket_connect("/ws/supervisor") as ws:
        ws.send_json({"token": token(client, "sup")})
        assert ws.receive_json()["type"] == "hello"
        incident_id = new_incident(client, CHARING_CROSS, "fire")
        created = receive_until(ws, "incident.created")
        assert created["data"]["id"] == incident_id
        assert created["data"]["incident_type"] == "fire"


def test_handset_gets_only_its_station(client: TestClient, city: dict) -> None:
    dispatcher = auth(client, "disp")
    with client.websocket_connect("/ws/handset") as ws:
        ws.send_json({"token": token(client, "sho_cl")})
        assert ws.receive_json()["data"]["channel"] == "handset"
        other = new_incident(client, MODEL_TOWN_PARK)
        client.post(f"/api/v1/incidents/{other}/assignments", headers=dispatcher,
                    json={"unit_id": city["unit_mt"]})
        mine = new_incident(client, CHARING_CROSS)
        client.post(f"/api/v1/incidents/{mine}/assignments", headers=dispatcher,
                    json={"unit_id": city["unit_cl"]})
        assigned = receive_until(ws, "assignment.created")
        # The Model Town assignment came first on the stream but never reached this handset.
        assert assigned["data"]["incident_id"] == mine
        assert assigned["data"]["call_sign"] == "CL-1"


def test_reconnect_catches_up_without_loss_or_duplicates(client: TestClient, city: dict) -> None:
    sup = token(client, "sup")
    with client.websocket_connect("/ws/supervisor") as ws:
        ws.send_json({"token": sup})
        ws.receive_json()
        first = new_incident(client, CHARING_CROSS)
        last_seen = receive_until(ws, "incident.created")
        assert last_seen["data"]["id"] == first
    # Offline: three incidents happen.
    missed = [new_incident(client, CHARING_CROSS) for _ in range(3)]
    with client.websocket_connect("/ws/supervisor") as ws:
        ws.send_json({"token": sup, "since": {last_seen["stream"]: last_seen["id"]}})
        ws.receive_json()
        replayed = [receive_until(ws, "incident.created")["data"]["id"] for _ in missed]
        assert replayed == missed
        live = new_incident(client, CHARING_CROSS)
        assert receive_until(ws, "incident.created")["data"]["id"] == live
