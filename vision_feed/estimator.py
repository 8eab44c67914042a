"""Congestion from a camera: how much of the road is covered, how fast it moves, and whether the
picture can be trusted at all.

A jam is **high occupancy with low speed**. Both are read the moment a camera is added, with no
hand calibration (see `learned.py`): occupancy is the share of the road blocks holding a vehicle,
where the road is where traffic was seen moving, and a block holds a vehicle when it changed
between two frames, differs from the learned background, or carries more edges than the
background does (standing vehicles have texture an empty lane lacks). Speed is the median speed
of the tracked features that moved (`motion.py`), as a ratio to the camera's own free-flow speed,
a conservative default until the camera has learned it.

An operator can add an empty-road **reference** (an image, or a free-flow clip whose temporal
median is the empty road) and a **lane mask**: with a reference, occupancy is the share of lane
pixels that differ from it and speed is dense flow (DIS) over those pixels against the
reference's free-flow speed, which sees a queue that never moves; a lane mask replaces the
learned road. `basis` and `confidence` say which case applies.

MOG2-style background subtraction is not used: it measures motion, and a standing queue melts
into its background within seconds (see ../shared/data/video/SOURCES.md).

Before any of that each window is checked (`unreliable_reason`): too dark, glare, blank, frozen
or repeated frames, a cut or view jump, a moving camera, or (with a reference) a camera turned
away make the window `unreliable`, with factor 1.0 so it never changes a route, and the reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

from vision_feed.contrast import ContrastStretch
from vision_feed.frames import ANALYSIS_SIZE, Frame
from vision_feed.learned import ROAD_FLOOR, CameraState, block_mean
from vision_feed.motion import is_duplicate, nothing_moved, similarity, track
from vision_feed.reliability import CUT_SIMILARITY, unreliable_reason

# Thresholds, at the 320×240 analysis size. Each is explained where it is used.
DIFF_THRESHOLD = 25  # grey levels from the reference that count as "something on the road"
PAIR_GAP_S = 0.12  # two frames this far apart are compared (motion above noise, tracks hold)
BLOCK_CHANGED = 0.05  # share of a block's pixels changed between the pair: something moved
BLOCK_DIFFERS = 0.15  # share of a block's pixels off the learned background: something stands
BLOCK_EXTRA_EDGES = 0.08  # edge density above the background's: a vehicle's texture
OCC_FREE, OCC_JAM = 0.10, 0.45  # with a reference: lane share covered, below = free, above = full
LEARNED_OCC_FREE, LEARNED_OCC_JAM = 0.30, 0.70  # without: road blocks holding a vehicle
RATIO_FREE, RATIO_JAM = 0.8, 0.15  # speed / free-flow speed
LEARN_FREE_FLOW_BELOW = 0.5  # crowding under which a readable window teaches the free flow
LEVEL_SLOW, LEVEL_JAM = 0.3, 0.6
MAX_FACTOR = 6.0  # travel-time multiplier at level 1 (a standing queue)
COMPENSATED_CONFIDENCE = 0.7  # the camera swayed or zoomed slowly and was compensated
# Confidence by what the reading stands on (times the share of the window's evidence).
BASIS_CONFIDENCE = {"reference": 1.0, "lane_mask": 0.8, "learned": 0.7, "default": 0.5}


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
    occupancy: float  # against the reference (0 without one)
    outside_change: float | None
    occupied_px: int = 0
    flow_sum: float = 0.0  # sum of |flow| (px/s) over occupied lane pixels (with a reference)
    saturated: float = 0.0
    p99: float = 255.0
    duplicate: bool = False  # the same picture as the frame before
    still: bool = False  # a duplicate, or nothing in the picture moved beyond noise
    pair: bool = False  # compared with an earlier frame (the fields below are set)
    diff_prev: float | None = None
    similarity: float | None = None
    cut: bool = False
    camera_moving: bool = False
    compensated: bool = False  # a slow camera motion was taken out
    occupancy_learned: float | None = None
    moving_speed: float | None = None  # px/s of the features that moved


@dataclass
class Window:
    t0: float
    t1: float
    frames: int
    occupancy: float
    speed: float | None  # px/s at 320×240
    speed_ratio: float | None
    speed_kmh: float | None
    level: float
    label: str
    factor: float
    confidence: float
    reliable: bool
    reason: str | None = None
    basis: str = "reference"  # reference | lane_mask | learned | default (see BASIS_CONFIDENCE)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def unreliable(cls, reason: str, *, t0: float = 0.0, t1: float = 0.0, frames: int = 0,
                   occupancy: float = 0.0, speed: float | None = None,
                   speed_ratio: float | None = None,
                   speed_kmh: float | None = None, basis: str = "reference") -> Window:
        """A reading routing must ignore: free-flow factor, no confidence, the reason said."""
        return cls(t0=t0, t1=t1, frames=frames, occupancy=occupancy, speed=speed,
                   speed_ratio=speed_ratio, speed_kmh=speed_kmh, level=0.0,
                   label="unreliable", factor=1.0, confidence=0.0, reliable=False,
                   reason=reason, basis=basis)


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
    """Per-frame measurements. Every frame is checked for exposure and repetition; frames about
    PAIR_GAP_S apart (skipping repeats) are compared for motion and occupancy."""

    def __init__(
        self,
        reference: Reference | None,
        mask: np.ndarray,
        *,
        state: CameraState | None = None,
        operator_mask: bool = False,
    ) -> None:
        self.reference = reference
        self.state = state if state is not None else CameraState()
        self.mask = mask
        self.mask_u8 = mask.astype(np.uint8)
        self.mask_px = int(mask.sum())
        self.outside_px = int(mask.size - self.mask_px)
        self.road_mask = block_mean(mask) >= 0.5 if operator_mask else None
        if reference is not None:
            self.ref16 = cv2.GaussianBlur(reference.image, (5, 5), 0).astype(np.int16)
            self.ref_mean = float(self.ref16.mean())
            self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.kernel = np.ones((3, 3), np.uint8)
        self.contrast = ContrastStretch()
        self.last: np.ndarray | None = None  # the previous frame, for repeats
        self.anchor: tuple[float, np.ndarray, np.ndarray] | None = None  # (t, grey, blurred)

    def step(self, frame: Frame) -> FrameStats:
        gray = frame.gray
        mean, std = cv2.meanStdDev(gray)
        hist = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel()
        cumulative = np.cumsum(hist) / gray.size
        stats = FrameStats(
            t=frame.t,
            mean=float(mean[0, 0]),
            std=float(std[0, 0]),
            occupancy=0.0,
            outside_change=None,
            saturated=float(hist[250:].sum() / gray.size),
            p99=float(np.searchsorted(cumulative, 0.99)),
        )
        stats.duplicate = self.last is not None and is_duplicate(self.last, gray)
        stats.still = stats.duplicate or (self.last is not None and nothing_moved(self.last, gray))
        self.last = gray
        if stats.duplicate:
            return stats
        if self.reference is None:  # a reference holds the camera's own levels: compare as is
            gray = self.contrast.apply(gray, cumulative)  # after the exposure checks
        blurred = cv2.GaussianBlur(gray, (5, 5), 0)
        if self.anchor is None:
            self.anchor = (frame.t, gray, blurred)
            learned = self.state.background()
            if learned is not None and similarity(learned[0], blurred) < CUT_SIMILARITY:
                self.state.new_scene()  # turned or replaced since the last burst: relearn
            self.state.offer_frame(gray, frame.t)
            return stats
        t_prev, prev, prev_blurred = self.anchor
        dt = frame.t - t_prev
        if dt < PAIR_GAP_S * 0.99 and dt >= 0:
            return stats
        dt = dt if dt > 0 else PAIR_GAP_S  # a clock that went back: assume the usual gap
        self.anchor = (frame.t, gray, blurred)
        self._compare(stats, prev, prev_blurred, gray, blurred, dt)
        return stats

    def _compare(
        self,
        stats: FrameStats,
        prev: np.ndarray,
        prev_blurred: np.ndarray,
        gray: np.ndarray,
        blurred: np.ndarray,
        dt: float,
    ) -> None:
        stats.pair = True
        stats.diff_prev = float(cv2.absdiff(gray, prev).mean())
        stats.similarity = similarity(prev, gray)
        motion = track(prev, gray, dt)
        stats.cut = stats.similarity < CUT_SIMILARITY
        stats.camera_moving = motion.camera_moving
        stats.moving_speed = motion.speed
        if stats.cut:
            self.state.new_scene()  # a cut: learn the new view from scratch
        stats.compensated = motion.transform is not None
        if motion.transform is not None:  # a slow sway or zoom: compare in the new picture
            prev_blurred = cv2.warpAffine(
                prev_blurred, motion.transform, ANALYSIS_SIZE, borderMode=cv2.BORDER_REPLICATE
            )
        changed = block_mean(cv2.absdiff(prev_blurred, blurred) > 20) > BLOCK_CHANGED
        if not motion.camera_moving:
            self.state.see_motion(changed)
            self.state.offer_frame(gray, stats.t)
        occupied = changed
        learned = self.state.background()
        if learned is not None:
            background, background_edges = learned
            differs = block_mean(cv2.absdiff(blurred, background) > DIFF_THRESHOLD)
            edges = block_mean(cv2.Canny(blurred, 50, 150) > 0)
            occupied = (
                changed
                | (differs > BLOCK_DIFFERS)
                | (edges - background_edges > BLOCK_EXTRA_EDGES)
            )
        road = self.road_mask if self.road_mask is not None else self.state.road()
        floor = 1.0 if self.road_mask is not None else ROAD_FLOOR * road.size
        stats.occupancy_learned = float((occupied & road).sum() / max(road.sum(), floor))
        if self.reference is not None:
            self._against_reference(stats, prev, gray, blurred, dt)

    def _against_reference(
        self, stats: FrameStats, prev: np.ndarray, gray: np.ndarray, blurred: np.ndarray,
        dt: float,
    ) -> None:
        # Compensate a global brightness change (auto-exposure, clouds) before differencing.
        offset = float(blurred.mean()) - self.ref_mean
        diff = np.abs(blurred.astype(np.int16) - self.ref16 - int(round(offset)))
        occupied = (diff > DIFF_THRESHOLD).astype(np.uint8)
        occupied = cv2.morphologyEx(occupied, cv2.MORPH_OPEN, self.kernel)
        occupied_lane = occupied & self.mask_u8
        occupied_px = int(cv2.countNonZero(occupied_lane))
        stats.occupancy = occupied_px / self.mask_px
        stats.occupied_px = occupied_px
        if self.outside_px >= 0.1 * self.mask.size:
            stats.outside_change = (
                float(cv2.countNonZero(occupied) - occupied_px) / self.outside_px
            )
        flow = self.flow.calc(prev, gray, None)
        magnitude = cv2.magnitude(flow[..., 0], flow[..., 1])
        stats.flow_sum = float(magnitude[occupied_lane.astype(bool)].sum()) / dt


def _scale(value: float, low: float, high: float) -> float:
    """0 at `low`, 1 at `high` (either direction), clipped."""
    return float(min(1.0, max(0.0, (value - low) / (high - low))))


def summarise(
    stats: Sequence[FrameStats],
    *,
    fps: float,
    mask_px: int,
    reference: Reference | None,
    pixels_per_metre: float | None = None,
    state: CameraState | None = None,
    operator_mask: bool = False,
) -> Window:
    """One window's verdict from its frames (`fps` is kept for callers; times come with frames)."""
    pairs = [s for s in stats if s.pair]
    state = state if state is not None else CameraState()
    if reference is not None:
        occupancy = float(np.median([s.occupancy for s in pairs])) if pairs else 0.0
        occupied_total = sum(s.occupied_px for s in pairs)
        speed = None
        # Too few occupied pixels means no vehicle to time: the road is free, speed unknown.
        if pairs and occupied_total >= 0.003 * mask_px * len(pairs):
            speed = sum(s.flow_sum for s in pairs) / occupied_total
        free_flow = reference.free_flow_speed_px_s
        basis = "reference" if reference.calibrated and free_flow else "default"
        occ_free, occ_jam = OCC_FREE, OCC_JAM
    else:
        learned_occ = [s.occupancy_learned for s in pairs if s.occupancy_learned is not None]
        occupancy = float(np.median(learned_occ)) if learned_occ else 0.0
        speeds = [s.moving_speed for s in pairs if s.moving_speed is not None]
        # Half the compared pairs must see something move, or there is no flow to time.
        speed = float(np.median(speeds)) if len(speeds) >= max(1, len(pairs) / 2) else None
        free_flow, learned = state.free_flow_px_s()
        basis = "lane_mask" if operator_mask else "learned" if learned else "default"
        occ_free, occ_jam = LEARNED_OCC_FREE, LEARNED_OCC_JAM
    ratio = speed / free_flow if speed is not None and free_flow else None
    speed_kmh = speed / pixels_per_metre * 3.6 if speed is not None and pixels_per_metre else None
    reason = unreliable_reason(stats)
    common = {
        "t0": round(stats[0].t if stats else 0.0, 3),
        "t1": round(stats[-1].t if stats else 0.0, 3),
        "frames": len(stats),
        "occupancy": round(occupancy, 4),
        "speed": None if speed is None else round(speed, 2),
        "speed_ratio": None if ratio is None else round(ratio, 3),
        "speed_kmh": None if speed_kmh is None else round(speed_kmh, 1),
        "basis": basis,
    }
    if reason is not None:
        return Window.unreliable(reason, **common)
    crowding = _scale(occupancy, occ_free, occ_jam)
    if reference is None and speed is not None and crowding < LEARN_FREE_FLOW_BELOW:
        # Free-flow speed is the speed of an uncrowded road: a camera first switched on in a
        # jam must not learn the crawl as its free flow and then read the jam as free.
        state.record_speed(speed)
    slowness = 0.0 if ratio is None else _scale(ratio, RATIO_FREE, RATIO_JAM)
    level = math.sqrt(crowding * slowness)  # a jam needs both: many vehicles, barely moving
    label = "free" if level < LEVEL_SLOW else "slow" if level < LEVEL_JAM else "jammed"
    confidence = min(1.0, len(pairs) / 10) * BASIS_CONFIDENCE[basis]
    if any(s.compensated for s in pairs):
        confidence *= COMPENSATED_CONFIDENCE
    if reference is not None and not reference.calibrated:
        confidence = min(confidence, 0.6)
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
    reference: Reference | None = None,
    fps: float,
    window_s: float = 2.0,
    lane_mask: Sequence[tuple[float, float]] | None = None,
    pixels_per_metre: float | None = None,
    state: CameraState | None = None,
) -> list[Window]:
    """Cut frames into windows of `window_s` seconds and judge each one.

    Without a `reference` the camera's learned `state` is used (and taught); pass the same state
    again for the next burst of the same camera so it keeps learning."""
    state = state if state is not None else CameraState()
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
                    state=state,
                    operator_mask=bool(lane_mask),
                )
            )

    for frame in frames:
        if analyzer is None:
            analyzer = FrameAnalyzer(
                reference,
                lane_mask_image(lane_mask, frame.source_size),
                state=state,
                operator_mask=bool(lane_mask),
            )
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
