"""Camera registry: the shipped config loads and points at real footage; bad entries are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require_data
from vision_feed.cameras import (
    DEFAULT_CAMERAS_PATH,
    CameraConfigError,
    load_cameras,
    parse_cameras,
    resolve_source,
)

GOOD = {
    "id": "cam-1",
    "source": "data:video/x.avi",
    "position": [33.7, 73.0],
    "heading_deg": 90,
    "edges": ["101-102"],
}


def test_shipped_cameras_load_and_their_sources_exist() -> None:
    cameras = load_cameras(DEFAULT_CAMERAS_PATH)
    assert len(cameras) == 4
    for cam in cameras:
        relative = cam.source.removeprefix("data:")
        assert Path(cam.resolved_source()) == require_data(relative)
        assert cam.calibration.reference_source  # each camera knows its empty road
        assert cam.ttl_s and cam.ttl_s >= cam.sample_every_s  # readings outlive one period


def test_data_prefix_follows_h15_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("H15_DATA_DIR", str(tmp_path))
    assert resolve_source("data:video/a.avi") == str(tmp_path / "video" / "a.avi")
    assert resolve_source("rtsp://10.0.0.5/stream1") == "rtsp://10.0.0.5/stream1"
    assert resolve_source("clips/a.avi", base_dir=tmp_path) == str(tmp_path / "clips" / "a.avi")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"edges": ["101:102"]}, "edge id"),
        ({"position": [173.0, 33.0]}, "lat, lon"),
        ({"lane_mask": [[0, 0], [1, 1]]}, "at least 3 points"),
        ({"heading_deg": 360}, "heading_deg"),
        ({"id": ""}, "id"),
    ],
)
def test_invalid_camera_is_rejected_with_its_name(change: dict, message: str) -> None:
    with pytest.raises(CameraConfigError, match=message) as caught:
        parse_cameras({"cameras": [GOOD, {**GOOD, "id": "cam-2", **change}]})
    assert "cam-2" in str(caught.value) or change.get("id") == ""


def test_duplicate_camera_id_is_rejected() -> None:
    with pytest.raises(CameraConfigError, match="twice"):
        parse_cameras({"cameras": [GOOD, GOOD]})


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "cameras.toml"
    bad.write_text("[[cameras]\nid = ", encoding="utf-8")
    with pytest.raises(CameraConfigError, match="cannot read"):
        load_cameras(bad)


def test_vision_feed_imports_no_other_helpline_package() -> None:
    """It exchanges plain data only: dispatch composes it, never the other way round."""
    import ast

    forbidden = {"dispatch", "routing", "telephony", "alerts"}
    for path in (Path(__file__).resolve().parents[2] / "vision_feed").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not {n.split(".")[0] for n in names} & forbidden, f"{path.name}: {names}"
