"""MapService keeps the previous graph in service when a new map fails to load."""

from __future__ import annotations

import pytest

from routing.service import MapService
from routing.synthetic import generate_city_graph, random_unit_positions
from routing.types import MapLoadError, NoMapLoadedError


@pytest.fixture
def two_maps(tmp_path):
    first = generate_city_graph(20, seed=1).save(tmp_path / "first.h15map.npz")
    second = generate_city_graph(25, seed=2).save(tmp_path / "second.h15map.npz")
    return first, second


def test_swap_replaces_the_graph_only_when_the_new_map_loads(two_maps, tmp_path):
    first, second = two_maps
    service = MapService()
    with pytest.raises(NoMapLoadedError, match="map import"):
        _ = service.graph
    service.swap(first)
    in_service = service.graph
    broken = tmp_path / "broken.h15map.npz"
    broken.write_bytes(first.read_bytes()[:1000])  # a truncated copy, as after a full disk
    for bad in (broken, tmp_path / "missing.h15map.npz"):
        with pytest.raises(MapLoadError):
            service.swap(bad)
        assert service.graph is in_service and service.path == first
    unit, incident = random_unit_positions(in_service, 2, seed=3)
    assert service.graph.nearest_units(incident.lat, incident.lon, [unit], k=1)
    service.swap(second)
    assert service.graph is not in_service and service.graph.node_count > in_service.node_count


def test_congestion_survives_a_map_swap(two_maps):
    first, _ = two_maps
    service = MapService()
    service.swap(first)
    edge = service.graph.edge_ids()[0]
    assert service.set_congestion({edge: 2.0}) == 1
    reloaded = service.swap(first)
    assert reloaded.factor[reloaded.edge_index(edge)] == 2.0
