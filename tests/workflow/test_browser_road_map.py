"""With a real road map loaded (Islamabad-Rawalpindi OSM), the consoles draw roads and routes.

No tile server: the base map is drawn from our own map, the recommended units come with road ETAs,
and the handset draws the route on the roads, not a straight line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.settings import Settings
from dispatch.stations.service import create_station
from dispatch.units.service import create_unit
from dispatch.users.service import create_user
from tests.workflow.conftest import PASSWORD, LiveServer, screenshot, serving

pytestmark = pytest.mark.slow


@pytest.fixture
def map_server(settings: Settings, ctx: AppContext, twin_cities_map: Path
               ) -> Iterator[tuple[LiveServer, dict]]:
    with serving(settings, ctx, twin_cities_map) as server:
        from dispatch.maps.service import map_service

        graph = map_service(server.app.state.ctx).graph
        police = sorted(graph.pois("police"), key=lambda p: p.name)[:3]
        hospital = sorted(graph.pois("hospital"), key=lambda p: p.name)[0]
        with session_scope(ctx.sessions) as session:
            create_user(session, username="disp", password=PASSWORD, role="dispatcher")
            units = {}
            for n, place in enumerate(police):
                station = create_station(session, code=f"PS{n}", name=place.name, lat=place.lat,
                                         lon=place.lon)
                unit = create_unit(session, call_sign=f"ISB-{n}", station_id=station.id,
                                   kind="patrol_car")
                unit.last_lat, unit.last_lon = place.lat, place.lon
                session.flush()
                units[unit.id] = (station.id, place.lat, place.lon)
        yield server, {"units": units, "hospital": hospital}


def test_roads_and_road_routes_are_drawn_from_our_own_map(
        open_console, map_server: tuple[LiveServer, dict], ctx: AppContext) -> None:
    server, place = map_server
    hospital = place["hospital"]
    call_taker = open_console(server, "/console/call-taker", "disp")
    # The map has vector tiles (built at import): the basemap draws them, not GeoJSON lines
    # (the fallback without WebGL is in test_browser_basemap.py).
    call_taker.wait_for_selector("#map[data-basemap='vector']", state="attached", timeout=60_000)

    call_taker.focus("#f-type")
    call_taker.keyboard.type("Med")
    call_taker.keyboard.press("Tab")
    call_taker.keyboard.type("P1")
    call_taker.focus("#f-location")
    call_taker.keyboard.type(hospital.name)
    call_taker.keyboard.press("Tab")
    call_taker.keyboard.type(f"{hospital.lat:.6f}")
    call_taker.keyboard.press("Tab")
    call_taker.keyboard.type(f"{hospital.lon:.6f}")
    call_taker.keyboard.press("Enter")
    incident_id = int(call_taker.wait_for_selector("#incident-card[data-incident-id]")
                      .get_attribute("data-incident-id"))
    first = call_taker.wait_for_selector("#recommendations li.rec.selected")
    assert re.search(r"ETA \d+m \d+s", first.inner_text()), first.inner_text()
    call_taker.wait_for_selector("path.route.road", state="attached")
    with server.api("disp") as api:
        ranked = api.get(f"/incidents/{incident_id}/recommendations?k=3").json()
    assert int(first.get_attribute("data-unit-id")) == ranked["recommendations"][0]["unit_id"]
    shown = [int(li.get_attribute("data-unit-id"))
             for li in call_taker.query_selector_all("#recommendations li")]
    assert shown == [r["unit_id"] for r in ranked["recommendations"]]
    call_taker.keyboard.press("Enter")
    unit_id = shown[0]
    call_taker.wait_for_selector(f"#recommendations li.dispatched[data-unit-id='{unit_id}']")
    screenshot(call_taker, "call-taker-road-map")

    station_id, lat, lon = place["units"][unit_id]
    with session_scope(ctx.sessions) as session:
        create_user(session, username="sho", password=PASSWORD, role="sho",
                    station_id=station_id)
    handset = open_console(server, "/console/handset", "sho", phone=True, where=(lat, lon))
    handset.wait_for_selector("#assignment[data-status='dispatched']")
    handset.wait_for_selector("path.route.road", state="attached")
    assert handset.query_selector("path.route.straight") is None
    screenshot(handset, "handset-road-route")
