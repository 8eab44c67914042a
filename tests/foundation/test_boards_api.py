"""The control-room boards over HTTP: the incident queue (priority, then age, with each open
milestone's clock against the target in config/alerts.toml) and unit status per station."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerts.policy import load_policy
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.incidents.models import Incident, IncidentMilestone
from dispatch.incidents.service import create_incident
from dispatch.stations.service import create_station
from dispatch.units.service import create_unit
from dispatch.users.service import create_user

PW = "pw-1234"
BOX_A = {"type": "Polygon", "coordinates": [[[73.00, 33.70], [73.05, 33.70], [73.05, 33.75],
                                              [73.00, 33.75], [73.00, 33.70]]]}
BOX_B = {"type": "Polygon", "coordinates": [[[73.05, 33.70], [73.10, 33.70], [73.10, 33.75],
                                              [73.05, 33.75], [73.05, 33.70]]]}


@pytest.fixture
def floor(ctx: AppContext) -> dict:
    """Two stations; open incidents created minutes ago, one closed; units in several states."""
    policy = load_policy()
    now = datetime.now(UTC)
    with session_scope(ctx.sessions) as session:
        a = create_station(session, code="ISB-A", name="Alpha", lat=33.72, lon=73.02,
                           jurisdiction=BOX_A)
        b = create_station(session, code="ISB-B", name="Bravo", lat=33.72, lon=73.07,
                           jurisdiction=BOX_B)
        session.flush()
        create_user(session, username="disp", password=PW, role="dispatcher")
        create_user(session, username="sho_b", password=PW, role="sho", station_id=b.id)
        for sign, station, status in (("A-1", a, "available"), ("A-2", a, "en_route"),
                                      ("B-1", b, "on_scene")):
            unit = create_unit(session, call_sign=sign, station_id=station.id, kind="patrol_car")
            unit.status = status
        # (type, priority, point, minutes ago): the P3 is oldest, the fire P1 is newest.
        specs = [("noise_nuisance", "P3", (33.72, 73.02), 30),
                 ("assault_fight", "P2", (33.72, 73.07), 4),
                 ("fire", "P1", (33.72, 73.02), 1),
                 ("burglary", "P2", (33.72, 73.02), 10),
                 ("firing_shooting", "P1", (33.72, 73.07), 3)]
        ids = {}
        for kind, priority, (lat, lon), minutes in specs:
            at = now - timedelta(minutes=minutes)
            incident = create_incident(session, incident_type=kind, priority=priority,
                                       actor="test", lat=lat, lon=lon, now=at)
            session.flush()
            ids[kind] = incident.id
        closed = create_incident(session, incident_type="fire", priority="P1", actor="test",
                                 lat=33.72, lon=73.02, now=now - timedelta(hours=1))
        closed.status = "closed"
        session.flush()
        # Every milestone row is stamped `minutes` ago, as if it had really happened then.
        for kind, _, _, minutes in specs:
            at = now - timedelta(minutes=minutes)
            for row in session.scalars(select(IncidentMilestone).where(
                    IncidentMilestone.incident_id == ids[kind])):
                row.reached_at = row.received_at = at
            session.get(Incident, ids[kind]).created_at = at
    return {"ids": ids, "policy": policy, "closed": closed.id,
            "stations": {"A": a.id, "B": b.id}}


def auth(client: TestClient, user: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": user, "password": PW}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_queue_is_by_priority_then_age_with_clocks_against_the_targets(client, floor) -> None:
    body = client.get("/api/v1/boards/queue", headers=auth(client, "disp")).json()
    ids = floor["ids"]
    order = [entry["id"] for entry in body["incidents"]]
    assert order == [ids["firing_shooting"], ids["fire"], ids["burglary"],
                     ids["assault_fight"], ids["noise_nuisance"]]
    assert floor["closed"] not in order
    policy = floor["policy"]
    for entry in body["incidents"]:
        clock = entry["clock"]
        assert clock["milestone"] == "unit_dispatched"  # created, nobody sent yet
        target = policy.target_s(entry["priority"], "unit_dispatched")
        assert clock["target_s"] == target
        assert clock["elapsed_s"] == pytest.approx(entry["age_s"], abs=1)
        assert clock["fraction"] == pytest.approx(clock["elapsed_s"] / target)
        offsets = policy.offsets_s(priority=entry["priority"],
                                   incident_type=entry["incident_type"],
                                   milestone="unit_dispatched")
        # The consoles colour the ticking clock by these, so they are the policy's own.
        assert clock["tier_at_s"] == {tier.value: at for tier, at in offsets.items()}
        reached = [tier.value for tier, at in offsets.items() if clock["elapsed_s"] >= at]
        assert (clock["tier"] is None) == (not reached)
        if reached:
            assert clock["tier"] == reached[-1] or (
                clock["tier"] == "emergency" and "emergency" in reached)
    by_id = {entry["id"]: entry for entry in body["incidents"]}
    # A P1 firing three minutes without a unit is far past its target: an emergency.
    assert by_id[ids["firing_shooting"]]["clock"]["tier"] == "emergency"
    assert by_id[ids["firing_shooting"]]["clock"]["fraction"] > 1


def test_unit_board_counts_units_by_status_per_station_and_sho_sees_own(client, floor) -> None:
    body = client.get("/api/v1/boards/units", headers=auth(client, "disp")).json()
    boards = {board["code"]: board for board in body["stations"]}
    assert set(boards) == {"ISB-A", "ISB-B"}
    assert boards["ISB-A"]["counts"]["available"] == 1
    assert boards["ISB-A"]["counts"]["en_route"] == 1
    assert boards["ISB-A"]["counts"]["on_scene"] == 0
    assert [u["call_sign"] for u in boards["ISB-A"]["units"]] == ["A-1", "A-2"]
    assert boards["ISB-B"]["units"][0]["fix_age_s"] is None  # never sent a GPS fix
    own = client.get("/api/v1/boards/units", headers=auth(client, "sho_b")).json()
    assert [board["code"] for board in own["stations"]] == ["ISB-B"]
    queue = client.get("/api/v1/boards/queue", headers=auth(client, "sho_b")).json()
    assert {entry["station_id"] for entry in queue["incidents"]} == {floor["stations"]["B"]}
    assert client.get("/api/v1/boards/queue").status_code == 401


def test_queue_clocks_use_the_running_alert_policy(client, ctx, floor) -> None:
    """The demo runs its alert targets `--speed` times faster; the queue shows the same ones."""
    from dispatch.demo import scaled_policy

    ctx.extras["alert_policy"] = scaled_policy(3.0)
    try:
        body = client.get("/api/v1/boards/queue", headers=auth(client, "disp")).json()
    finally:
        ctx.extras.pop("alert_policy")
    for entry in body["incidents"]:
        normal = floor["policy"].target_s(entry["priority"], "unit_dispatched")
        assert entry["clock"]["target_s"] == pytest.approx(normal / 3)


def test_stations_for_a_point_put_the_responsible_one_first(client, floor) -> None:
    """Whom the call-taker rings: the station covering the caller, then the nearest others."""
    headers = auth(client, "disp")
    by_code = client.get("/api/v1/stations", headers=headers).json()
    assert [s["code"] for s in by_code] == ["ISB-A", "ISB-B"]
    inside_bravo = client.get("/api/v1/stations", params={"lat": 33.72, "lon": 73.051},
                              headers=headers).json()
    assert [s["code"] for s in inside_bravo] == ["ISB-B", "ISB-A"]
    inside_alpha = client.get("/api/v1/stations", params={"lat": 33.74, "lon": 73.049},
                              headers=headers).json()
    assert [s["code"] for s in inside_alpha] == ["ISB-A", "ISB-B"]
    outside = client.get("/api/v1/stations", params={"lat": 33.80, "lon": 73.09},
                         headers=headers).json()
    assert [s["code"] for s in outside] == ["ISB-B", "ISB-A"]  # nobody's: nearest first
    half = client.get("/api/v1/stations", params={"lat": 33.72}, headers=headers)
    assert half.status_code == 422 and "both lat and lon" in half.json()["detail"]
    wrong = client.get("/api/v1/stations", params={"lat": 95, "lon": 73}, headers=headers)
    assert wrong.status_code == 422
