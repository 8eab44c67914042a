"""What moves between two frames: vehicles, or the camera itself (and whether it is one scene).

Sparse features (Shi-Tomasi corners) tracked with pyramidal Lucas-Kanade, kept only when the
backward track returns to the start, give two things at once:

* the **speed of the traffic**: the median speed of the features that moved, in px/s at the
  analysis size (a feature on a standing vehicle or the road does not count);
* **camera motion**: on a fixed camera most of the picture (road, kerbs, buildings) stands
  still, so a good share of features do not move. When almost none stand still and the moving
  ones are spread over most of the picture, the camera itself moved (handheld, panning, a drone,
  a mast in the wind). Requiring the spread keeps a bus filling a top-down view from reading as
  camera motion.

A cut or view jump shows as two consecutive frames whose coarse structure no longer matches, and
a frozen feed as frames that do not change at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MAX_FEATURES = 200
STILL_PX = 0.5  # a feature that moved less than this between the two frames stands still
BACK_TRACK_PX = 0.5  # forward-backward disagreement above this: a bad track, dropped
MIN_FEATURES = 20  # fewer tracked features: too little texture to judge camera motion
CELLS = 4  # the picture cut into CELLS × CELLS cells to judge how spread the motion is
MIN_CELLS = 8  # cells holding features needed to call a motion "the whole picture"
CAMERA_STILL_SHARE = 0.3  # fewer standing features than this ...
CAMERA_MOVING_CELLS = 0.75  # ... and moving features in this share of the cells: camera moved
MIN_MOVING_FEATURES = 3
COHERENT_SHARE = 0.5  # of tracked features following one rigid motion of the picture
RIGID_TOLERANCE_PX = 1.0
MAX_DRIFT_PX_S = 6.0  # ~2 % of the width per second: a sway or slow zoom, compensated; more is
# a camera being moved, refused
SIMILAR_SIZE = (40, 30)  # coarse picture compared for cuts, in cells of SIMILAR_CELL pixels
SIMILAR_CELL = 5
CELL_BRIGHTNESS = 20.0
CELL_TEXTURE = 4.0
CELL_CORRELATION = 0.3
DUPLICATE_MEAN = 0.05  # mean |Δ| grey levels: a repeated frame (a sensor never gets this low)
DUPLICATE_CHANGED = 0.001  # and at most this share of pixels changed by more than 3 levels
# Nothing moved: averaged over STILL_CELL×STILL_CELL pixels (which quiets per-pixel noise about
# fourfold but keeps a vehicle), no cell changed by STILL_CELL_MAX grey levels after the picture's
# global brightness shift. A frozen feed whose encoder refreshes its one picture (a key frame,
# re-encoding noise, an AGC flicker) changes this little; a moving vehicle tens of levels.
STILL_CELL = 4
STILL_CELL_MAX = 6.0

_LK = {
    "winSize": (15, 15),
    "maxLevel": 3,
    "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03),
}


@dataclass
class Motion:
    detected: int  # features found in the first frame
    tracked: int  # features tracked both ways
    still_share: float | None  # share of tracked features that stood still
    camera_moving: bool
    speeds: np.ndarray  # px/s of the features that moved (relative to `transform`)
    transform: np.ndarray | None = None  # a slow camera motion compensated (2×3, a → b)

    @property
    def speed(self) -> float | None:
        """Median speed of what moved, None when (almost) nothing moved."""
        if len(self.speeds) < MIN_MOVING_FEATURES:
            return None
        return float(np.median(self.speeds))

    @property
    def lost_share(self) -> float:
        """Share of the first frame's features that could not be found again."""
        return 1.0 - self.tracked / self.detected if self.detected else 0.0


def track(a: np.ndarray, b: np.ndarray, dt: float) -> Motion:
    """Features of `a` followed into `b`, `dt` seconds later.

    When the whole picture moves, the camera moved. If that motion is one slow rigid motion of
    the picture (a mast swaying, a slow zoom: at most MAX_DRIFT_PX_S), it is compensated: the
    transform is returned and vehicle speeds are measured relative to it. Anything faster or
    not rigid (handheld, panning, a drone) is `camera_moving`, which the window refuses."""
    points = cv2.goodFeaturesToTrack(a, MAX_FEATURES, 0.01, 5)
    detected = 0 if points is None else len(points)
    empty = Motion(detected, tracked=0, still_share=None, camera_moving=False,
                   speeds=np.zeros(0))
    if points is None or detected < MIN_MOVING_FEATURES or dt <= 0:
        return empty
    forward, ok1, _ = cv2.calcOpticalFlowPyrLK(a, b, points, None, **_LK)
    back, ok2, _ = cv2.calcOpticalFlowPyrLK(b, a, forward, None, **_LK)
    start = points.reshape(-1, 2)
    good = (
        (ok1.ravel() == 1)
        & (ok2.ravel() == 1)
        & (np.linalg.norm(back.reshape(-1, 2) - start, axis=1) < BACK_TRACK_PX)
    )
    if good.sum() < MIN_MOVING_FEATURES:
        return empty
    start = start[good]
    end = forward.reshape(-1, 2)[good]
    shift = np.linalg.norm(end - start, axis=1)
    moving = shift >= STILL_PX
    still_share = float(1.0 - moving.mean())
    camera_moving = _whole_picture_moves(start, moving, a.shape, still_share)
    transform = None
    if camera_moving:
        transform = _slow_rigid_motion(start, end, dt)
        if transform is not None:  # compensated: speeds relative to the picture's own motion
            camera_moving = False
            shift = np.linalg.norm(end - (start @ transform[:, :2].T + transform[:, 2]), axis=1)
            moving = shift >= STILL_PX
    return Motion(
        detected=detected,
        tracked=int(good.sum()),
        still_share=still_share,
        camera_moving=camera_moving,
        speeds=shift[moving] / dt,
        transform=transform,
    )


