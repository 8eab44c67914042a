"""Read an OSM extract (.osm, .osm.bz2, .osm.gz, .osm.pbf) into osmnx's graph model.

pyosmium reads all three formats with one code path, so an XML and a PBF file of the same area
give the same graph. Way filtering and one-way rules copy osmnx's "drive" network type, and
osmnx's own `simplify_graph` merges interstitial nodes, so the result matches what osmnx users
expect (and networkx stays the reference implementation for tests).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import osmium

from routing.geo import haversine_m
from routing.graph import RoadGraph
from routing.speeds import free_flow_speed_kmh
from routing.types import MapImportError, Poi

Progress = Callable[[str, float], None]
BBox = tuple[float, float, float, float]  # south, west, north, east

SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")
POI_KINDS = ("police", "hospital", "fire_station")

# osmnx 2.x network_type="drive" (osmnx/_overpass.py), as Python regex "does not match" tests.
_EXCLUDE = {
    "area": re.compile("yes"),
    "access": re.compile("private"),
    "highway": re.compile(
        "abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|escalator|"
        "footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|rest_area|service|"
        "services|steps|track"
    ),
    "motor_vehicle": re.compile("no"),
    "motorcar": re.compile("no"),
    "service": re.compile("alley|driveway|emergency_access|parking|parking_aisle|private"),
}
_ONEWAY = {"yes", "true", "1", "-1", "reverse", "T", "F"}  # osmnx graph._add_paths
_REVERSED = {"-1", "reverse", "T"}


def is_drivable(tags: dict[str, str]) -> bool:
    """True for ways osmnx's "drive" network keeps."""
    if "highway" not in tags:
        return False
    return not any(key in tags and rx.search(tags[key]) for key, rx in _EXCLUDE.items())


@dataclass
class OsmExtract:
    """What one pass over the file yields: the unsimplified drive graph and the POIs."""

    graph: nx.MultiDiGraph
    pois: list[Poi] = field(default_factory=list)


def _inside(bbox: BBox | None, lat: float, lon: float) -> bool:
    return bbox is None or (bbox[0] <= lat <= bbox[2] and bbox[1] <= lon <= bbox[3])


def read_osm(path: Path, bbox: BBox | None = None) -> OsmExtract:
    """Drivable ways as an unsimplified osmnx-style MultiDiGraph, plus POIs (inside bbox)."""
    path = Path(path)
    if not path.is_file():
        raise MapImportError(f"OSM file not found: {path}")
    if not path.name.lower().endswith(SUFFIXES):
        raise MapImportError(
            f"unsupported map format {path.name!r}: use one of {', '.join(SUFFIXES)}"
        )
    graph = nx.MultiDiGraph(crs="epsg:4326")
    pois: list[Poi] = []
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway", "amenity"))
        )
        for obj in processor:
            tags = dict(obj.tags)
            if tags.get("amenity") in POI_KINDS:
                poi = _poi(obj, tags, bbox)
                if poi:
                    pois.append(poi)
            if obj.is_way() and is_drivable(tags):
                _add_way(graph, obj, tags, bbox)
    except (RuntimeError, osmium.InvalidLocationError) as exc:
        raise MapImportError(f"cannot read OSM file {path}: {exc}") from exc
    if graph.number_of_edges() == 0:
        raise MapImportError(f"no drivable roads in {path}" + (f" inside {bbox}" if bbox else ""))
    return OsmExtract(graph, pois)


def _poi(obj: osmium.osm.OSMObject, tags: dict[str, str], bbox: BBox | None) -> Poi | None:
    kind = tags["amenity"]
    if obj.is_node():
        lat, lon = obj.location.lat, obj.location.lon
    elif obj.is_way():  # a building outline: use the mean of its corners
        locs = [(n.location.lat, n.location.lon) for n in obj.nodes if n.location.valid()]
        if not locs:
            return None
        lat, lon = (float(np.mean(c)) for c in zip(*locs, strict=True))
    else:
        return None
    if not _inside(bbox, lat, lon):
        return None
    name = tags.get("name") or tags.get("name:en") or f"{kind.replace('_', ' ')} {obj.id}"
    return Poi(kind=kind, name=name, lat=lat, lon=lon, osm_id=f"{obj.type_str()}{obj.id}")


