"""Fixtures for the routing tests: the real twin-cities map, imported once per session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import networkx as nx
import pytest

from routing.graph import RoadGraph
from routing.osm import build_drive_graph, to_road_graph
from tests.conftest import require_data

MAP = "osm/islamabad_rawalpindi.osm.pbf"
# A central Islamabad box (Blue Area / F-6 / G-6 / Aabpara) for the quick format tests.
SMALL_BBOX = (33.695, 73.045, 33.725, 73.095)


@pytest.fixture(scope="session")
def twin_cities_pbf() -> Path:
    return require_data(MAP)


@pytest.fixture(scope="session")
def twin_cities(twin_cities_pbf: Path, tmp_path_factory: pytest.TempPathFactory):
    """(osmnx-style networkx graph, compiled RoadGraph saved and loaded back) of the real map."""
    reference, pois = build_drive_graph(twin_cities_pbf)
    compiled = to_road_graph(reference, pois, {"name": "twin-cities"})
    path = compiled.save(tmp_path_factory.mktemp("maps") / "twin.h15map.npz")
    return reference, RoadGraph.load(path)


@contextmanager
def cut_at(ref: nx.DiGraph, spots: list) -> Iterator[nx.DiGraph]:
    """Temporarily insert each snapped spot into `ref` as its own node, cutting its edge(s).

    This is the textbook way to route from mid-edge (cut the edge in two), independent of the
    virtual-slot arithmetic the fast path uses. The graph is restored afterwards.
    """
    removed = []
    for name, snap in spots:
        pairs = [(snap.u, snap.v, snap.fraction)]
        if snap.reverse_edge_id:
            pairs.append((snap.v, snap.u, 1 - snap.fraction))
        for a, b, fraction in pairs:
            t = ref[a][b]["time"]
            removed.append((a, b, t))
            ref.remove_edge(a, b)
            ref.add_edge(a, name, time=fraction * t)
            ref.add_edge(name, b, time=(1 - fraction) * t)
    try:
        yield ref
    finally:
        ref.remove_nodes_from([name for name, _ in spots])
        ref.add_weighted_edges_from(removed, weight="time")
