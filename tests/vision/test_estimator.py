"""The estimator on real footage: free clips read free, a standing queue reads jammed, and a
frozen, shaken, moved or black camera reads unreliable (so it cannot change a route)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import require_data
from tests.vision import clips
from vision_feed.analyze import analyze_source
from vision_feed.cameras import DEFAULT_CAMERAS_PATH, Camera, load_cameras

CLIP_OF_CAMERA = {
    "cam-jinnah-ave-01": "bgslibrary_video02_highway_cctv.avi",
    "cam-kashmir-02": "bgslibrary_video03_highway.avi",
    "cam-ijp-03": "simple_vehicle_counting_video.avi",
    "cam-blue-area-04": "intel_car-detection.mp4",
}
JINNAH = "cam-jinnah-ave-01"


def camera(camera_id: str) -> Camera:
    return next(c for c in load_cameras(DEFAULT_CAMERAS_PATH) if c.id == camera_id)


def analyse(path: Path, cam: Camera):
    return analyze_source(str(path), lane_mask=cam.lane_mask, calibration=cam.calibration)


@pytest.mark.slow
@pytest.mark.parametrize("camera_id", sorted(CLIP_OF_CAMERA))
def test_each_real_clip_reads_free_flowing(camera_id: str) -> None:
    path = require_data(f"video/{CLIP_OF_CAMERA[camera_id]}")
    result = analyse(path, camera(camera_id))
    assert result.calibrated
    assert len(result.windows) >= 5  # the whole clip, in 2 s windows
    for window in result.windows:
        assert window.reliable, window
        assert window.label == "free", window
        assert window.factor < 1.5
        assert 0.0 <= window.level <= 1.0


# The intel clip's camera re-exposes over the clip, so no clean vehicle cut-outs come from it.
@pytest.mark.parametrize("camera_id", ["cam-jinnah-ave-01", "cam-kashmir-02", "cam-ijp-03"])
def test_vehicles_standing_in_the_lanes_read_jammed(camera_id: str, tmp_path: Path) -> None:
    cam = camera(camera_id)
    path = require_data(f"video/{CLIP_OF_CAMERA[camera_id]}")
    queue, fps = clips.standing_queue(path, 6)
    result = analyse(clips.write_clip(tmp_path / "queue.avi", queue, fps), cam)
    assert result.windows
    for window in result.windows:
        assert window.reliable, window
        assert window.label == "jammed", window
        assert window.factor >= 3.5
        assert window.speed_ratio is not None and window.speed_ratio < 0.2
    # The same real frames without the standing queue are free: the queue made the difference.
    frames, _ = clips.read_frames(path, len(queue))
    free = analyse(clips.write_clip(tmp_path / "free.avi", frames, fps), cam)
    assert {w.label for w in free.windows} == {"free"}


def test_background_subtraction_would_have_missed_the_queue(tmp_path: Path) -> None:
    """SOURCES.md's lesson as a guard: MOG2 forgets a standing queue, our occupancy does not."""
    cam = camera("cam-kashmir-02")
    queue, fps = clips.standing_queue(require_data(f"video/{CLIP_OF_CAMERA[cam.id]}"), 6)
    mog2 = cv2.createBackgroundSubtractorMOG2()
    ratios = [float((mog2.apply(f) > 0).mean()) for f in queue]
    assert np.median(ratios[-60:]) < 0.05  # the still vehicles melted into MOG2's background
    result = analyse(clips.write_clip(tmp_path / "queue.avi", queue, fps), cam)
    assert result.windows[-1].occupancy > 0.3


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("frozen", "frozen"), ("frozen_reencoded", "frozen"), ("shaken", "shaken"),
     ("black", "dark")],
)
@pytest.mark.parametrize("camera_id", ["cam-jinnah-ave-01", "cam-ijp-03"])
def test_broken_feeds_are_unreliable(
    camera_id: str, kind: str, reason: str, tmp_path: Path
) -> None:
    cam = camera(camera_id)
    frames, fps = clips.read_frames(require_data(f"video/{CLIP_OF_CAMERA[camera_id]}"), 120)
    staged = {
        "frozen": lambda: clips.frozen(frames, len(frames)),
        "frozen_reencoded": lambda: clips.frozen_reencoded(frames, len(frames)),
        "shaken": lambda: clips.shaken(frames),
        "black": lambda: clips.black(frames),
    }[kind]()
    result = analyse(clips.write_clip(tmp_path / f"{kind}.avi", staged, fps), cam)
    assert result.windows
    for window in result.windows:
        assert not window.reliable
        assert window.label == "unreliable"
        assert window.reason == reason
        assert window.factor == 1.0 and window.level == 0.0


def test_a_camera_turned_away_from_its_road_is_unreliable(tmp_path: Path) -> None:
    cam = camera("cam-kashmir-02")
    frames, fps = clips.read_frames(require_data(f"video/{CLIP_OF_CAMERA[cam.id]}"), 120)
    turned = [np.ascontiguousarray(np.roll(f, 60, axis=1)) for f in frames]  # panned 60 px
    result = analyse(clips.write_clip(tmp_path / "turned.avi", turned, fps), cam)
    assert {w.reason for w in result.windows} == {"moved"}


def test_uncalibrated_analysis_says_so() -> None:
    path = require_data("video/simple_vehicle_counting_video.avi")
    result = analyze_source(str(path), max_frames=120)
    assert not result.calibrated
    assert all(w.confidence <= 0.6 for w in result.windows)


def test_unreadable_source_is_a_clear_error(tmp_path: Path) -> None:
    from vision_feed.frames import SourceError

    with pytest.raises(SourceError, match="cannot open"):
        analyze_source(str(tmp_path / "missing.avi"))


def test_glare_and_a_covered_lens_are_unreliable_without_calibration(tmp_path: Path) -> None:
    frames, fps = clips.read_frames(require_data(f"video/{CLIP_OF_CAMERA[JINNAH]}"), 100)
    washed = [np.clip(f.astype(np.int16) * 3, 0, 255).astype(np.uint8) for f in frames]
    for staged, reason in ((washed, "glare"), (clips.black(frames), "dark")):
        result = analyze_source(str(clips.write_clip(tmp_path / f"{reason}.avi", staged, fps)))
        assert result.windows
        assert {w.reason for w in result.windows} == {reason}
        assert all(w.factor == 1.0 and not w.reliable for w in result.windows)


def test_a_night_road_with_its_lights_is_not_called_dark(tmp_path: Path) -> None:
    """Dim the real clip to night levels but keep what was bright (lamps, lights): still read."""
    frames, fps = clips.read_frames(require_data(f"video/{CLIP_OF_CAMERA[JINNAH]}"), 100)
    night = []
    for frame in frames:
        dim = (frame.astype(np.float32) * 0.12).astype(np.uint8)
        dim[frame > 215] = 255
        night.append(dim)
    assert np.mean([f.mean() for f in night]) < 20  # darker than the darkness threshold's mean
    result = analyze_source(str(clips.write_clip(tmp_path / "night.avi", night, fps)))
    assert result.windows and all(w.reason != "dark" for w in result.windows)
    assert any(w.reliable for w in result.windows)
