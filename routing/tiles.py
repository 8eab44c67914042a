"""Vector tiles of an OSM extract, so consoles draw a named street map with no tile server.

One pass of pyosmium collects roads (by class, with names), water, parks, places and the points
of interest a dispatcher steers by (police, hospitals, markets, mosques, schools). Each zoom's
features are simplified to its pixel size, clipped per tile with shapely and encoded as Mapbox
Vector Tiles (`mapbox-vector-tile`), gzipped into an MBTiles 1.3 file (TMS rows, `metadata`
table), so any MBTiles tool can read what `helpline15 map import` leaves beside the graph.
Names keep `name`, `name:en` and `name:ur`; the style picks Urdu where the extract has it.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import osmium
import shapely
from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid

from routing.types import MapImportError

Progress = Callable[[str, float], None]
BBox = tuple[float, float, float, float]  # south, west, north, east

TILES_VERSION = 1  # bump when layers or rules change: older files are rebuilt, never trusted
MINZOOM, MAXZOOM = 8, 14  # MapLibre over-zooms z14 tiles for streets at z15 and beyond
EXTENT = 4096
BUFFER = 64 / EXTENT  # clip a little beyond the tile so strokes and labels join seamlessly
HALF_WORLD = 20037508.342789244  # Web Mercator half-circumference, metres
LAYERS = ("water", "parks", "waterways", "roads", "places", "pois")

ROAD_CLASS = {
    "motorway": "motorway", "motorway_link": "motorway", "trunk": "trunk", "trunk_link": "trunk",
    "primary": "primary", "primary_link": "primary", "secondary": "secondary",
    "secondary_link": "secondary", "tertiary": "tertiary", "tertiary_link": "tertiary",
    "unclassified": "minor", "residential": "minor", "living_street": "minor", "road": "minor",
    "service": "service", "pedestrian": "path", "footway": "path", "track": "path",
}
ROAD_MINZOOM = {"motorway": 8, "trunk": 8, "primary": 10, "secondary": 11, "tertiary": 12,
                "minor": 13, "service": 14, "path": 14}
POI_MINZOOM = {"police": 11, "hospital": 11, "fire_station": 11, "market": 13, "mosque": 13,
               "school": 13, "place_of_worship": 14}
PLACE_MINZOOM = {"city": 8, "town": 9, "suburb": 11, "village": 12, "neighbourhood": 13,
                 "quarter": 13, "hamlet": 14}
WATER = {("natural", "water"), ("landuse", "reservoir"), ("landuse", "basin"),
         ("waterway", "riverbank")}
PARKS = {("leisure", "park"), ("leisure", "garden"), ("leisure", "nature_reserve"),
         ("landuse", "forest"), ("landuse", "recreation_ground"), ("landuse", "grass"),
         ("natural", "wood")}
WATERWAY_MINZOOM = {"river": 10, "canal": 10, "stream": 13, "drain": 14}
KEYS = ("highway", "amenity", "shop", "natural", "landuse", "leisure", "waterway", "place")


@dataclass(frozen=True)
class TileStats:
    path: Path
    tiles: int
    bytes: int
    seconds: float
    features: dict[str, int]


def tiles_path(compiled_map: Path) -> Path:
    """Where a compiled map's tiles live: beside it, same name, `.mbtiles`."""
    name = compiled_map.name.removesuffix(".npz").removesuffix(".h15map")
    return compiled_map.with_name(f"{name}.mbtiles")


def _names(tags: osmium.osm.TagList) -> dict[str, str]:
    out = {}
    for key, prop in (("name", "name"), ("name:en", "name_en"), ("name:ur", "name_ur")):
        value = tags.get(key)
        if value:
            out[prop] = value
    return out


def _poi_kind(tags: osmium.osm.TagList) -> str | None:
    amenity = tags.get("amenity")
    if amenity in ("police", "hospital", "fire_station", "school"):
        return amenity
    if amenity == "clinic":
        return "hospital"
    if amenity in ("college", "university"):
        return "school"
    if amenity == "marketplace" or tags.get("shop") == "mall":
        return "market"
    if amenity == "place_of_worship":
        return "mosque" if tags.get("religion") == "muslim" else "place_of_worship"
    return None


def _area_class(tags: osmium.osm.TagList) -> tuple[str, str] | None:
    for key, value in tags:
        if (key, value) in WATER:
            return "water", value
        if (key, value) in PARKS:
            return "parks", value
    return None


def read_features(path: Path, bbox: BBox | None = None) -> dict[str, list]:
    """{layer: [(lon/lat geometry, properties, minzoom)]} from one pass over the extract."""
    wkb = osmium.geom.WKBFactory()
    out: dict[str, list] = {layer: [] for layer in LAYERS}
    try:
        processor = (osmium.FileProcessor(str(path)).with_locations().with_areas()
                     .with_filter(osmium.filter.KeyFilter(*KEYS)))
        for obj in processor:
            _collect(obj, wkb, out)
    except (RuntimeError, osmium.InvalidLocationError) as exc:
        raise MapImportError(f"cannot read OSM file {path} for tiles: {exc}") from exc
    if bbox is not None:
        box = shapely.box(bbox[1], bbox[0], bbox[3], bbox[2])
        for layer, items in out.items():
            out[layer] = [(g, p, z) for g, p, z in items if box.intersects(g)]
    return out


