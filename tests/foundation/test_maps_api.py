"""Recommendations, ETAs and the road layer over HTTP on the real Islamabad–Rawalpindi map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.maps.service import (
    HOME_STATION_PREFERENCE_S,
    load_map,
    map_service,
    refresh_congestion,
)
from dispatch.stations.service import create_station
from dispatch.units.service import create_unit
from dispatch.users.service import create_user
from routing import RoadGraph
from tests.conftest import REPO_ROOT, require_data

PW = "pw-1234"
# Cached across runs on this machine (var/ is not committed); compiled once per input hash.
MAP_CACHE = REPO_ROOT / "var" / "test-maps"


@pytest.fixture(scope="session")
def twin_cities_map() -> Path:
    from routing.compile import compile_map

    return compile_map(require_data("osm/islamabad_rawalpindi.osm.pbf"), MAP_CACHE,
                       name="twin")


@pytest.fixture
def city(ctx: AppContext, twin_cities_map: Path) -> dict:
    graph = load_map(ctx, twin_cities_map)
    police = sorted(graph.pois("police"), key=lambda p: p.name)[:4]
    with session_scope(ctx.sessions) as session:
        for name, role in (("disp", "dispatcher"), ("sup", "supervisor")):
            create_user(session, username=name, password=PW, role=role)
        stations = [create_station(session, code=f"PS{n}", name=p.name, lat=p.lat, lon=p.lon)
                    for n, p in enumerate(police)]
        units = []
        for n, station in enumerate(stations):
            unit = create_unit(session, call_sign=f"U{n}", station_id=station.id,
                               kind="patrol_car")
            unit.last_lat, unit.last_lon = station.lat, station.lon
            units.append(unit.id)
        parked = create_unit(session, call_sign="NOFIX", station_id=stations[0].id,
                             kind="motorcycle")
        busy = create_unit(session, call_sign="BUSY", station_id=stations[0].id,
                           kind="patrol_car")
        busy.status, busy.last_lat, busy.last_lon = "busy", police[0].lat, police[0].lon
    return {"graph": graph, "police": police, "units": units, "parked": parked.id}


def headers(client: TestClient, user: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": user, "password": PW}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def incident_near(client: TestClient, lat: float, lon: float) -> int:
    response = client.post("/api/v1/incidents", headers=headers(client, "disp"), json={
        "incident_type": "assault_fight", "priority": "P2", "lat": lat, "lon": lon})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_recommendations_rank_available_units_by_road_eta(client: TestClient, city: dict) -> None:
    graph: RoadGraph = city["graph"]
    target = city["police"][2]
    incident_id = incident_near(client, target.lat + 0.004, target.lon + 0.004)
    body = client.get(f"/api/v1/incidents/{incident_id}/recommendations?k=4",
                      headers=headers(client, "disp")).json()
    recs = body["recommendations"]
    assert {r["call_sign"] for r in recs} == {"U0", "U1", "U2", "U3"}  # not BUSY
    assert body["skipped"] == {str(city["parked"]): body["skipped"][str(city["parked"])]}
    for rec in recs:  # every ETA is the graph's own answer for that unit
        unit_pos = city["police"][int(rec["call_sign"][1:])]
        expected = graph.eta(unit_pos.lat, unit_pos.lon, target.lat + 0.004, target.lon + 0.004)
        assert rec["eta_s"] == pytest.approx(expected.eta_s, rel=1e-6)
        assert rec["route"][0] == pytest.approx([unit_pos.lat, unit_pos.lon], abs=0.01)
    # No jurisdictions drawn: the nearest station owns the incident, and its unit is preferred
    # by up to HOME_STATION_PREFERENCE_S over a unit of another station.
    assert [r["call_sign"] for r in recs if r["home_station"]] == ["U2"]
    scores = [r["eta_s"] - (HOME_STATION_PREFERENCE_S if r["home_station"] else 0) for r in recs]
    assert scores == sorted(scores)


def test_congestion_changes_the_eta(client: TestClient, ctx: AppContext, city: dict) -> None:
    target = city["police"][1]
    incident_id = incident_near(client, target.lat + 0.003, target.lon - 0.003)
    url = f"/api/v1/incidents/{incident_id}/recommendations?k=1"
    before = client.get(url, headers=headers(client, "disp")).json()["recommendations"][0]
    # A camera reports the whole chosen route jammed (factor 4).
    unit_pos = city["police"][int(before["call_sign"][1:])]
    chosen = city["graph"].eta(unit_pos.lat, unit_pos.lon, target.lat + 0.003,
                               target.lon - 0.003)
    ctx.redis.set("h15:congestion:cam:test", json.dumps({
        "camera_id": "test", "edges": chosen.edge_ids, "factor": 4.0, "level": 1.0,
        "label": "jammed", "confidence": 0.9, "reliable": True}), ex=30)
    assert refresh_congestion(ctx) > 0
    after = client.get(url, headers=headers(client, "disp")).json()["recommendations"][0]
    # Slower than free flow, but never worse than crawling the jammed route at a quarter speed:
    # the router detours (or sends another unit) when that is faster.
    assert before["eta_s"] < after["eta_s"] <= 4 * before["eta_s"] + 1e-6
    if after["call_sign"] == before["call_sign"]:
        detour = city["graph"].eta(unit_pos.lat, unit_pos.lon, target.lat + 0.003,
                                   target.lon - 0.003)
        assert after["eta_s"] == pytest.approx(detour.eta_s)
        assert detour.edge_ids != chosen.edge_ids or after["eta_s"] == pytest.approx(
            4 * before["eta_s"], rel=0.05)
    ctx.redis.delete("h15:congestion:cam:test")  # the camera's reading expires
    refresh_congestion(ctx)
    again = client.get(url, headers=headers(client, "disp")).json()["recommendations"][0]
    assert again["eta_s"] == pytest.approx(before["eta_s"])


def test_eta_bad_points_and_road_layer(client: TestClient, city: dict) -> None:
    a, b = city["police"][0], city["police"][3]
    ok = client.post("/api/v1/routing/eta", headers=headers(client, "disp"),
                     json={"from": {"lat": a.lat, "lon": a.lon}, "to": {"lat": b.lat,
                                                                          "lon": b.lon}})
    assert ok.status_code == 200 and ok.json()["eta_s"] > 0 and len(ok.json()["route"]) > 2
    outside = client.post("/api/v1/routing/eta", headers=headers(client, "disp"),
                          json={"from": {"lat": 31.52, "lon": 74.35}, "to": {"lat": b.lat,
                                                                               "lon": b.lon}})
    assert outside.status_code == 422 and "outside the map" in outside.json()["detail"]
    roads = client.get("/api/v1/map/roads", headers=headers(client, "sup"))
    assert roads.status_code == 200
    features = roads.json()["features"]
    assert len(features) > 20_000
    assert any(f["properties"]["name"] for f in features)


def test_no_map_is_a_clear_503(client: TestClient, ctx: AppContext) -> None:
    map_service(ctx)  # an empty map service
    with session_scope(ctx.sessions) as session:
        create_user(session, username="disp", password=PW, role="dispatcher")
    response = client.post("/api/v1/routing/eta", headers=headers(client, "disp"),
                           json={"from": {"lat": 33.7, "lon": 73.0},
                                 "to": {"lat": 33.6, "lon": 73.1}})
    assert response.status_code == 503 and "no road map" in response.json()["detail"]



def test_triage_finds_places_of_the_loaded_map(client: TestClient, city: dict) -> None:
    kohsar = next(p for p in city["graph"].pois("police") if "Kohsar" in p.name)
    response = client.post("/api/v1/intake/triage", headers=headers(client, "disp"),
                           json={"text": "road accident near kohsar police station"})
    location = response.json()["location"]
    assert location["source"] == "osm" and "Kohsar" in location["text"]
    assert abs(location["lat"] - kohsar.lat) < 0.003 and abs(location["lon"] - kohsar.lon) < 0.003


def test_auto_dispatch_rule_for_p1_is_off_by_default(client: TestClient, ctx: AppContext,
                                                     city: dict) -> None:
    spot = city["police"][1]
    body = {"incident_type": "firing_shooting", "priority": "P1", "lat": spot.lat + 0.002,
            "lon": spot.lon + 0.002}
    manual = client.post("/api/v1/incidents", headers=headers(client, "disp"), json=body).json()
    assert manual["status"] == "open"
    ctx.settings = ctx.settings.model_copy(update={"auto_dispatch_p1": True})
    auto = client.post("/api/v1/incidents", headers=headers(client, "disp"), json=body).json()
    assert auto["status"] == "dispatched"
    assigned = client.get(f"/api/v1/incidents/{auto['id']}/assignments",
                          headers=headers(client, "disp")).json()
    assert [a["assigned_by"] for a in assigned] == ["auto-dispatch"]
    p2 = client.post("/api/v1/incidents", headers=headers(client, "disp"),
                     json={**body, "priority": "P2"}).json()
    assert p2["status"] == "open"  # the rule covers P1 only
