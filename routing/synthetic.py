"""Generated Lahore-sized road graphs for benchmarks, and the networkx reference view.

No Lahore extract can be downloaded on the build machines, so the benchmark uses a road-like
graph: a jittered street grid (blocks of ~120 m) with faster arterials every tenth street, some
blocks merged (streets removed) and some one-way streets, cut to its largest strongly connected
part, as a real city network is after import.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from routing.geo import EARTH_RADIUS_M, haversine_m
from routing.graph import RoadGraph
from routing.types import UnitPosition

LAHORE_CENTRE = (31.5204, 74.3587)


def generate_city_graph(
    side: int = 400,
    *,
    seed: int = 0,
    keep: float = 0.7,
    oneway: float = 0.15,
    spacing_m: float = 120.0,
    centre: tuple[float, float] = LAHORE_CENTRE,
) -> RoadGraph:
    """A side×side street grid; side=400 gives ≈155k nodes and ≈410k directed edges."""
    rng = np.random.default_rng(seed)
    rows, cols = np.divmod(np.arange(side * side), side)
    jitter = rng.normal(0.0, spacing_m * 0.15, size=(2, side * side))
    y = (rows - side / 2) * spacing_m + jitter[0]
    x = (cols - side / 2) * spacing_m + jitter[1]
    k_lat = np.pi / 180 * EARTH_RADIUS_M
    lat = centre[0] + y / k_lat
    lon = centre[1] + x / (k_lat * np.cos(np.radians(centre[0])))
    ids = np.arange(side * side).reshape(side, side)
    horizontal = (ids[:, :-1].ravel(), ids[:, 1:].ravel(), rows[ids[:, :-1].ravel()] % 10 == 0)
    vertical = (ids[:-1, :].ravel(), ids[1:, :].ravel(), cols[ids[:-1, :].ravel()] % 10 == 0)
    a = np.concatenate((horizontal[0], vertical[0]))
    b = np.concatenate((horizontal[1], vertical[1]))
    arterial = np.concatenate((horizontal[2], vertical[2]))
    kept = arterial | (rng.random(len(a)) < keep)
    a, b, arterial = a[kept], b[kept], arterial[kept]
    one_way = ~arterial & (rng.random(len(a)) < oneway)
    flip = one_way & (rng.random(len(a)) < 0.5)
    a, b = np.where(flip, b, a), np.where(flip, a, b)
    u = np.concatenate((a, b[~one_way]))
    v = np.concatenate((b, a[~one_way]))
    fast = np.concatenate((arterial, arterial[~one_way]))
    length = haversine_m(lat[u], lon[u], lat[v], lon[v]) * 1.05  # streets are not ruler-straight
    speed_ms = np.where(fast, 45.0, 20.0) / 3.6 * rng.uniform(0.85, 1.15, len(u))
    n = side * side
    matrix = coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)).tocsr()
    _, label = connected_components(matrix, directed=True, connection="strong")
    largest = np.bincount(label).argmax()
    inside = label == largest
    new_index = np.cumsum(inside) - 1
    keep_edge = inside[u] & inside[v]
    return RoadGraph(
        node_osm=np.flatnonzero(inside).astype(np.int64) + 1,
        node_lat=lat[inside],
        node_lon=lon[inside],
        edge_u=new_index[u[keep_edge]],
        edge_v=new_index[v[keep_edge]],
        edge_length_m=length[keep_edge],
        edge_time_s=length[keep_edge] / speed_ms[keep_edge],
        meta={"name": f"synthetic-{side}x{side}-seed{seed}"},
    )


def random_unit_positions(graph: RoadGraph, count: int, *, seed: int = 1) -> list[UnitPosition]:
    """Units parked at random spots along random roads (GPS fixes a few metres off the kerb)."""
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, graph.edge_count, count)
    t = rng.random(count)
    u, v = graph.edge_u[edges], graph.edge_v[edges]
    lat = graph.node_lat[u] * (1 - t) + graph.node_lat[v] * t + rng.normal(0, 3e-5, count)
    lon = graph.node_lon[u] * (1 - t) + graph.node_lon[v] * t + rng.normal(0, 3e-5, count)
    return [
        UnitPosition(f"unit-{i}", float(a), float(b))
        for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]


def reference_digraph(graph: RoadGraph) -> nx.DiGraph:
    """The same network as a networkx DiGraph (OSM node ids, current congested times)."""
    reference = nx.DiGraph()
    osm = graph.node_osm
    times = graph.current_time_s()
    reference.add_weighted_edges_from(
        zip(osm[graph.edge_u].tolist(), osm[graph.edge_v].tolist(), times.tolist(), strict=True),
        weight="time",
    )
    return reference
