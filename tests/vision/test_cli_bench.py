"""`helpline15 vision analyze` as a user runs it, and the benchmark's smoke run."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bench.vision import run
from tests.conftest import require_data
from vision_feed.cli import vision_app

runner = CliRunner()


def test_analyze_json_prints_each_window() -> None:
    path = require_data("video/simple_vehicle_counting_video.avi")
    result = runner.invoke(vision_app, ["analyze", str(path), "--json", "--camera", "cam-ijp-03"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["source"] == str(path) and printed["calibrated"] is True
    assert len(printed["windows"]) == 6  # 12.5 s in 2 s windows
    for window in printed["windows"]:
        assert {"t0", "t1", "occupancy", "speed", "level", "label", "reliable"} <= set(window)
        assert 0.0 <= window["level"] <= 1.0 and window["label"] == "free"


def test_analyze_table_for_a_data_source_without_calibration() -> None:
    require_data("video/bgslibrary_video02_highway_cctv.avi")
    result = runner.invoke(
        vision_app,
        ["analyze", "data:video/bgslibrary_video02_highway_cctv.avi", "--max-frames", "100"],
    )
    assert result.exit_code == 0, result.output
    assert "no reference" in result.stdout
    assert result.stdout.count("free") == 2  # 100 frames at 25 fps = two 2 s windows


def test_analyze_reports_a_missing_source_and_an_unknown_camera(tmp_path) -> None:
    result = runner.invoke(vision_app, ["analyze", str(tmp_path / "nope.avi")])
    assert result.exit_code == 2 and "cannot open" in result.output
    result = runner.invoke(vision_app, ["analyze", "x.avi", "--camera", "cam-nobody"])
    assert result.exit_code != 0 and "cam-nobody" in result.output


def test_benchmark_quick_run_reports_its_figures() -> None:
    require_data("video/bgslibrary_video03_highway.avi")
    require_data("video/cop290_short.mp4")
    figures = run(quick=True)
    assert figures["frames_per_s_per_core"] > 0
    assert [w["n"] for w in figures["workers"]] == [1, 2]
    assert all(w["frames_per_s"] > 0 for w in figures["workers"])
    assert figures["frame_size"] == [320, 240]
    # Province scale: cameras one core keeps fresh, from the measured CPU of one camera sample.
    assert figures["freshness_s"] == 60.0 and figures["sample_every_s"] < figures["freshness_s"]
    for plan in figures["per_stream"].values():
        assert plan["sample_cpu_s"] > 0
        assert plan["cameras_per_core"] == pytest.approx(
            figures["sample_every_s"] * 0.8 / plan["sample_cpu_s"], rel=0.01
        )
        # cameras_per_core is printed to 0.1; the cores come from the unrounded figure
        assert plan["cores_for_17000"] * (plan["cameras_per_core"] + 0.05) >= 17_000
        assert plan["cores_for_27000"] >= plan["cores_for_17000"]
    assert figures["cores_for_17000"] == figures["per_stream"]["main_1080p"]["cores_for_17000"]


def test_analyze_json_on_a_jam_with_no_reference() -> None:
    path = require_data("video/zeenath_traffic.mp4")
    result = runner.invoke(vision_app, ["analyze", str(path), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["calibrated"] is False and printed["windows"]
    keys = {"label", "occupancy", "speed", "level", "confidence", "reliable", "reason", "basis"}
    for window in printed["windows"]:
        assert keys <= set(window)
        assert window["label"] in {"jammed", "slow"} and window["reason"] is None
        assert window["basis"] == "default" and 0 < window["confidence"] <= 0.5
