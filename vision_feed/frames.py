"""Frame sources: files, RTSP and HTTP MJPEG streams, all through OpenCV's FFmpeg backend.

Every frame leaves here as an 8-bit grey image at the analysis size (320×240), with its time
in seconds from the start of the source, so the estimator never depends on the camera's own
resolution or codec.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

ANALYSIS_SIZE: tuple[int, int] = (320, 240)  # (width, height): the bench and thresholds assume it
STREAM_PREFIXES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")


class SourceError(RuntimeError):
    """A source that cannot be opened or yields no frame (camera down, missing file)."""


@dataclass(frozen=True)
class Frame:
    t: float  # seconds since the first frame of this read
    gray: np.ndarray  # uint8, ANALYSIS_SIZE
    source_size: tuple[int, int]  # (width, height) before resizing, to scale lane masks


def is_stream(source: str) -> bool:
    return source.lower().startswith(STREAM_PREFIXES)


def to_analysis_gray(image: np.ndarray) -> np.ndarray:
    """Grey 320×240: one size for every camera so thresholds and throughput are comparable."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if (image.shape[1], image.shape[0]) != ANALYSIS_SIZE:
        image = cv2.resize(image, ANALYSIS_SIZE, interpolation=cv2.INTER_AREA)
    return image


def open_capture(source: str) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        raise SourceError(f"cannot open video source {source!r}")
    return capture


def source_fps(capture: cv2.VideoCapture, default: float = 25.0) -> float:
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    return fps if 1.0 <= fps <= 240.0 else default


def iter_frames(
    source: str,
    *,
    max_frames: int | None = None,
    start_s: float = 0.0,
    loop: bool = False,
) -> Iterator[Frame]:
    """Yield frames of a file (by its own frame clock) or a stream (by the wall clock).

    `start_s` seeks into a file; with `loop=True` a file wraps around, which lets a recorded
    clip stand in for a live camera (the job reads "now" modulo the clip length).
    """
    if loop and max_frames is None:
        raise ValueError("a looping source needs max_frames, or it never ends")
    capture = open_capture(source)
    stream = is_stream(source)
    fps = source_fps(capture)
    try:
        frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if not stream and start_s > 0 and frame_count > 0:
            start_index = int(start_s * fps) % frame_count
            capture.set(cv2.CAP_PROP_POS_FRAMES, start_index)
        yielded = 0
        index = 0
        wall_start = time.monotonic()
        wrapped = False
        while max_frames is None or yielded < max_frames:
            ok, image = capture.read()
            if not ok or image is None:
                if loop and not stream and not wrapped and yielded > 0:
                    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    wrapped = True  # wrap once per read; a second failure means a broken file
                    continue
                break
            wrapped = False
            t = time.monotonic() - wall_start if stream else index / fps
            yield Frame(
                t=t, gray=to_analysis_gray(image), source_size=(image.shape[1], image.shape[0])
            )
            yielded += 1
            index += 1
        if yielded == 0:
            raise SourceError(f"video source {source!r} gave no frame")
    finally:
        capture.release()


def frames_from_images(images: list[np.ndarray], fps: float) -> Iterator[Frame]:
    """Frames from images already in memory (tests, a frame grabbed by other means)."""
    for index, image in enumerate(images):
        size = (image.shape[1], image.shape[0])
        yield Frame(t=index / fps, gray=to_analysis_gray(image), source_size=size)
