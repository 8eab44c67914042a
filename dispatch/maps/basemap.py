"""The consoles' basemap: the loaded map's vector tiles and a MapLibre style that draws them.

Tiles are built by `helpline15 map import` beside the compiled graph (`routing.tiles`); this
module finds the file for the map in service and writes a style whose only source is this
server, so a console never asks another origin for anything. The style sets no `glyphs`:
MapLibre GL JS (5.11 and later) then draws labels with the device's own fonts (TinySDF), which
covers Urdu as well as English with no font files to serve.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from dispatch.context import AppContext
from dispatch.errors import NotFound
from dispatch.maps.service import graph_or_error, map_service
from routing.tiles import MAXZOOM, MINZOOM, TileStore, tiles_current, tiles_path

TILES_PATH = "/api/v1/map/tiles/{z}/{x}/{y}.pbf"
_LOCK = threading.Lock()
_STORES: dict[Path, TileStore] = {}

# Roads by class: colour, casing, width at z12 and at z18 (pixels).
ROADS = {
    "motorway": ("#f3a06a", "#c06a35", 2.0, 22.0),
    "trunk": ("#f7c27a", "#c08a3c", 1.8, 20.0),
    "primary": ("#fcd68a", "#b58b3a", 1.6, 18.0),
    "secondary": ("#fff3b0", "#b5a25a", 1.2, 16.0),
    "tertiary": ("#ffffff", "#a8a29e", 1.0, 14.0),
    "minor": ("#ffffff", "#b8b2aa", 0.5, 11.0),
    "service": ("#ffffff", "#c4beb6", 0.3, 7.0),
    "path": ("#e7e2da", "#e7e2da", 0.3, 3.0),
}
# Darker than the consoles' live colours (priorities, unit statuses), and drawn as small
# translucent dots, so a landmark is never mistaken for an incident or a unit.
POI_COLOURS = {"police": "#1e3a8a", "hospital": "#be185d", "fire_station": "#9a3412",
               "market": "#6b21a8", "mosque": "#065f46", "school": "#78350f",
               "place_of_worship": "#4b5563"}
MAJOR_POIS = ["police", "hospital", "fire_station"]  # drawn from z11, the rest from z14
# Urdu where the extract has it, else English, else whatever the name tag holds.
LABEL = ["coalesce", ["get", "name_ur"], ["get", "name_en"], ["get", "name"]]
FONT = ["Noto Sans Regular"]


class NoTiles(NotFound):
    """The map in service was loaded as a compiled file with no tiles beside it."""


def tile_store(ctx: AppContext) -> TileStore:
    """The open tile file of the map in service (503 without a map, 404 without tiles)."""
    graph_or_error(ctx)
    path = map_service(ctx).path
    tiles = tiles_path(Path(path)) if path else None
    if tiles is None or not tiles.is_file():
        raise NoTiles("no vector tiles for the loaded map: run 'helpline15 map import FILE' "
                      "(consoles fall back to plain road lines)")
    with _LOCK:
        store = _STORES.get(tiles)
        if store is None:
            if not tiles_current(tiles):
                raise NoTiles(f"the tiles beside the map are out of date: re-run "
                              f"'helpline15 map import' ({tiles.name})")
            store = _STORES[tiles] = TileStore(tiles)
        return store


def tile(ctx: AppContext, *, z: int, x: int, y: int) -> tuple[bytes | None, str]:
    """(gzipped MVT or None when the tile is empty, an ETag naming map and tile)."""
    store = tile_store(ctx)
    return store.tile(z, x, y), f'"{store.path.stem}-{z}-{x}-{y}"'


def style(ctx: AppContext) -> dict[str, Any]:
    """A MapLibre style over the loaded map's tiles, all on this origin."""
    store = tile_store(ctx)
    meta = store.metadata
    west, south, east, north = (float(v) for v in meta["bounds"].split(","))
    lon, lat, zoom = (float(v) for v in meta["center"].split(","))
    return build_style(bounds=[west, south, east, north], center=[lon, lat], zoom=zoom,
                       minzoom=int(meta.get("minzoom", MINZOOM)),
                       maxzoom=int(meta.get("maxzoom", MAXZOOM)), name=meta.get("name", "map"))


