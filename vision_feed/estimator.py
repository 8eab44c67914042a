"""Congestion from a fixed camera: occupancy that sees standing vehicles, plus flow speed.

Why not background subtraction: MOG2 measures motion, and a standing queue melts into its
background within seconds (see ../shared/data/video/SOURCES.md). Occupancy here is the share of
lane-mask pixels that differ from the camera's *own empty-road reference* (a calibration image or
the temporal median of a free-flow clip), so a stopped car counts as much as a moving one.
Speed is dense optical flow (OpenCV DIS, ultrafast preset) averaged over the occupied pixels and
compared with the camera's own free-flow speed. A jam is high occupancy with low speed.

Before any of that, each window is checked: a dark or blank image, a frozen feed, a camera that
shakes or has moved is `unreliable`, with factor 1.0, so it never changes a route.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

from vision_feed.frames import ANALYSIS_SIZE, Frame

# Thresholds, at the 320×240 analysis size. Each is explained where it is used.
DIFF_THRESHOLD = 25  # grey levels from the reference that count as "something on the road"
DARK_MEAN = 25.0
BLANK_STD = 4.0
FROZEN_PAIR_DIFF = 0.01  # mean |Δ| between frames; real sensors never get this low
SHAKE_PX = 1.5  # whole-image motion per frame
MOVED_OUTSIDE_CHANGE = 0.5
MIN_PAIRS = 2
OCC_FREE, OCC_JAM = 0.10, 0.45  # lane share covered: below = free, above = full
RATIO_FREE, RATIO_JAM = 0.8, 0.15  # speed / free-flow speed
LEVEL_SLOW, LEVEL_JAM = 0.3, 0.6
MAX_FACTOR = 6.0  # travel-time multiplier at level 1 (a standing queue)


@dataclass
class Reference:
    """The empty road as this camera sees it, and its free-flow speed in px/s."""

    image: np.ndarray  # uint8 grey at ANALYSIS_SIZE
    free_flow_speed_px_s: float | None = None
    calibrated: bool = True  # False when derived from the very footage being judged


@dataclass
class FrameStats:
    t: float
    mean: float
    std: float
    occupancy: float
    outside_change: float | None
    occupied_px: int = 0
    flow_sum: float = 0.0  # sum of |flow| (px/frame) over occupied lane pixels
    global_motion: float | None = None  # px/frame of the whole picture
    diff_prev: float | None = None


@dataclass
class Window:
    t0: float
    t1: float
    frames: int
    occupancy: float
    speed: float | None  # px/s at 320×240, over occupied lane pixels
    speed_ratio: float | None
    speed_kmh: float | None
    level: float
    label: str
    factor: float
    confidence: float
    reliable: bool
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def unreliable(cls, reason: str, *, t0: float = 0.0, t1: float = 0.0, frames: int = 0,
                   occupancy: float = 0.0, speed: float | None = None,
                   speed_ratio: float | None = None,
                   speed_kmh: float | None = None) -> Window:
        """A reading routing must ignore: free-flow factor, no confidence, the reason said."""
        return cls(t0=t0, t1=t1, frames=frames, occupancy=occupancy, speed=speed,
                   speed_ratio=speed_ratio, speed_kmh=speed_kmh, level=0.0,
                   label="unreliable", factor=1.0, confidence=0.0, reliable=False,
                   reason=reason)


@dataclass
class AnalysisResult:
    source: str
    fps: float
    calibrated: bool
    windows: list[Window] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "fps": self.fps,
            "calibrated": self.calibrated,
            "windows": [w.to_dict() for w in self.windows],
        }


def lane_mask_image(
    polygon: Sequence[tuple[float, float]] | None, source_size: tuple[int, int]
) -> np.ndarray:
    """Boolean mask at analysis size from a polygon in the source's pixel coordinates."""
    width, height = ANALYSIS_SIZE
    if not polygon:
        return np.ones((height, width), dtype=bool)
    sx, sy = width / source_size[0], height / source_size[1]
    points = np.array([[x * sx, y * sy] for x, y in polygon], dtype=np.int32)
    mask = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(mask, [points], 1)
    if not mask.any():
        raise ValueError("lane mask polygon covers no pixel of the frame")
    return mask.astype(bool)


def median_reference(frames: Sequence[np.ndarray]) -> np.ndarray:
    """Temporal median: moving vehicles vanish, the empty road stays."""
    if not frames:
        raise ValueError("no frame to build a reference from")
    return np.median(np.stack(frames), axis=0).astype(np.uint8)


class FrameAnalyzer:
    """Per-frame measurements; keeps the previous frame for flow."""

    def __init__(self, reference: Reference, mask: np.ndarray) -> None:
        self.reference = reference
        self.mask = mask
        self.mask_u8 = mask.astype(np.uint8)
        self.mask_px = int(mask.sum())
        self.outside_px = int(mask.size - self.mask_px)
        self.ref16 = cv2.GaussianBlur(reference.image, (5, 5), 0).astype(np.int16)
        self.ref_mean = float(self.ref16.mean())
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.kernel = np.ones((3, 3), np.uint8)
        self.prev: np.ndarray | None = None

    def step(self, frame: Frame) -> FrameStats:
        gray = frame.gray
        mean, std = cv2.meanStdDev(gray)
        blurred = cv2.GaussianBlur(gray, (5, 5), 0)
        # Compensate a global brightness change (auto-exposure, clouds) before differencing.
        offset = float(blurred.mean()) - self.ref_mean
        diff = np.abs(blurred.astype(np.int16) - self.ref16 - int(round(offset)))
        occupied = (diff > DIFF_THRESHOLD).astype(np.uint8)
        occupied = cv2.morphologyEx(occupied, cv2.MORPH_OPEN, self.kernel)
        occupied_lane = occupied & self.mask_u8
        occupied_px = int(cv2.countNonZero(occupied_lane))
        outside = None
        if self.outside_px >= 0.1 * self.mask.size:
            outside = float(cv2.countNonZero(occupied) - occupied_px) / self.outside_px
        stats = FrameStats(
            t=frame.t,
            mean=float(mean[0, 0]),
            std=float(std[0, 0]),
            occupancy=occupied_px / self.mask_px,
            outside_change=outside,
            occupied_px=occupied_px,
        )
        if self.prev is not None:
            stats.diff_prev = float(cv2.absdiff(gray, self.prev).mean())
            flow = self.flow.calc(self.prev, gray, None)
            magnitude = cv2.magnitude(flow[..., 0], flow[..., 1])
            stats.flow_sum = float(magnitude[occupied_lane.astype(bool)].sum())
            coarse = flow[::4, ::4].reshape(-1, 2)
            stats.global_motion = float(np.hypot(*np.median(coarse, axis=0)))
        self.prev = gray
        return stats


