"""Nearest-unit recommendation on the real map: ranking, bad units, congestion re-routing."""

from __future__ import annotations

import contextlib

import networkx as nx
import numpy as np
import pytest

from routing.synthetic import reference_digraph
from routing.types import UnitPosition
from tests.routing.conftest import cut_at

pytestmark = pytest.mark.slow  # uses the session import of the whole extract

KOHSAR_MARKET = (33.7237, 73.0738)  # F-6/3, Islamabad


@pytest.fixture
def graph(twin_cities):
    _, graph = twin_cities
    graph.set_congestion({})
    yield graph
    graph.set_congestion({})


def station_units(graph) -> list[UnitPosition]:
    """One unit at every police station of the extract, as the demo fleet is built."""
    return [UnitPosition(f"{p.name} {p.osm_id}", p.lat, p.lon) for p in graph.pois("police")]


def points_on_edge(graph, candidates, fractions):
    """The first candidate edge whose points at `fractions` snap back onto that same road."""
    for index in candidates.tolist():
        points = []
        for fraction in fractions:
            (lat,), (lon,) = graph._slice_latlon(index, fraction, fraction)
            points.append((float(lat[0]), float(lon[0])))
        roads = {graph.edge_id(index)}
        if graph.reverse_edge[index] >= 0:
            roads.add(graph.edge_id(int(graph.reverse_edge[index])))
        if all(graph.snap(*p).edge_id in roads for p in points):
            return index, points
    raise AssertionError("no suitable edge in the map")


def test_ranking_matches_networkx_per_unit_dijkstra(graph):
    units = station_units(graph)
    result = graph.recommend(*KOHSAR_MARKET, units, k=5)
    incident = graph.snap(*KOHSAR_MARKET)
    snaps = {u.unit_id: graph.snap(u.lat, u.lon) for u in units}
    ref = reference_digraph(graph)
    expected = {}
    for unit_id, snap in snaps.items():  # the baseline: one Dijkstra per unit
        if {snap.edge_id, snap.reverse_edge_id} & {incident.edge_id, incident.reverse_edge_id}:
            continue
        with cut_at(ref, [("U", snap), ("I", incident)]), contextlib.suppress(nx.NetworkXNoPath):
            expected[unit_id] = nx.dijkstra_path_length(ref, "U", "I", weight="time")
    best = sorted(expected.items(), key=lambda item: item[1])[:5]
    assert [r.unit_id for r in result.recommendations] == [unit_id for unit_id, _ in best]
    for rec, (_, eta) in zip(result.recommendations, best, strict=True):
        assert rec.eta_s == pytest.approx(eta, abs=1e-6)
        assert rec.distance_m > 0 and len(rec.route) >= 2
    # a unit in Islamabad reaches F-6 within minutes, not hours
    assert result.recommendations[0].eta_s < 15 * 60


def test_units_without_a_position_or_off_the_map_are_skipped_and_reported(graph):
    units = [
        *station_units(graph)[:5],
        UnitPosition("no-fix", None, None),
        UnitPosition("in-lahore", 31.5204, 74.3587),
    ]
    result = graph.recommend(*KOHSAR_MARKET, units, k=3)
    assert len(result.recommendations) == 3
    assert result.skipped["no-fix"] == "no position"
    assert "road" in result.skipped["in-lahore"]
    ids = {r.unit_id for r in result.recommendations}
    assert not ids & {"no-fix", "in-lahore"}
    assert [r.unit_id for r in graph.nearest_units(*KOHSAR_MARKET, units, k=3)] == [
        r.unit_id for r in result.recommendations
    ]


def test_congested_edge_on_the_best_route_changes_the_route_or_the_unit(graph):
    units = station_units(graph)
    before = graph.recommend(*KOHSAR_MARKET, units, k=3).recommendations
    first = before[0]
    whole_edges = first.edge_ids[1:-1] or first.edge_ids
    jammed = max(whole_edges, key=lambda e: graph.edge_time_s[graph.edge_index(e)])
    graph.set_congestion({jammed: 50.0})
    after = graph.recommend(*KOHSAR_MARKET, units, k=3).recommendations
    same_unit = next((r for r in after if r.unit_id == first.unit_id), None)
    if after[0].unit_id == first.unit_id:
        assert jammed not in after[0].edge_ids  # it drives around the jam
    assert same_unit is None or same_unit.eta_s > first.eta_s
    if same_unit is not None:  # never worse than sitting in the jam
        jam_cost = 49.0 * graph.edge_time_s[graph.edge_index(jammed)]
        assert same_unit.eta_s <= first.eta_s + jam_cost + 1e-6
    graph.set_congestion({})
    again = graph.recommend(*KOHSAR_MARKET, units, k=3).recommendations
    assert [r.eta_s for r in again] == pytest.approx([r.eta_s for r in before])


def test_congestion_on_the_unit_s_own_road_adds_the_expected_time(graph):
    """Incident and unit on one long edge: factor f adds (f-1) × the time of the stretch."""
    index, ((ulat, ulon), (ilat, ilon)) = points_on_edge(
        graph, np.flatnonzero(graph.edge_length_m > 800), (0.2, 0.8)
    )
    unit = [UnitPosition("u1", ulat, ulon)]
    free = graph.nearest_units(ilat, ilon, unit, k=1)[0]
    stretch = 0.6 * graph.edge_time_s[index]
    assert free.eta_s == pytest.approx(stretch, rel=1e-6)
    assert free.distance_m == pytest.approx(0.6 * graph.edge_length_m[index], rel=1e-6)
    jam = {graph.edge_id(index): 3.0}
    reverse = graph.reverse_edge[index]
    if reverse >= 0:
        jam[graph.edge_id(int(reverse))] = 3.0
    graph.set_congestion(jam)
    jammed = graph.nearest_units(ilat, ilon, unit, k=1)[0]
    # unless a detour through other streets beats crawling 60 % of this road at a third speed
    assert jammed.eta_s <= 3.0 * stretch + 1e-6
    assert jammed.eta_s > free.eta_s
    if graph.edge_id(index) in jammed.edge_ids:
        assert jammed.eta_s == pytest.approx(3.0 * stretch, rel=1e-6)


def test_unit_past_the_incident_on_a_one_way_road_must_go_round(graph):
    one_way = np.flatnonzero((graph.reverse_edge < 0) & (graph.edge_length_m > 300))
    index, ((ilat, ilon), (ulat, ulon)) = points_on_edge(graph, one_way, (0.3, 0.7))
    unit = [UnitPosition("past", ulat, ulon)]
    result = graph.recommend(ilat, ilon, unit, k=1, max_limit_s=1e9)
    if result.recommendations:  # it has to loop round the block, which costs more than 0.4 edge
        assert result.recommendations[0].eta_s > 0.4 * graph.edge_time_s[index]
    else:
        assert "past" in result.skipped