def build_style(*, bounds: list[float], center: list[float], zoom: float, minzoom: int,
                maxzoom: int, name: str) -> dict[str, Any]:
    source = {"type": "vector", "tiles": [TILES_PATH], "minzoom": minzoom, "maxzoom": maxzoom,
              "bounds": bounds, "attribution": "© OpenStreetMap contributors"}
    layers: list[dict[str, Any]] = [
        {"id": "background", "type": "background", "paint": {"background-color": "#f2efe9"}},
        {"id": "parks", "type": "fill", "source": "osm", "source-layer": "parks",
         "paint": {"fill-color": "#cfe6c3", "fill-opacity": 0.9}},
        {"id": "water", "type": "fill", "source": "osm", "source-layer": "water",
         "paint": {"fill-color": "#a8d1ef"}},
        {"id": "waterways", "type": "line", "source": "osm", "source-layer": "waterways",
         "paint": {"line-color": "#a8d1ef", "line-width": _width(0.8, 6.0)}},
    ]
    order = list(reversed(ROADS))  # minor roads first, motorways drawn on top
    for cls in order:
        colour, casing, low, high = ROADS[cls]
        if cls != "path":
            layers.append({"id": f"road-{cls}-casing", "type": "line", "source": "osm",
                           "source-layer": "roads", "filter": ["==", ["get", "class"], cls],
                           "layout": {"line-cap": "round", "line-join": "round"},
                           "paint": {"line-color": casing, "line-width": _width(low + 0.8,
                                                                                high + 2.5)}})
    for cls in order:
        colour, _, low, high = ROADS[cls]
        layers.append({"id": f"road-{cls}", "type": "line", "source": "osm",
                       "source-layer": "roads", "filter": ["==", ["get", "class"], cls],
                       "layout": {"line-cap": "round", "line-join": "round"},
                       "paint": {"line-color": colour, "line-width": _width(low, high)}})
    layers += [
        {"id": "road-labels", "type": "symbol", "source": "osm", "source-layer": "roads",
         "minzoom": 13, "filter": ["has", "name"],
         "layout": {"symbol-placement": "line", "text-field": LABEL, "text-font": FONT,
                    "text-size": ["interpolate", ["linear"], ["zoom"], 13, 10, 17, 14],
                    "text-max-angle": 35, "symbol-spacing": 300},
         "paint": {"text-color": "#374151", "text-halo-color": "#ffffff",
                   "text-halo-width": 1.6}},
        {"id": "major-road-labels", "type": "symbol", "source": "osm", "source-layer": "roads",
         "minzoom": 11, "maxzoom": 13,
         "filter": ["all", ["has", "name"],
                    ["in", ["get", "class"], ["literal", ["motorway", "trunk", "primary"]]]],
         "layout": {"symbol-placement": "line", "text-field": LABEL, "text-font": FONT,
                    "text-size": 10},
         "paint": {"text-color": "#374151", "text-halo-color": "#ffffff",
                   "text-halo-width": 1.6}},
        {"id": "places", "type": "symbol", "source": "osm", "source-layer": "places",
         "layout": {"text-field": LABEL, "text-font": FONT,
                    "text-size": ["match", ["get", "class"], ["city", "town"], 15, 12]},
         "paint": {"text-color": "#4b5563", "text-halo-color": "#ffffff",
                   "text-halo-width": 2}},
        *_poi_layers("major", MAJOR_POIS, 11),
        *_poi_layers("minor", [k for k in POI_COLOURS if k not in MAJOR_POIS], 14),
    ]
    return {"version": 8, "name": f"Helpline 15 — {name}", "center": center, "zoom": zoom,
            "sources": {"osm": source}, "layers": layers}


def _width(low: float, high: float) -> list[Any]:
    return ["interpolate", ["exponential", 1.6], ["zoom"], 12, low, 18, high]


def _poi_layers(group: str, kinds: list[str], minzoom: int) -> list[dict[str, Any]]:
    """A dot per landmark from `minzoom`, its name a zoom level later."""
    colour = ["match", ["get", "kind"], *[v for item in POI_COLOURS.items() for v in item],
              "#4b5563"]
    kind_filter = ["in", ["get", "kind"], ["literal", kinds]]
    return [
        {"id": f"pois-{group}", "type": "circle", "source": "osm", "source-layer": "pois",
         "minzoom": minzoom, "filter": kind_filter,
         "paint": {"circle-radius": ["interpolate", ["linear"], ["zoom"], 11, 2, 16, 3.5],
                   "circle-color": colour, "circle-opacity": 0.6,
                   "circle-stroke-color": "#ffffff", "circle-stroke-width": 0.5}},
        {"id": f"poi-labels-{group}", "type": "symbol", "source": "osm",
         "source-layer": "pois", "minzoom": minzoom + 1,
         "filter": ["all", ["has", "name"], kind_filter],
         "layout": {"text-field": LABEL, "text-font": FONT, "text-size": 11,
                    "text-offset": [0, 0.9], "text-anchor": "top", "text-optional": True},
         "paint": {"text-color": colour, "text-halo-color": "#ffffff",
                   "text-halo-width": 1.4}},
    ]
