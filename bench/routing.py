"""Routing benchmark: nearest-unit recommendation on a Lahore-sized generated road graph.

Measures, in one run: recommendation latency (one reverse bounded scipy Dijkstra for all units),
the networkx baseline (one Dijkstra per unit, as a naive dispatcher would do), the time to apply
a congestion factor to every edge, and graph memory (the arrays plus the snapping index, the
latter as the growth of resident memory while it is built).

`p50_ms`/`p95_ms` are wall-clock (on a shared machine they include waiting for a core;
`cpu_p95_ms` and `load_average` show how much), in steady state: units that have not moved
keep their snap. `cold_p50_ms` re-snaps all units on every query (all moved since the last).

The full baseline would take minutes per query (1,000 networkx searches on 155k nodes), so it is
timed on a sample of units and scaled to all units; `baseline_sampled_units` says how many.
"""

from __future__ import annotations

import contextlib
import os
import resource
import time

import networkx as nx
import numpy as np

from routing.synthetic import generate_city_graph, random_unit_positions, reference_digraph


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q) * 1000.0)


def run(quick: bool = False) -> dict:
    side, n_units, n_queries, baseline_queries, baseline_units = (
        (60, 100, 20, 2, 10) if quick else (400, 1000, 200, 3, 15)
    )
    rng = np.random.default_rng(42)
    started = time.perf_counter()
    graph = generate_city_graph(side, seed=7)
    build_s = time.perf_counter() - started
    units = random_unit_positions(graph, n_units, seed=8)
    incidents = random_unit_positions(graph, n_queries, seed=9)

    rss_before = _rss_mb()
    graph._snap_tree()  # the edge index for snapping, built on first use
    snap_index_mb = _rss_mb() - rss_before
    graph.recommend(incidents[0].lat, incidents[0].lon, units, k=3)  # warm: unit snaps
    latencies, cpu = [], []
    for incident in incidents:
        t0, c0 = time.perf_counter(), time.thread_time()
        graph.recommend(incident.lat, incident.lon, units, k=3)
        latencies.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)

    cold = []  # every unit moved since the last query: all 1,000 fixes re-snapped
    for incident in incidents[:10]:
        graph._unit_snaps.clear()
        t0 = time.perf_counter()
        graph.recommend(incident.lat, incident.lon, units, k=3)
        cold.append(time.perf_counter() - t0)

    reference = reference_digraph(graph)
    per_unit = []
    single_search = []
    unit_nodes = [
        int(graph.node_osm[graph.edge_u[graph.edge_index(graph.snap(u.lat, u.lon).edge_id)]])
        for u in units
    ]
    for incident in incidents[:baseline_queries]:
        snap = graph.snap(incident.lat, incident.lon)
        for node in rng.choice(unit_nodes, size=baseline_units, replace=False).tolist():
            t0 = time.perf_counter()
            with contextlib.suppress(nx.NetworkXNoPath):
                nx.dijkstra_path_length(reference, node, snap.u, weight="time")
            per_unit.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        nx.single_source_dijkstra_path_length(reference.reverse(copy=False), snap.u, weight="time")
        single_search.append(time.perf_counter() - t0)
    baseline_ms = float(np.mean(per_unit) * n_units * 1000.0)

    all_edges = graph.edge_ids()
    factors = dict(zip(all_edges, rng.uniform(1.0, 3.0, len(all_edges)).tolist(), strict=True))
    graph._edge_index = None  # measure the first update honestly: it builds the id index
    t0 = time.perf_counter()
    graph.set_congestion(factors)
    first_update_s = time.perf_counter() - t0
    updates = []
    for _ in range(2 if quick else 3):
        t0 = time.perf_counter()
        graph.set_congestion(factors)
        updates.append(time.perf_counter() - t0)

    p50 = _percentile_ms(latencies, 50)
    return {
        "nodes": graph.node_count,
        "edges": graph.edge_count,
        "units": n_units,
        "queries": n_queries,
        "p50_ms": round(p50, 3),
        "p95_ms": round(_percentile_ms(latencies, 95), 3),
        "cpu_p50_ms": round(_percentile_ms(cpu, 50), 3),
        "cpu_p95_ms": round(_percentile_ms(cpu, 95), 3),
        "load_average": round(os.getloadavg()[0], 2),
        "cold_p50_ms": round(_percentile_ms(cold, 50), 3),
        "baseline_ms": round(baseline_ms, 1),
        "baseline_sampled_units": len(per_unit),
        "baseline_single_search_ms": round(float(np.mean(single_search)) * 1000.0, 1),
        "speedup": round(baseline_ms / p50, 1),
        "congestion_update_s": round(float(np.median(updates)), 4),
        "congestion_first_update_s": round(first_update_s, 4),
        "memory_mb": round(graph.memory_bytes() / 1e6 + snap_index_mb, 1),
        "arrays_mb": round(graph.memory_bytes() / 1e6, 1),
        "snap_index_mb": round(snap_index_mb, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "graph_build_s": round(build_s, 2),
    }


if __name__ == "__main__":  # pragma: no cover
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv)))