def _add_way(
    graph: nx.MultiDiGraph, way: osmium.osm.Way, tags: dict[str, str], bbox: BBox | None
) -> None:
    nodes = [(n.ref, n.location.lat, n.location.lon) for n in way.nodes if n.location.valid()]
    oneway = tags.get("oneway") in _ONEWAY or tags.get("junction") == "roundabout"
    if tags.get("oneway") in _REVERSED:
        nodes.reverse()
    speed = free_flow_speed_kmh(tags.get("highway"), tags.get("maxspeed"))
    attrs = {"osmid": way.id, "highway": tags["highway"], "oneway": oneway, "speed_kph": speed}
    for key in ("name", "maxspeed", "ref"):
        if key in tags:
            attrs[key] = tags[key]
    for (a, alat, alon), (b, blat, blon) in zip(nodes, nodes[1:], strict=False):
        if a == b or not (_inside(bbox, alat, alon) and _inside(bbox, blat, blon)):
            continue
        graph.add_node(a, y=alat, x=alon)
        graph.add_node(b, y=blat, x=blon)
        length = float(haversine_m(alat, alon, blat, blon))
        travel = length / (speed / 3.6)
        graph.add_edge(a, b, length=length, travel_time=travel, **attrs)
        if not oneway:
            graph.add_edge(b, a, length=length, travel_time=travel, **attrs)


def simplify(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """osmnx simplification, then the largest strongly connected part.

    osmnx keeps the largest *weakly* connected part by default; for dispatch that would leave
    one-way stubs (mostly cut at the extract's edge) where a unit could be stranded or an
    incident unreachable. Keeping the strongly connected core means every snapped point can
    reach, and be reached from, every other (SOURCES.md: 27,073 of 27,567 nodes).
    """
    import osmnx as ox

    simplified = ox.simplify_graph(graph, edge_attr_aggs={"length": sum, "travel_time": sum})
    largest = max(nx.strongly_connected_components(simplified), key=len)
    simplified.remove_nodes_from([n for n in list(simplified) if n not in largest])  # no copy
    return simplified


def build_drive_graph(path: Path, bbox: BBox | None = None, progress: Progress | None = None):
    """File → simplified networkx graph + POIs (the reference model the CSR is compiled from)."""
    report = progress or (lambda stage, fraction: None)
    report("reading", 0.0)
    extract = read_osm(path, bbox)
    report("simplifying", 0.4)
    graph = simplify(extract.graph)
    return graph, extract.pois


def to_road_graph(graph: nx.MultiDiGraph, pois: list[Poi], meta: dict) -> RoadGraph:
    """Compile a simplified osmnx graph to the CSR RoadGraph."""
    osm_ids = np.fromiter(graph.nodes, np.int64, graph.number_of_nodes())
    position = {node: i for i, node in enumerate(osm_ids.tolist())}
    lat = np.array([graph.nodes[n]["y"] for n in osm_ids.tolist()])
    lon = np.array([graph.nodes[n]["x"] for n in osm_ids.tolist()])
    names: dict[str, int] = {}
    u, v, length, time_s, name_id, offsets = [], [], [], [], [], [0]
    glat: list[float] = []
    glon: list[float] = []
    for a, b, data in graph.edges(data=True):
        u.append(position[a])
        v.append(position[b])
        length.append(data["length"])
        time_s.append(data["travel_time"])
        name = data.get("name")
        if isinstance(name, list):
            name = name[0]
        name_id.append(names.setdefault(name, len(names)) if name else -1)
        if "geometry" in data:
            xs, ys = data["geometry"].xy
            glon.extend(xs)
            glat.extend(ys)
        else:
            glat.extend((lat[position[a]], lat[position[b]]))
            glon.extend((lon[position[a]], lon[position[b]]))
        offsets.append(len(glat))
    return RoadGraph(
        node_osm=osm_ids,
        node_lat=lat,
        node_lon=lon,
        edge_u=np.array(u),
        edge_v=np.array(v),
        edge_length_m=np.array(length),
        edge_time_s=np.array(time_s),
        edge_name=np.array(name_id, dtype=np.int32),
        geom_offsets=np.array(offsets, dtype=np.int64),
        geom_lat=np.array(glat),
        geom_lon=np.array(glon),
        names=list(names),
        pois=pois,
        meta=meta,
    )
