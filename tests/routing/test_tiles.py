"""Vector tiles built at map import: named streets around a real police station, the MBTiles
layout other tools expect, caching beside the compiled graph, and bad input."""

from __future__ import annotations

import gzip
import math
import sqlite3
from pathlib import Path

import mapbox_vector_tile
import pytest

from routing.compile import compile_map
from routing.graph import RoadGraph
from routing.sample import helsinki_pbf
from routing.tiles import (
    EXTENT,
    MAXZOOM,
    TileStore,
    build_tiles,
    tile_bounds,
    tiles_current,
    tiles_path,
)
from routing.types import MapImportError
from tests.conftest import REPO_ROOT

MAP_CACHE = REPO_ROOT / "var" / "test-maps"  # the same cache the API and browser tests use


def xyz(lat: float, lon: float, z: int) -> tuple[int, int]:
    """The slippy-map tile holding a point (the OSM wiki's formula, written independently)."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def decode(store: TileStore, z: int, x: int, y: int) -> dict:
    blob = store.tile(z, x, y)
    assert blob is not None, f"no tile {z}/{x}/{y}"
    return mapbox_vector_tile.decode(gzip.decompress(blob))


@pytest.fixture(scope="module")
def twin_tiles(twin_cities_pbf: Path) -> tuple[RoadGraph, TileStore]:
    compiled = compile_map(twin_cities_pbf, MAP_CACHE, name="twin")
    store = TileStore(tiles_path(compiled))
    yield RoadGraph.load(compiled), store
    store.close()


def test_a_tile_around_a_police_station_carries_its_street_names(twin_tiles):
    graph, store = twin_tiles
    checked = 0
    for station in graph.pois("police"):
        x, y = xyz(station.lat, station.lon, MAXZOOM)
        west, south = _lonlat(*tile_bounds(MAXZOOM, x, y)[:2])
        east, north = _lonlat(*tile_bounds(MAXZOOM, x, y)[2:])
        # Streets the routing graph knows whose point lies in this tile must be labelled in it.
        expected = {s.name for s in graph.street_names()
                    if south < s.lat < north and west < s.lon < east}
        if not expected:
            continue  # a station on the map's rural edge: no named street in its tile
        tile = decode(store, MAXZOOM, x, y)
        names = {f["properties"].get("name") for f in tile["roads"]["features"]}
        assert expected <= names, f"{station.name}: missing {sorted(expected - names)}"
        pois = [f["properties"] for f in tile["pois"]["features"]]
        assert any(p["kind"] == "police" for p in pois), station.name
        checked += 1
    assert checked >= 10  # 29 stations on the map, most of them in town


def test_tiles_hold_landmarks_water_and_parks_of_the_twin_cities(twin_tiles):
    _, store = twin_tiles
    import json

    features = json.loads(store.metadata["h15_features"])
    assert features["roads"] > 10_000 and features["water"] > 0 and features["parks"] > 0
    assert store.metadata["format"] == "pbf" and store.metadata["maxzoom"] == str(MAXZOOM)
    # Blue Area / F-6, Islamabad: a hospital, a school and a mosque are drawn there.
    x, y = xyz(33.7237, 73.0738, MAXZOOM)
    kinds = {f["properties"]["kind"] for f in decode(store, MAXZOOM, x, y)["pois"]["features"]}
    assert {"hospital", "school", "mosque"} <= kinds


def _lonlat(mx: float, my: float) -> tuple[float, float]:
    return (math.degrees(mx / 6378137.0),
            math.degrees(2 * math.atan(math.exp(my / 6378137.0)) - math.pi / 2))


def test_helsinki_tiles_are_mbtiles_with_tms_rows_and_geometry_inside_the_tile(tmp_path):
    stats = build_tiles(helsinki_pbf(), tmp_path / "hel.mbtiles", minzoom=12, maxzoom=14)
    assert stats.tiles > 0 and stats.bytes > 0 and tiles_current(stats.path)
    with sqlite3.connect(stats.path) as db:
        rows = db.execute("SELECT zoom_level, tile_column, tile_row FROM tiles").fetchall()
    assert {z for z, _, _ in rows} == {12, 13, 14}
    store = TileStore(stats.path)
    try:
        for z, x, tms_row in rows:
            tile = decode(store, z, x, (1 << z) - 1 - tms_row)  # MBTiles rows count from south
            for layer in tile.values():
                for feature in layer["features"]:
                    xs, ys = _coords(feature["geometry"]["coordinates"])
                    margin = EXTENT * 0.05
                    assert -margin <= min(xs) and max(xs) <= EXTENT + margin
                    assert -margin <= min(ys) and max(ys) <= EXTENT + margin
        # Helsinki's centre (Esplanadi) sits in the z14 tile the formula names.
        x, y = xyz(60.1675, 24.9490, 14)
        names = {f["properties"].get("name") for f in decode(store, 14, x, y)["roads"]["features"]}
        assert "Pohjoisesplanadi" in names
    finally:
        store.close()


def _coords(nested) -> tuple[list[float], list[float]]:
    flat: list[tuple[float, float]] = []

    def walk(item) -> None:
        if isinstance(item[0], (int, float)):
            flat.append((item[0], item[1]))
        else:
            for sub in item:
                walk(sub)

    walk(nested)
    return [p[0] for p in flat], [p[1] for p in flat]


def test_compile_map_caches_tiles_beside_the_graph_and_rebuilds_stale_ones(tmp_path):
    compiled = compile_map(helsinki_pbf(), tmp_path, name="hel")
    tiles = tiles_path(compiled)
    assert tiles.parent == compiled.parent and tiles.is_file()
    written = tiles.stat().st_mtime_ns
    stages: list[str] = []
    compile_map(helsinki_pbf(), tmp_path, name="hel", progress=lambda s, f: stages.append(s))
    assert tiles.stat().st_mtime_ns == written and not any(s.startswith("tiles") for s in stages)
    with sqlite3.connect(tiles) as db:  # a file from an older tile builder
        db.execute("UPDATE metadata SET value='0' WHERE name='version'")
    assert not tiles_current(tiles)
    compile_map(helsinki_pbf(), tmp_path, name="hel")
    assert tiles_current(tiles)
    tiles.write_bytes(b"not a database")
    assert not tiles_current(tiles)
    compile_map(helsinki_pbf(), tmp_path, name="hel")
    assert tiles_current(tiles)


def test_bad_input_is_a_map_import_error_and_leaves_the_old_tiles(tmp_path):
    target = tmp_path / "t.mbtiles"
    build_tiles(helsinki_pbf(), target, minzoom=14, maxzoom=14)
    before = target.read_bytes()
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"\x00\x00\x00\x0dnot a pbf at all")
    with pytest.raises(MapImportError, match="broken.osm.pbf"):
        build_tiles(broken, target)
    assert target.read_bytes() == before


def test_bench_tiles_quick_reports_size_and_time_of_a_real_build() -> None:
    from bench.tiles import run

    figures = run(quick=True)
    assert figures["extract"].endswith(".osm.pbf") and figures["tiles"] > 0
    assert figures["tile_bytes"] > 0 and figures["file_mb"] > 0 and figures["seconds"] > 0
    assert figures["features"]["roads"] > 1000 and figures["read_p50_ms"] is not None
