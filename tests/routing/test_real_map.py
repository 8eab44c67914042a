"""The real Islamabad–Rawalpindi extract: import, snapping, ETAs against networkx, POIs."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from routing.geo import haversine_m
from routing.speeds import DEFAULT_SPEED_KMH
from routing.synthetic import reference_digraph
from routing.types import OutsideMapError, RoutingError, UnitPosition
from tests.routing.conftest import cut_at

pytestmark = pytest.mark.slow  # the session fixture imports the whole extract (~20 s)


def test_extract_imports_to_the_documented_drivable_graph(twin_cities):
    reference, graph = twin_cities
    # SOURCES.md (osmnx 2.1.1): 27,567 nodes, 66,689 directed edges after simplification,
    # of which the largest strongly connected part (what routing keeps) has 27,073 nodes.
    assert 26_800 < graph.node_count < 27_300
    assert 60_000 < graph.edge_count < 67_000
    assert graph.node_count == reference.number_of_nodes()
    assert len(graph.pois("police")) == 29
    assert len(graph.pois("hospital")) == 68
    assert len(graph.pois("fire_station")) == 3
    police = {p.name for p in graph.pois("police")}
    assert any("Kohsar" in name for name in police)
    for poi in graph.pois("police"):
        assert 33.4 < poi.lat < 33.9 and 72.7 < poi.lon < 73.5


def test_named_streets_have_a_point_on_the_street(twin_cities):
    _, graph = twin_cities
    streets = graph.street_names()
    names = {s.name for s in streets}
    assert len(names) > 1000  # SOURCES.md: 1,115 named streets
    by_name = {s.name: s for s in streets}
    jinnah = by_name["Jinnah Avenue"]
    assert graph.snap(jinnah.lat, jinnah.lon).offset_m < 1.0  # the point lies on the road
    assert jinnah.length_m > 1000
    # "Street 3" exists in dozens of sectors: each is its own entry, far apart from the others
    street_3 = [s for s in streets if s.name == "Street 3"]
    assert len(street_3) > 10
    lat = np.array([s.lat for s in street_3])
    lon = np.array([s.lon for s in street_3])
    apart = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    assert apart[~np.eye(len(street_3), dtype=bool)].min() >= 300.0
    for street in streets[::50]:
        assert graph.snap(street.lat, street.lon).offset_m < 1.0


def test_one_way_streets_are_one_way(twin_cities):
    reference, graph = twin_cities
    one_way = [
        (u, v)
        for u, v, data in reference.edges(data=True)
        if data["oneway"] is True and not reference.has_edge(v, u) and u != v
    ]
    assert len(one_way) > 100
    for u, v in one_way[:200]:
        graph.edge_index(f"{u}-{v}")
        with pytest.raises(RoutingError):
            graph.edge_index(f"{v}-{u}")


def test_travel_time_uses_default_speed_where_maxspeed_is_missing(twin_cities):
    reference, graph = twin_cities
    checked = 0
    for u, v, data in reference.edges(data=True):
        plain = data.get("highway") == "residential" and "maxspeed" not in data
        if plain and len(reference[u][v]) == 1:
            index = graph.edge_index(f"{u}-{v}")
            expected = data["length"] / (DEFAULT_SPEED_KMH["residential"] / 3.6)
            assert graph.edge_time_s[index] == pytest.approx(expected, rel=1e-9)
            checked += 1
            if checked == 50:
                break
    assert checked == 50


def test_node_to_node_etas_equal_networkx_on_300_random_pairs(twin_cities):
    """10 incidents × 30 units at random intersections: every ETA as networkx computes it."""
    reference, graph = twin_cities
    backwards = reference.reverse(copy=False)
    rng = np.random.default_rng(15)
    compared = unreachable = 0
    for target in rng.integers(0, graph.node_count, 10):
        origins = rng.integers(0, graph.node_count, 30)
        units = [
            UnitPosition(str(graph.node_osm[i]), graph.node_lat[i], graph.node_lon[i])
            for i in origins
        ]
        expected = nx.single_source_dijkstra_path_length(
            backwards, int(graph.node_osm[target]), weight="travel_time"
        )
        result = graph.recommend(
            graph.node_lat[target], graph.node_lon[target], units, k=len(units), max_limit_s=1e9
        )
        got = {r.unit_id: r.eta_s for r in result.recommendations}
        for unit in units:
            if int(unit.unit_id) in expected:
                assert got[unit.unit_id] == pytest.approx(expected[int(unit.unit_id)], abs=1e-6)
                compared += 1
            else:
                assert unit.unit_id in result.skipped and unit.unit_id not in got
                unreachable += 1
        ranked = [r.eta_s for r in result.recommendations]
        assert ranked == sorted(ranked)
    assert compared == 300 and unreachable == 0  # the strongly connected core only


def test_mid_edge_etas_equal_networkx_with_the_edges_cut_at_the_points(twin_cities):
    _, graph = twin_cities
    ref = reference_digraph(graph)
    rng = np.random.default_rng(5)
    lat0, lat1 = np.percentile(graph.node_lat, [10, 90])
    lon0, lon1 = np.percentile(graph.node_lon, [10, 90])
    compared = 0
    while compared < 40:
        (alat, blat), (alon, blon) = rng.uniform(lat0, lat1, 2), rng.uniform(lon0, lon1, 2)
        try:
            origin, target = graph.snap(alat, alon), graph.snap(blat, blon)
        except OutsideMapError:
            continue
        same_road = {origin.edge_id, origin.reverse_edge_id} & {
            target.edge_id,
            target.reverse_edge_id,
        }
        if same_road - {None}:
            continue
        with cut_at(ref, [("O", origin), ("T", target)]):
            try:
                expected, _ = nx.bidirectional_dijkstra(ref, "O", "T", weight="time")
            except nx.NetworkXNoPath:
                expected = None
        if expected is None:
            with pytest.raises(RoutingError):
                graph.eta(alat, alon, blat, blon)
            continue
        route = graph.eta(alat, alon, blat, blon)
        assert route.eta_s == pytest.approx(expected, rel=1e-9, abs=1e-6)
        # the polyline runs from the snapped origin to the snapped target along the roads
        assert route.geometry[0] == pytest.approx((origin.lat, origin.lon), abs=1e-7)
        assert route.geometry[-1] == pytest.approx((target.lat, target.lon), abs=1e-7)
        lat, lon = np.array(route.geometry).T
        drawn = float(haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]).sum())
        assert drawn == pytest.approx(route.distance_m, rel=0.01, abs=2.0)
        compared += 1


def test_snap_finds_the_edge_and_how_far_along_it(twin_cities):
    _, graph = twin_cities
    index = int(np.argmax(graph.edge_length_m > 400))  # a long-ish edge
    (lat,), (lon,) = graph._slice_latlon(index, 0.3, 0.3)
    snap = graph.snap(float(lat[0]), float(lon[0]))
    if snap.edge_id == graph.edge_id(index):
        assert snap.fraction == pytest.approx(0.3, abs=1e-6)
    else:  # the same road driven the other way
        assert graph.edge_id(index) == snap.reverse_edge_id
        assert snap.fraction == pytest.approx(0.7, abs=1e-6)
    assert snap.offset_m < 0.01
    # 60 m north of a point on a road: still snapped, offset reported
    far = graph.snap(float(lat[0]) + 60 / 111_195, float(lon[0]))
    assert 0 < far.offset_m <= 60.0 + 1e-6


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(31.5204, 74.3587), (0.0, 0.0), (math.nan, 73.0), (33.7, math.inf)],
    ids=["lahore", "null-island", "nan", "inf"],
)
def test_point_outside_the_map_is_a_clear_error(twin_cities, lat, lon):
    _, graph = twin_cities
    with pytest.raises(OutsideMapError, match="road|coordinate"):
        graph.snap(lat, lon)
    with pytest.raises(OutsideMapError):
        graph.eta(33.7, 73.05, lat, lon)
