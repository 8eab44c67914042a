"""Every real clip in ../shared/data/video read as a newly added camera would be: no reference, no
lane mask, nothing learned. Jams read jammed or slow, free roads free, a handheld camera and a
feed that cuts between cameras unreliable (see the second table of SOURCES.md for each clip).

Design and check: thresholds were set on half the clips (video02, simple_vehicle_counting,
intel, zeenath_traffic, omkar, cop290) and then checked on the others (video03, kaybr, raasta,
alhu, zeenath_accidenttraffic). That check passed video03 and found: a false cut on kaybr (an
exposure change; fixed by comparing cells after removing the global brightness shift), alhu
refused as shaken (stock footage that sways and zooms; fixed by compensating slow rigid motion),
the compilation's "frozen runs" not recognised (looked at frame by frame, they are frame-rate
padding with vehicles moving between the repeats: live, rightly read; a transcoded frozen feed
is staged in test_estimator.py), and raasta's dense free flow read jammed (still so: xfail
below). So alhu, kaybr and
the compilation are no longer unseen.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from tests.conftest import require_data
from vision_feed.analyze import analyze_source
from vision_feed.cameras import DEFAULT_CAMERAS_PATH, load_cameras
from vision_feed.estimator import AnalysisResult
from vision_feed.learned import DEFAULT_FREE_FLOW_PX_S, MIN_SPEED_WINDOWS, CameraState

FREE = [
    "bgslibrary_video02_highway_cctv.avi",
    "bgslibrary_video03_highway.avi",
    "simple_vehicle_counting_video.avi",
    "intel_car-detection.mp4",
    "kaybr_traffic.mp4",
    "cop290_short.mp4",  # light to moderate flow, a short queue at the stop line
]
CONGESTED = ["zeenath_traffic.mp4", "alhu_heavy_trafic.mp4"]
# The I-5 lanes of zeenath_traffic.mp4 (320×240), as an operator would draw them.
ZEENATH_LANES = [(115, 240), (235, 40), (300, 40), (320, 110), (320, 240)]


@cache
def read(clip: str) -> AnalysisResult:
    return analyze_source(str(require_data(f"video/{clip}")))


def reliable(result: AnalysisResult) -> list:
    return [w for w in result.windows if w.reliable]


@pytest.mark.slow
@pytest.mark.parametrize("clip", FREE)
def test_free_flowing_clips_read_free_without_calibration(clip: str) -> None:
    result = read(clip)
    assert not result.calibrated
    windows = reliable(result)
    assert len(windows) >= 0.6 * len(result.windows), result.windows
    labels = Counter(w.label for w in windows)
    assert labels["jammed"] == 0, labels
    assert labels["free"] >= 0.8 * len(windows), labels
    for window in windows:
        assert window.basis == "default" and window.confidence <= 0.5
        assert window.factor == pytest.approx(1.0 + 5.0 * window.level, abs=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("clip", CONGESTED)
def test_congested_clips_read_jammed_or_slow_without_calibration(clip: str) -> None:
    windows = reliable(read(clip))
    assert len(windows) >= 2, read(clip).windows
    for window in windows:
        assert window.label in {"jammed", "slow"}, window
        assert window.factor > 2.0
        assert window.speed is not None and window.occupancy > 0.3


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="dense but free-flowing traffic seen from far away moves as few pixels per second "
    "as a jam seen from close; until the camera has learned its own free-flow speed on an "
    "uncrowded road it reads jammed (known limitation, see README)",
)
def test_dense_free_flow_reads_free_from_the_first_minute() -> None:
    windows = reliable(read("raasta_traffic.mp4"))
    assert windows and all(w.label == "free" for w in windows)


@pytest.mark.slow
def test_handheld_panning_camera_is_unreliable() -> None:
    result = read("omkar_traffic.mp4")
    assert len(result.windows) >= 5
    for window in result.windows:
        assert not window.reliable and window.label == "unreliable", window
        assert window.reason in {"shaken", "cut"}
        assert window.factor == 1.0 and window.level == 0.0 and window.confidence == 0.0


@pytest.mark.slow
def test_compilation_with_cuts_is_refused_at_the_cut() -> None:
    """The clip shows the I-5 jam for about 5 s, then jumps to an intersection."""
    result = read("zeenath_accidenttraffic.mp4")
    reasons = [w.reason for w in result.windows]
    assert "cut" in reasons
    first = [w for w in result.windows if w.t1 <= 4.0]
    assert first and all(w.label in {"jammed", "slow"} for w in first), first


@pytest.mark.slow
def test_a_slowly_swaying_camera_is_compensated_not_refused_everywhere() -> None:
    """alhu's stock footage drifts and zooms a little: those windows are read, less confident."""
    windows = reliable(read("alhu_heavy_trafic.mp4"))
    assert windows and min(w.confidence for w in windows) < 0.5