def _scale(value: float, low: float, high: float) -> float:
    """0 at `low`, 1 at `high` (either direction), clipped."""
    return float(min(1.0, max(0.0, (value - low) / (high - low))))


def unreliable_reason(stats: Sequence[FrameStats]) -> str | None:
    pairs = [s for s in stats if s.diff_prev is not None]
    if len(pairs) < MIN_PAIRS:
        return "too_few_frames"
    if np.mean([s.mean < DARK_MEAN for s in stats]) >= 0.5:
        return "dark"
    if np.mean([s.std < BLANK_STD for s in stats]) >= 0.5:
        return "blank"
    if np.mean([s.diff_prev < FROZEN_PAIR_DIFF for s in pairs]) >= 0.9:
        return "frozen"
    if np.mean([(s.global_motion or 0.0) > SHAKE_PX for s in pairs]) >= 0.4:
        return "shaken"
    outside = [s.outside_change for s in stats if s.outside_change is not None]
    if outside and float(np.median(outside)) > MOVED_OUTSIDE_CHANGE:
        return "moved"
    return None


def summarise(
    stats: Sequence[FrameStats],
    *,
    fps: float,
    mask_px: int,
    reference: Reference,
    pixels_per_metre: float | None = None,
) -> Window:
    """One window's verdict from its frames."""
    pairs = [s for s in stats if s.diff_prev is not None]
    occupancy = float(np.median([s.occupancy for s in stats])) if stats else 0.0
    occupied_total = sum(s.occupied_px for s in pairs)
    speed = None
    # Too few occupied pixels means no vehicle to time: the road is free, speed unknown.
    if pairs and occupied_total >= 0.003 * mask_px * len(pairs):
        speed = sum(s.flow_sum for s in pairs) / occupied_total * fps
    ratio = None
    if speed is not None and reference.free_flow_speed_px_s:
        ratio = speed / reference.free_flow_speed_px_s
    speed_kmh = speed / pixels_per_metre * 3.6 if speed is not None and pixels_per_metre else None
    reason = unreliable_reason(stats)
    t0 = stats[0].t if stats else 0.0
    t1 = stats[-1].t if stats else 0.0
    common = {
        "t0": round(t0, 3),
        "t1": round(t1, 3),
        "frames": len(stats),
        "occupancy": round(occupancy, 4),
        "speed": None if speed is None else round(speed, 2),
        "speed_ratio": None if ratio is None else round(ratio, 3),
        "speed_kmh": None if speed_kmh is None else round(speed_kmh, 1),
    }
    if reason is not None:
        return Window.unreliable(reason, **common)
    crowding = _scale(occupancy, OCC_FREE, OCC_JAM)
    slowness = 0.0 if ratio is None else _scale(ratio, RATIO_FREE, RATIO_JAM)
    level = math.sqrt(crowding * slowness)  # a jam needs both: many vehicles, barely moving
    label = "free" if level < LEVEL_SLOW else "slow" if level < LEVEL_JAM else "jammed"
    confidence = min(1.0, len(pairs) / 10) * (1.0 if reference.calibrated else 0.6)
    confidence *= 1.0 - float(np.mean([(s.global_motion or 0.0) > SHAKE_PX for s in pairs]))
    return Window(
        **common,
        level=round(level, 3),
        label=label,
        factor=round(1.0 + (MAX_FACTOR - 1.0) * level, 3),
        confidence=round(confidence, 3),
        reliable=True,
    )


def analyze_frames(
    frames: Iterable[Frame],
    *,
    reference: Reference,
    fps: float,
    window_s: float = 2.0,
    lane_mask: Sequence[tuple[float, float]] | None = None,
    pixels_per_metre: float | None = None,
) -> list[Window]:
    """Cut frames into windows of `window_s` seconds and judge each one."""
    analyzer: FrameAnalyzer | None = None
    windows: list[Window] = []
    current: list[FrameStats] = []
    current_index: int | None = None

    def close() -> None:
        if current and analyzer is not None:
            windows.append(
                summarise(
                    current,
                    fps=fps,
                    mask_px=analyzer.mask_px,
                    reference=reference,
                    pixels_per_metre=pixels_per_metre,
                )
            )

    for frame in frames:
        if analyzer is None:
            analyzer = FrameAnalyzer(reference, lane_mask_image(lane_mask, frame.source_size))
        index = int(frame.t // window_s) if math.isfinite(window_s) else 0
        if current_index is not None and index != current_index:
            close()
            current = []
        current_index = index
        current.append(analyzer.step(frame))
    # A short tail after full windows carries too little evidence to publish on its own.
    if current and (
        not windows or len(current) > 1 and current[-1].t - current[0].t >= window_s / 2
    ):
        close()
    return windows
