"""The street map in Debian's Chromium: every console draws the loaded map's vector tiles with
street names (MapLibre GL JS under Leaflet), asks no other origin for anything, and falls back
to plain road lines where WebGL is missing. Screenshots at zoom 15 around a real police station
land in test-artifacts/screenshots/basemap-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.settings import Settings
from dispatch.stations.service import create_station
from dispatch.units.service import create_unit
from dispatch.users.service import create_user
from routing.types import Poi
from tests.workflow.conftest import PASSWORD, LiveServer, screenshot, serving

pytestmark = pytest.mark.slow
CONSOLES = (("/console/call-taker", "ct", False), ("/console/supervisor", "sup", False),
            ("/console/handset", "sho", True))
NO_WEBGL = """
const original = HTMLCanvasElement.prototype.getContext;
HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
  return String(kind).startsWith('webgl') || kind === 'experimental-webgl'
    ? null : original.call(this, kind, ...rest);
};"""
# Centre the Leaflet map on a point at zoom 15 and resolve once MapLibre has drawn it, with the
# names it placed on screen in one layer.
SHOW_AT = """async ([lat, lon, layer]) => {
  const map = document.querySelector('#map').h15Map;
  const gl = map.h15Basemap;
  // A repaint ends in 'idle' even when the view did not change; never wait past 30 s.
  const drawn = new Promise((resolve) => { gl.once('idle', resolve); setTimeout(resolve, 30000); });
  map.setView([lat, lon], 15, { animate: false });
  gl.triggerRepaint();
  await drawn;
  await new Promise((resolve) => setTimeout(resolve, 300));
  const labels = gl.queryRenderedFeatures({ layers: [layer] });
  return { zoom: map.getZoom(), names: [...new Set(labels.map((f) => f.properties.name))] };
}"""


@pytest.fixture
def station_server(settings: Settings, ctx: AppContext, twin_cities_map: Path
                   ) -> Iterator[tuple[LiveServer, Poi, set[str]]]:
    with serving(settings, ctx, twin_cities_map) as server:
        from dispatch.maps.service import map_service

        graph = map_service(server.app.state.ctx).graph
        police = next(p for p in graph.pois("police") if "Kohsar" in p.name)
        # Streets within ~250 m of the station: a zoom-15 view shows them.
        near = {s.name for s in graph.street_names()
                if abs(s.lat - police.lat) < 0.0025 and abs(s.lon - police.lon) < 0.003}
        with session_scope(ctx.sessions) as session:
            # A jurisdiction ~1 km around the station, drawn as an outline over the basemap.
            ring = [[police.lon + dx, police.lat + dy] for dx, dy in
                    ((-0.006, -0.005), (0.006, -0.005), (0.006, 0.005), (-0.006, 0.005),
                     (-0.006, -0.005))]
            station = create_station(session, code="ISB-KOH", name=police.name, lat=police.lat,
                                     lon=police.lon,
                                     jurisdiction={"type": "Polygon", "coordinates": [ring]})
            for name, role in (("ct", "call_taker"), ("disp", "dispatcher"),
                               ("sup", "supervisor")):
                create_user(session, username=name, password=PASSWORD, role=role)
            create_user(session, username="sho", password=PASSWORD, role="sho",
                        station_id=station.id)
            unit = create_unit(session, call_sign="KOH-1", station_id=station.id,
                               kind="patrol_car")
            unit.last_lat, unit.last_lon = police.lat, police.lon
        yield server, police, near


def test_every_console_shows_named_streets_around_a_station_from_this_origin_only(
        open_console, station_server) -> None:
    server, police, near = station_server
    assert near, "the station's surroundings have named streets in the graph"
    origin = urlsplit(server.url).netloc
    for path, user, phone in CONSOLES:
        requested: list[str] = []
        page = open_console(server, path, user, phone=phone, where=(police.lat, police.lon))
        # Logged in (the token survives a reload): log every request of a fresh page load.
        page.on("request", lambda request, log=requested: log.append(request.url))
        page.reload()
        page.wait_for_selector("body[data-ready='true'] #conn.live", timeout=15_000)
        page.wait_for_selector("#map[data-basemap='vector']", state="attached", timeout=60_000)
        shown = page.evaluate(SHOW_AT, [police.lat, police.lon, "road-labels"])
        assert shown["zoom"] == 15
        assert set(shown["names"]) & near, (path, shown["names"], near)
        assert page.get_attribute("#map", "data-basemap-error") is None
        screenshot(page, f"basemap-{path.rsplit('/', 1)[-1]}")
        foreign = [url for url in requested
                   if urlsplit(url).scheme not in ("data", "blob")
                   and urlsplit(url).netloc != origin]
        assert not foreign, f"{path} asked another origin: {foreign}"
        assert any("/api/v1/map/tiles/" in url for url in requested), path
        assert any("maplibre-gl-worker.mjs" in url for url in requested), path


def test_without_webgl_the_console_falls_back_to_road_lines(open_console,
                                                            station_server) -> None:
    server, police, _ = station_server
    page = open_console(server, "/console/supervisor", "sup", init_script=NO_WEBGL)
    page.wait_for_selector("#map[data-roads]", state="attached", timeout=60_000)
    assert int(page.get_attribute("#map", "data-roads")) > 1000
    assert page.get_attribute("#map", "data-basemap") is None


def test_urdu_names_are_labelled_in_urdu(open_console, station_server) -> None:
    """G-7, Islamabad, is tagged name:ur = "جی - 7": its label is drawn (MapLibre shapes and
    orders it right to left with the device's fonts; see basemap-urdu-g7.png)."""
    server, _, _ = station_server
    page = open_console(server, "/console/supervisor", "sup")
    page.wait_for_selector("#map[data-basemap='vector']", state="attached", timeout=60_000)
    names = page.evaluate(SHOW_AT, [33.7066, 73.0690, "places"])["names"]
    screenshot(page, "basemap-urdu-g7")
    assert "جی - 7" in names