def _collect(obj: osmium.osm.OSMObject, wkb: osmium.geom.WKBFactory, out: dict) -> None:
    tags = obj.tags
    try:
        if obj.is_area():
            area = _area_class(tags)
            if area:
                geom = shapely.from_wkb(wkb.create_multipolygon(obj))
                out[area[0]].append((geom, {"class": area[1], **_names(tags)}, 10))
            kind = _poi_kind(tags)
            if kind:
                point = shapely.from_wkb(wkb.create_multipolygon(obj)).representative_point()
                out["pois"].append((point, {"kind": kind, **_names(tags)}, POI_MINZOOM[kind]))
            return
        if obj.is_node():
            kind = _poi_kind(tags)
            place = tags.get("place")
            if kind or place in PLACE_MINZOOM:
                point = shapely.Point(obj.location.lon, obj.location.lat)
                if kind:
                    out["pois"].append((point, {"kind": kind, **_names(tags)},
                                        POI_MINZOOM[kind]))
                if place in PLACE_MINZOOM and tags.get("name"):
                    out["places"].append((point, {"class": place, **_names(tags)},
                                          PLACE_MINZOOM[place]))
            return
        if obj.is_way():
            road = ROAD_CLASS.get(tags.get("highway", ""))
            waterway = tags.get("waterway")
            if road is None and waterway not in WATERWAY_MINZOOM:
                return
            line = shapely.from_wkb(wkb.create_linestring(obj))
            if road:
                props = {"class": road, "highway": tags["highway"], **_names(tags)}
                if tags.get("ref"):
                    props["ref"] = tags["ref"]
                if tags.get("oneway") in ("yes", "1", "-1"):
                    props["oneway"] = 1
                out["roads"].append((line, props, ROAD_MINZOOM[road]))
            else:
                out["waterways"].append((line, {"class": waterway, **_names(tags)},
                                         WATERWAY_MINZOOM[waterway]))
    except (RuntimeError, osmium.InvalidLocationError):
        return  # a way cut at the extract's edge or a broken multipolygon: skip that one


