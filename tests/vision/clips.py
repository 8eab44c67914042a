"""Build test footage from the real clips: a standing queue, a frozen feed, a shaking camera.

Everything starts from real frames; only the situation is staged, the way a test rig would
(vehicles cut out of real frames and held still in the lanes, the same frame repeated, the
picture jolted by a few pixels each frame, the lens covered).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np


def read_frames(
    path: Path, count: int | None = None, start: int = 0
) -> tuple[list[np.ndarray], float]:
    capture = cv2.VideoCapture(str(path))
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 25.0
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames: list[np.ndarray] = []
    while count is None or len(frames) < count:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames, fps


def write_clip(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    """MJPEG AVI: lossy like a real camera, so no frame is bit-identical by accident."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened(), "OpenCV cannot write MJPEG here"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def vehicle_layer(frames: list[np.ndarray], donors: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Vehicles cut from real frames: (pixels, mask) of everything that differs from the road."""
    sample = frames[:: max(1, len(frames) // 60)]
    road = np.median(np.stack(sample), axis=0).astype(np.uint8)
    layer = np.zeros_like(road)
    covered = np.zeros(road.shape[:2], dtype=bool)
    for frame in frames[:: max(1, len(frames) // donors)]:
        diff = cv2.absdiff(
            cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.cvtColor(road, cv2.COLOR_BGR2GRAY)
        )
        blobs = cv2.morphologyEx(
            (diff > 30).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8)
        )
        count, labels, stats, _ = cv2.connectedComponentsWithStats(blobs)
        for label in range(1, count):
            if stats[label, cv2.CC_STAT_AREA] < 150:
                continue  # noise, not a vehicle
            where = (labels == label) & ~covered
            layer[where] = frame[where]
            covered |= where
    return layer, covered


def jammed(frames: list[np.ndarray], layer: np.ndarray, covered: np.ndarray) -> list[np.ndarray]:
    """The real frames with the cut-out vehicles standing still on top: a queue that never moves."""
    out = []
    for frame in frames:
        staged = frame.copy()
        staged[covered] = layer[covered]
        out.append(staged)
    return out


def frozen(frames: list[np.ndarray], count: int) -> list[np.ndarray]:
    return [frames[0].copy() for _ in range(count)]


def frozen_reencoded(frames: list[np.ndarray], count: int,
                     refresh_every: int = 4) -> list[np.ndarray]:
    """A frozen feed through a transcoder: its one picture repeated, and every few frames
    re-encoded as a key frame at another JPEG quality with a one-level AGC flicker (noise all
    over the picture, never a moving vehicle)."""
    out: list[np.ndarray] = []
    current = frames[0]
    for i in range(count):
        if i % refresh_every == 0:
            key = i // refresh_every
            flickered = cv2.convertScaleAbs(frames[0], alpha=1.0, beta=key % 2)
            _, encoded = cv2.imencode(".jpg", flickered,
                                      [cv2.IMWRITE_JPEG_QUALITY, (60, 75, 90)[key % 3]])
            current = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        out.append(current.copy())
    return out


def shaken(frames: list[np.ndarray], amplitude_px: float = 6.0, seed: int = 7) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for frame in frames:
        dx, dy = rng.uniform(-amplitude_px, amplitude_px, 2)
        angle = rng.uniform(-1.5, 1.5)
        height, width = frame.shape[:2]
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        matrix[:, 2] += (dx, dy)
        out.append(cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE))
    return out


def black(frames: list[np.ndarray], seed: int = 3) -> list[np.ndarray]:
    """A covered lens or dead sensor: dark with sensor noise, not a perfect zero."""
    rng = np.random.default_rng(seed)
    return [np.clip(rng.normal(6, 2, f.shape), 0, 255).astype(np.uint8) for f in frames]


@lru_cache(maxsize=8)
def _vehicles_of(path: Path, donors: int) -> tuple[np.ndarray, np.ndarray]:
    frames, _ = read_frames(path)
    return vehicle_layer(frames, donors=donors)


def standing_queue(path: Path, seconds: float, donors: int = 48) -> tuple[list[np.ndarray], float]:
    """The first `seconds` of a real clip with its own vehicles standing still in the lanes."""
    layer, covered = _vehicles_of(path, donors)
    _, fps = read_frames(path, 1)
    frames, fps = read_frames(path, int(fps * seconds))
    return jammed(frames, layer, covered), fps


def as_night(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A daylight frame as a camera sees the road after dusk: levels crushed towards black
    (gamma 2.2, a third of the light) and sensor noise on top."""
    dark = (gray.astype(np.float32) / 255.0) ** 2.2 * 255.0 * 0.35
    return np.clip(dark + rng.normal(0.0, 3.0, gray.shape), 0, 255).astype(np.uint8)
