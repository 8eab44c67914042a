"""Live congestion from Redis (real server) applied to the compiled graph."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import redis

from routing.congestion import load_congestion
from routing.synthetic import generate_city_graph, random_unit_positions


def put(client: redis.Redis, camera: str, edges: list[str], factor: float, **extra) -> None:
    reading = {
        "camera_id": camera,
        "edges": edges,
        "factor": factor,
        "level": 0.5,
        "label": "slow",
        "confidence": 0.9,
        "reliable": True,
        "ts": "2026-11-22T04:00:00+00:00",
    }
    reading.update(extra)
    client.set(f"h15:congestion:cam:{camera}", json.dumps(reading), ex=60)


@pytest.fixture
def client(redis_url: str):
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def test_reads_factors_largest_wins_unreliable_and_bad_values_ignored(client):
    put(client, "c1", ["1-2", "2-3"], 1.5)
    put(client, "c2", ["2-3", "3-4"], 2.5)  # two cameras on 2-3: the worse one counts
    put(client, "c3", ["5-6"], 4.0, reliable=False, label="unreliable")
    put(client, "c4", ["7-8"], 0.5)  # below free flow: rejected
    client.set("h15:congestion:cam:c5", b"{not json", ex=60)
    client.set("h15:something:else", json.dumps({"edges": ["9-10"], "factor": 9}), ex=60)
    assert load_congestion(client) == {"1-2": 1.5, "2-3": 2.5, "3-4": 2.5}


def test_an_expired_reading_means_free_flow(client):
    put(client, "c1", ["1-2"], 3.0)
    client.pexpire("h15:congestion:cam:c1", 100)
    assert load_congestion(client) == {"1-2": 3.0}
    time.sleep(0.25)
    assert load_congestion(client) == {}


def test_many_cameras_are_read_in_batches(client):
    pipe = client.pipeline()
    for i in range(1200):
        pipe.set(
            f"h15:congestion:cam:{i}",
            json.dumps({"edges": [f"{i}-{i + 1}"], "factor": 2.0, "reliable": True}),
            ex=60,
        )
    pipe.execute()
    factors = load_congestion(client, batch=100)
    assert len(factors) == 1200 and set(factors.values()) == {2.0}


def test_redis_congestion_slows_the_route_through_it(client):
    graph = generate_city_graph(30, seed=3)
    incident, unit = random_unit_positions(graph, 2, seed=4)
    free = graph.nearest_units(incident.lat, incident.lon, [unit], k=1)[0]
    put(client, "cam-1", free.edge_ids, 4.0)
    assert graph.set_congestion(load_congestion(client)) == len(free.edge_ids)
    slowed = graph.nearest_units(incident.lat, incident.lon, [unit], k=1)[0]
    assert free.eta_s < slowed.eta_s <= 4.0 * free.eta_s + 1e-6
    client.delete("h15:congestion:cam:cam-1")  # the reading expires: back to free flow
    graph.set_congestion(load_congestion(client))
    back = graph.nearest_units(incident.lat, incident.lon, [unit], k=1)[0]
    assert back.eta_s == pytest.approx(free.eta_s)


def test_full_update_reweights_every_edge_without_touching_the_structure():
    graph = generate_city_graph(60, seed=1)
    indices_before = graph._matrix.indices.copy()
    ids = graph.edge_ids()
    factors = np.linspace(1.0, 3.0, len(ids))
    mapping = dict(zip(ids, factors.tolist(), strict=True))
    mapping["not-an-edge"] = 5.0
    assert graph.set_congestion(mapping) == len(ids)
    assert np.allclose(graph.current_time_s(), graph.edge_time_s * factors)
    # the search matrix carries the new weights (transposed order), same sparsity structure
    n = graph.edge_count
    assert np.allclose(graph._matrix.data[:n], (graph.edge_time_s * factors)[graph._rev_order])
    assert np.array_equal(graph._matrix.indices, indices_before)
    graph.set_congestion({})
    assert np.array_equal(graph.current_time_s(), graph.edge_time_s)