def to_mercator(geoms: np.ndarray) -> np.ndarray:
    def project(coords: np.ndarray) -> np.ndarray:
        lon, lat = coords[:, 0], np.clip(coords[:, 1], -85.0511, 85.0511)
        x = np.radians(lon) * 6378137.0
        y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * 6378137.0
        return np.column_stack([x, y])

    return shapely.transform(geoms, project)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds (minx, miny, maxx, maxy) of XYZ tile z/x/y."""
    size = 2 * HALF_WORLD / (1 << z)
    minx = -HALF_WORLD + x * size
    maxy = HALF_WORLD - y * size
    return minx, maxy - size, minx + size, maxy


def tile_range(bounds: tuple[float, float, float, float], z: int) -> Iterator[tuple[int, int]]:
    size = 2 * HALF_WORLD / (1 << z)
    last = (1 << z) - 1
    x0 = max(0, int((bounds[0] + HALF_WORLD) // size))
    x1 = min(last, int((bounds[2] + HALF_WORLD) // size))
    y0 = max(0, int((HALF_WORLD - bounds[3]) // size))
    y1 = min(last, int((HALF_WORLD - bounds[1]) // size))
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            yield x, y


def build_tiles(source: Path | str, target: Path | str, *, bbox: BBox | None = None,
                minzoom: int = MINZOOM, maxzoom: int = MAXZOOM,
                progress: Progress | None = None) -> TileStats:
    """Write `target` (MBTiles) atomically; a failure leaves any previous file in place."""
    started = time.perf_counter()
    report = progress or (lambda stage, fraction: None)
    source, target = Path(source), Path(target)
    report("tiles: reading", 0.0)
    raw = read_features(source, bbox)
    layer_of, geoms, props, minzooms = [], [], [], []
    for index, layer in enumerate(LAYERS):
        for geom, prop, zoom in raw[layer]:
            layer_of.append(index)
            geoms.append(geom)
            props.append(prop)
            minzooms.append(zoom)
    if not geoms:
        raise MapImportError(f"nothing to draw in {source}")
    layer_arr = np.array(layer_of)
    merc = to_mercator(np.array(geoms, dtype=object))
    zoom_arr = np.array(minzooms)
    bounds = tuple(shapely.total_bounds(merc))
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    db.executescript(
        "CREATE TABLE metadata (name TEXT, value TEXT);"
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
        " tile_data BLOB);"
        "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);")
    count = size_total = 0
    zooms = list(range(minzoom, maxzoom + 1))
    for step, z in enumerate(zooms):
        report(f"tiles: z{z}", 0.1 + 0.85 * step / len(zooms))
        count_z, size_z = _write_zoom(db, z, merc, layer_arr, props, zoom_arr, bounds,
                                      last=(z == maxzoom))
        count += count_z
        size_total += size_z
    lon0, lat0, lon1, lat1 = _lonlat_bounds(bounds)
    features = {layer: len(raw[layer]) for layer in LAYERS}
    meta = {
        "name": source.name, "format": "pbf", "type": "baselayer", "version": str(TILES_VERSION),
        "minzoom": str(minzoom), "maxzoom": str(maxzoom),
        "bounds": f"{lon0:.5f},{lat0:.5f},{lon1:.5f},{lat1:.5f}",
        "center": f"{(lon0 + lon1) / 2:.5f},{(lat0 + lat1) / 2:.5f},{min(13, maxzoom)}",
        "attribution": "© OpenStreetMap contributors (ODbL)",
        "json": json.dumps({"vector_layers": [
            {"id": layer, "fields": {}, "minzoom": minzoom, "maxzoom": maxzoom}
            for layer in LAYERS]}),
        "h15_features": json.dumps(features),
    }
    db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
    db.commit()
    db.close()
    os.replace(tmp, target)
    report("tiles: done", 1.0)
    return TileStats(target, count, size_total, time.perf_counter() - started, features)


def _lonlat_bounds(bounds: tuple[float, ...]) -> tuple[float, float, float, float]:
    def lon(x: float) -> float:
        return math.degrees(x / 6378137.0)

    def lat(y: float) -> float:
        return math.degrees(2 * math.atan(math.exp(y / 6378137.0)) - math.pi / 2)

    return lon(bounds[0]), lat(bounds[1]), lon(bounds[2]), lat(bounds[3])


def _write_zoom(db: sqlite3.Connection, z: int, merc: np.ndarray, layer_arr: np.ndarray,
                props: list[dict], zoom_arr: np.ndarray, bounds: tuple[float, ...],
                last: bool) -> tuple[int, int]:
    tile_m = 2 * HALF_WORLD / (1 << z)
    pixel = tile_m / EXTENT
    chosen = np.flatnonzero(zoom_arr <= z)
    if chosen.size == 0:
        return 0, 0
    geoms = shapely.simplify(merc[chosen], pixel * (1 if last else 2), preserve_topology=True)
    polygon = shapely.get_type_id(geoms) >= 3
    # Areas smaller than a few pixels only add bytes at this zoom.
    keep = ~polygon | (shapely.area(geoms) >= (4 * pixel) ** 2)
    keep &= ~shapely.is_empty(geoms)
    chosen, geoms = chosen[keep], geoms[keep]
    tree = shapely.STRtree(geoms)
    count = size = 0
    for x, y in tile_range(bounds, z):
        minx, miny, maxx, maxy = tile_bounds(z, x, y)
        pad = tile_m * BUFFER
        hits = tree.query(shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad))
        if hits.size == 0:
            continue
        clipped = shapely.clip_by_rect(geoms[hits], minx - pad, miny - pad, maxx + pad,
                                       maxy + pad)
        # Into tile units (y up) in one vectorised call; the encoder then only rounds.
        origin = np.array([minx, miny])
        clipped = shapely.transform(clipped, lambda c, o=origin: (c - o) * (EXTENT / tile_m))
        layers: dict[int, list] = {}
        for hit, geom in zip(hits.tolist(), clipped, strict=True):
            if geom.is_empty:
                continue
            index = int(chosen[hit])
            layers.setdefault(int(layer_arr[index]), []).append(
                {"geometry": geom, "properties": props[index]})
        if not layers:
            continue
        data = mapbox_vector_tile.encode(
            [{"name": LAYERS[i], "features": layers[i]} for i in sorted(layers)],
            default_options={"extents": EXTENT,
                             "on_invalid_geometry": on_invalid_geometry_make_valid})
        blob = gzip.compress(data, compresslevel=6, mtime=0)
        db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, blob))
        count += 1
        size += len(blob)
    return count, size


class TileStore:
    """Read side of an MBTiles file: gzipped MVT per XYZ tile, and its metadata."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # One read-only connection shared by the API's thread pool, one query at a time.
        self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                   check_same_thread=False)
        self._lock = threading.Lock()
        self.metadata = dict(self._db.execute("SELECT name, value FROM metadata"))

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                (z, x, (1 << z) - 1 - y)).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self._db.close()


def tiles_current(path: Path) -> bool:
    """True if `path` is a readable tile file of this version (else it is rebuilt)."""
    if not path.is_file():
        return False
    try:
        store = TileStore(path)
    except sqlite3.Error:
        return False
    try:
        return store.metadata.get("version") == str(TILES_VERSION)
    finally:
        store.close()
