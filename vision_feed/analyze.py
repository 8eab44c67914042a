"""Calibration (empty-road reference, free-flow speed) and whole-source analysis.

A camera needs no calibration: without one, each source is read with what the camera learns
from its own footage (`learned.CameraState`), from the first window on. An operator may still
calibrate a camera from footage of its own road while traffic flows freely: the temporal median
of frames spread over the clip is the empty road, and the flow speed measured against that
reference is its free-flow speed. That sees a queue that never moves, and raises the confidence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from vision_feed.cameras import Calibration, resolve_source
from vision_feed.estimator import (
    AnalysisResult,
    Reference,
    analyze_frames,
    median_reference,
)
from vision_feed.frames import (
    is_stream,
    iter_frames,
    open_capture,
    source_fps,
    to_analysis_gray,
)
from vision_feed.learned import CameraState

log = logging.getLogger(__name__)

FREE_FLOW_FRAMES = 600  # enough free traffic to time, cheap enough to do on first use
STREAM_DEFAULT_FRAMES = 250


def sample_frames(source: str, count: int) -> list[np.ndarray]:
    """`count` frames spread evenly over a file (consecutive ones for a stream)."""
    capture = open_capture(source)
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        stride = max(1, total // count) if total > 0 else 1
        frames: list[np.ndarray] = []
        index = 0
        while len(frames) < count:
            if not capture.grab():
                break
            if index % stride == 0:
                ok, image = capture.retrieve()
                if ok:
                    frames.append(to_analysis_gray(image))
            index += 1
        return frames
    finally:
        capture.release()


def free_flow_speed(
    source: str, image: np.ndarray, lane_mask: Sequence[tuple[float, float]] | None
) -> float | None:
    """Median window speed of a free-flow clip, measured against its own reference."""
    capture = open_capture(source)
    fps = source_fps(capture)
    capture.release()
    windows = analyze_frames(
        iter_frames(source, max_frames=FREE_FLOW_FRAMES),
        reference=Reference(image=image),
        fps=fps,
        window_s=2.0,
        lane_mask=lane_mask,
    )
    speeds = [w.speed for w in windows if w.reliable and w.speed is not None]
    return float(np.median(speeds)) if speeds else None


@lru_cache(maxsize=256)
def _cached_reference(
    source: str, frames: int, mask_key: tuple[tuple[float, float], ...] | None, image_path: str
) -> Reference:
    lane_mask = list(mask_key) if mask_key else None
    if image_path:
        loaded = cv2.imread(image_path, cv2.IMREAD_GRAYSCALE)
        if loaded is None:
            raise ValueError(f"cannot read reference image {image_path}")
        image = to_analysis_gray(loaded)
    else:
        image = median_reference(sample_frames(source, frames))
    speed = free_flow_speed(source, image, lane_mask) if source else None
    return Reference(image=image, free_flow_speed_px_s=speed)


def build_reference(
    calibration: Calibration,
    *,
    lane_mask: Sequence[tuple[float, float]] | None = None,
    base_dir: Path | None = None,
) -> Reference | None:
    """The camera's reference from its calibration, or None when it has none (cached)."""
    image_path = (
        resolve_source(calibration.reference_image, base_dir=base_dir)
        if calibration.reference_image
        else ""
    )
    source = (
        resolve_source(calibration.reference_source, base_dir=base_dir)
        if calibration.reference_source
        else ""
    )
    if not image_path and not source:
        return None
    mask_key = tuple(tuple(p) for p in lane_mask) if lane_mask else None
    cached = _cached_reference(source, calibration.reference_frames, mask_key, image_path)
    speed = calibration.free_flow_speed_px_s or cached.free_flow_speed_px_s
    return Reference(image=cached.image, free_flow_speed_px_s=speed)


def self_reference(source: str, lane_mask: Sequence[tuple[float, float]] | None) -> Reference:
    """Calibrate on the footage under test (an honest fallback, flagged as uncalibrated)."""
    image = median_reference(sample_frames(source, 150))
    return Reference(
        image=image,
        free_flow_speed_px_s=free_flow_speed(source, image, lane_mask),
        calibrated=False,
    )


def analyze_source(
    source: str,
    *,
    window_s: float = 2.0,
    lane_mask: Sequence[tuple[float, float]] | None = None,
    calibration: Calibration | None = None,
    max_frames: int | None = None,
    start_s: float = 0.0,
    reference: Reference | None = None,
    state: CameraState | None = None,
) -> AnalysisResult:
    """Per-window occupancy, speed, level and reliability of a file or stream.

    Without `reference` or `calibration` the camera reads from what it learns (`state`, a fresh
    one unless given): `calibrated` is then False and each window's `basis` says so."""
    if not window_s > 0:
        raise ValueError("window_s must be positive")
    resolved = resolve_source(source)
    if is_stream(resolved) and max_frames is None:
        max_frames = STREAM_DEFAULT_FRAMES  # a live stream never ends on its own
    if reference is None and calibration is not None:
        reference = build_reference(calibration, lane_mask=lane_mask)
    capture = open_capture(resolved)
    fps = source_fps(capture)
    capture.release()
    windows = analyze_frames(
        iter_frames(resolved, max_frames=max_frames, start_s=start_s),
        reference=reference,
        fps=fps,
        window_s=window_s,
        lane_mask=lane_mask,
        pixels_per_metre=calibration.pixels_per_metre if calibration else None,
        state=state,
    )
    calibrated = reference is not None and reference.calibrated
    return AnalysisResult(source=source, fps=fps, calibrated=calibrated, windows=windows)
