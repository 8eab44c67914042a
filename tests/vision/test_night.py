"""Real clips as a camera sees them after dusk: a jam must still read as a jam, a free road as
free (or, when too dark to read, unreliable), never a jam read free (see vision_feed/contrast.py).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tests.conftest import require_data
from tests.vision.clips import as_night
from vision_feed.contrast import MAX_GAIN, ContrastStretch
from vision_feed.estimator import Window, analyze_frames
from vision_feed.frames import Frame, iter_frames


def read_at_night(clip: str) -> list[Window]:
    frames = list(iter_frames(str(require_data(f"video/{clip}"))))
    rng = np.random.default_rng(15)
    fps = (len(frames) - 1) / frames[-1].t
    night = [Frame(t=f.t, gray=as_night(f.gray, rng), source_size=f.source_size) for f in frames]
    return analyze_frames(night, fps=fps)


@pytest.mark.slow
@pytest.mark.parametrize("clip", ["alhu_heavy_trafic.mp4", "zeenath_traffic.mp4"])
def test_a_jam_at_night_is_not_read_free(clip: str) -> None:
    """Unstretched, the darkened Bangkok jam read free in three of its five windows."""
    windows = [w for w in read_at_night(clip) if w.reliable and w.t0 >= 2.0]
    assert len(windows) >= 2
    for window in windows:  # the first window is read before the background is learned
        assert window.label in {"jammed", "slow"}, window


@pytest.mark.slow
@pytest.mark.parametrize("clip", ["bgslibrary_video02_highway_cctv.avi",
                                  "bgslibrary_video03_highway.avi", "kaybr_traffic.mp4"])
def test_a_free_road_at_night_reads_free_or_too_dark(clip: str) -> None:
    windows = read_at_night(clip)
    labels = Counter(w.label if w.reliable else w.reason for w in windows)
    assert set(labels) <= {"free", "dark"}, labels
    assert labels["free"] >= 4


def test_a_daylight_picture_is_left_as_it_is() -> None:
    frames = iter_frames(str(require_data("video/zeenath_traffic.mp4")), max_frames=20)
    stretch = ContrastStretch()
    for frame in frames:
        cumulative = np.cumsum(np.bincount(frame.gray.ravel(), minlength=256)) / frame.gray.size
        assert stretch.apply(frame.gray, cumulative) is frame.gray


def test_a_dim_picture_is_stretched_steadily_and_within_the_gain_cap() -> None:
    rng = np.random.default_rng(3)
    dim = rng.integers(20, 60, size=(240, 320), dtype=np.uint8)
    cumulative = np.cumsum(np.bincount(dim.ravel(), minlength=256)) / dim.size
    stretch = ContrastStretch()
    first = stretch.apply(dim, cumulative)
    assert 1.0 < stretch.gain <= MAX_GAIN
    assert np.ptp(first.astype(int)) > np.ptp(dim.astype(int)) * 1.5
    again = stretch.apply(dim, cumulative)  # the same picture maps to the same levels
    assert (again == first).all()


def test_headlights_in_a_dark_picture_do_not_stop_the_stretch() -> None:
    rng = np.random.default_rng(4)
    night = rng.integers(10, 50, size=(240, 320), dtype=np.uint8)
    night[rng.random(night.shape) < 0.03] = 255  # lamps and headlights: 3 % of the picture
    cumulative = np.cumsum(np.bincount(night.ravel(), minlength=256)) / night.size
    stretch = ContrastStretch()
    stretch.apply(night, cumulative)
    assert stretch.gain > 1.5


def test_the_stretch_fades_in_at_dusk_without_a_jump_between_frames() -> None:
    """The light falls over 200 frames across the dim threshold: no compared pair of frames may
    differ by a jump in levels (a jump reads as every block changing at once)."""
    rng = np.random.default_rng(5)
    scene = rng.integers(0, 256, size=(240, 320)).astype(np.float32)
    stretch = ContrastStretch()
    previous = None
    for step in range(200):
        light = 0.55 - 0.35 * step / 199  # 95th percentile from about 135 down to 50 levels
        frame = np.clip(scene * light, 0, 255).astype(np.uint8)
        cumulative = np.cumsum(np.bincount(frame.ravel(), minlength=256)) / frame.size
        out = stretch.apply(frame, cumulative).astype(np.float32)
        if previous is not None:
            assert abs(float(out.mean()) - previous) < 2.0, step
        previous = float(out.mean())
    assert stretch.weight == 1.0 and stretch.gain > 1.5