def _slow_rigid_motion(start: np.ndarray, end: np.ndarray, dt: float) -> np.ndarray | None:
    """The picture's rotation + shift + zoom when most features follow it and it is slow enough
    to compensate; None otherwise. Traffic moves in lanes at different speeds and directions,
    never as one rigid picture, so a rigid motion of most features is the camera."""
    matrix, inliers = cv2.estimateAffinePartial2D(
        start, end, method=cv2.RANSAC, ransacReprojThreshold=RIGID_TOLERANCE_PX
    )
    if matrix is None or inliers is None or inliers.mean() < COHERENT_SHARE:
        return None
    moved = start @ matrix[:, :2].T + matrix[:, 2] - start
    if float(np.median(np.linalg.norm(moved, axis=1))) / dt > MAX_DRIFT_PX_S:
        return None
    return matrix


def _whole_picture_moves(
    start: np.ndarray, moving: np.ndarray, shape: tuple[int, ...], still_share: float
) -> bool:
    if len(start) < MIN_FEATURES or still_share >= CAMERA_STILL_SHARE:
        return False
    height, width = shape[:2]
    cx = np.minimum((start[:, 0] * CELLS / width).astype(int), CELLS - 1)
    cy = np.minimum((start[:, 1] * CELLS / height).astype(int), CELLS - 1)
    cell = cy * CELLS + cx
    counts = np.bincount(cell, minlength=CELLS * CELLS)
    moved = np.bincount(cell, weights=moving.astype(float), minlength=CELLS * CELLS)
    held = counts >= 2
    if held.sum() < MIN_CELLS:
        return False  # the features sit on one object (a vehicle), not on the whole view
    cell_moving = moved[held] / counts[held] > 0.5
    if cell_moving.mean() < CAMERA_MOVING_CELLS:
        return False
    # The camera moves the picture up to its four edges; a vehicle crossing a top-down view
    # reaches two at most.
    grid = np.zeros(CELLS * CELLS, bool)
    grid[np.flatnonzero(held)[cell_moving]] = True
    grid = grid.reshape(CELLS, CELLS)
    return bool(grid[0].any() and grid[-1].any() and grid[:, 0].any() and grid[:, -1].any())


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the picture's cells that still look the same: near 1 within one scene (a vehicle
    changes a few cells), low across a cut or view jump (every cell changes). A cell changed when
    its brightness moved by more than CELL_BRIGHTNESS levels, or, where both are textured, when
    its pattern no longer correlates."""
    small_a = cv2.resize(a, SIMILAR_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    small_b = cv2.resize(b, SIMILAR_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    rows, cols = SIMILAR_SIZE[1] // SIMILAR_CELL, SIMILAR_SIZE[0] // SIMILAR_CELL
    shape = (rows, SIMILAR_CELL, cols, SIMILAR_CELL)
    cells_a = small_a.reshape(shape).transpose(0, 2, 1, 3).reshape(rows * cols, -1)
    cells_b = small_b.reshape(shape).transpose(0, 2, 1, 3).reshape(rows * cols, -1)
    mean_a, mean_b = cells_a.mean(axis=1), cells_b.mean(axis=1)
    mean_b = mean_b + float(np.median(mean_a - mean_b))  # exposure changes move every cell
    dev_a, dev_b = cells_a - mean_a[:, None], cells_b - mean_b[:, None]
    norm = np.sqrt((dev_a**2).sum(axis=1) * (dev_b**2).sum(axis=1))
    textured = (cells_a.std(axis=1) > CELL_TEXTURE) & (cells_b.std(axis=1) > CELL_TEXTURE)
    correlation = np.where(norm > 1e-6, (dev_a * dev_b).sum(axis=1) / np.maximum(norm, 1e-6), 1)
    changed = (np.abs(mean_a - mean_b) > CELL_BRIGHTNESS) | (
        textured & (correlation < CELL_CORRELATION)
    )
    return float(1.0 - changed.mean())


def nothing_moved(a: np.ndarray, b: np.ndarray) -> bool:
    """No part of the picture changed beyond noise (see STILL_CELL)."""
    height, width = a.shape[:2]
    size = (max(1, width // STILL_CELL), max(1, height // STILL_CELL))
    cells_a = cv2.resize(a, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    cells_b = cv2.resize(b, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    change = cells_b - cells_a
    change -= float(np.median(change))
    return float(np.abs(change).max()) < STILL_CELL_MAX


def is_duplicate(a: np.ndarray, b: np.ndarray) -> bool:
    """The same picture again: a frozen encoder or a repeated frame, not a quiet road."""
    diff = cv2.absdiff(a, b)
    if float(diff.mean()) >= DUPLICATE_MEAN:
        return False
    return cv2.countNonZero((diff > 3).astype(np.uint8)) <= DUPLICATE_CHANGED * diff.size