@pytest.mark.slow
def test_an_operator_lane_mask_improves_the_reading_and_does_not_flip_it() -> None:
    path = str(require_data("video/zeenath_traffic.mp4"))
    plain = reliable(read("zeenath_traffic.mp4"))
    masked = reliable(analyze_source(path, lane_mask=ZEENATH_LANES))
    assert len(masked) == len(plain)
    for before, after in zip(plain, masked, strict=True):
        assert after.basis == "lane_mask"
        assert after.label in {"jammed", "slow"}, after
        assert after.confidence > before.confidence


@pytest.mark.slow
def test_the_camera_learns_its_free_flow_speed_and_keeps_it_between_bursts() -> None:
    path = str(require_data("video/bgslibrary_video03_highway.avi"))
    state = CameraState()
    first = analyze_source(path, window_s=1.0, state=state)  # 28 s of its own traffic
    assert first.windows[0].basis == "default" and first.windows[-1].basis == "learned"
    assert len(state.speeds) >= MIN_SPEED_WINDOWS
    assert state.road().any() and len(state.history) >= 3
    restored = CameraState.from_bytes(state.to_bytes())  # as the RQ job keeps it in Redis
    assert restored.speeds == pytest.approx(state.speeds, abs=0.01)
    assert (restored.road() == state.road()).all()
    assert restored.free_flow_px_s() == pytest.approx(state.free_flow_px_s(), rel=0.01)
    later = analyze_source(path, max_frames=240, start_s=10.0, state=restored)
    assert {w.basis for w in later.windows if w.reliable} == {"learned"}
    assert all(w.label == "free" for w in later.windows if w.reliable)
    assert all(w.confidence > 0.5 for w in later.windows if w.reliable)


@pytest.mark.slow
def test_a_camera_turned_to_another_road_relearns_instead_of_reading_a_jam() -> None:
    """Same camera state, new view (a PTZ camera turned): nothing it learned may leak."""
    state = CameraState()
    analyze_source(str(require_data("video/bgslibrary_video02_highway_cctv.avi")), state=state)
    learned_samples = state.samples
    turned = analyze_source(
        str(require_data("video/bgslibrary_video03_highway.avi")), max_frames=360, state=state
    )
    assert state.samples < learned_samples  # started again from the new view
    assert turned.windows and all(w.label == "free" for w in turned.windows if w.reliable)


@pytest.mark.slow
def test_an_operator_reference_raises_confidence_and_keeps_a_free_road_free() -> None:
    cam = next(c for c in load_cameras(DEFAULT_CAMERAS_PATH) if c.id == "cam-ijp-03")
    path = str(require_data("video/simple_vehicle_counting_video.avi"))
    plain = read("simple_vehicle_counting_video.avi").windows
    referenced = analyze_source(path, lane_mask=cam.lane_mask, calibration=cam.calibration).windows
    assert len(referenced) == len(plain)
    assert all(w.basis == "reference" and w.label == "free" for w in referenced)
    assert min(w.confidence for w in referenced) > max(w.confidence for w in plain)


@pytest.mark.slow
def test_a_camera_first_switched_on_in_a_jam_does_not_learn_the_crawl_as_free_flow() -> None:
    """Thirty seconds of nothing but the I-5 jam: before, the crawl became the learned free-flow
    speed after 20 windows and the jam then read free (confidence 0.7, basis "learned")."""
    path = str(require_data("video/zeenath_traffic.mp4"))
    state = CameraState()
    for _ in range(6):  # 6 × 5.3 s, 1-s windows: more than MIN_SPEED_WINDOWS readable windows
        windows = reliable(analyze_source(path, window_s=1.0, state=state))
    assert windows and all(w.label in {"jammed", "slow"} for w in windows), windows
    assert all(w.basis == "default" for w in windows)
    assert state.free_flow_px_s() == (DEFAULT_FREE_FLOW_PX_S, False)
