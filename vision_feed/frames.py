"""Frame sources: files, RTSP and HTTP MJPEG streams, all through OpenCV's FFmpeg backend.

Every frame leaves here as an 8-bit grey image at the analysis size (320×240), with its time
in seconds from the start of the source, so the estimator never depends on the camera's own
resolution or codec.

A feed that hangs (a camera or proxy that accepts the connection and then sends nothing, or
stops after a few frames without closing) would block `VideoCapture.read()`, a C call, for as
long as FFmpeg waits: 30 s by OpenCV's default, forever for a FIFO or a protocol without an
interrupt check. So every source is read by `Feed`: the capture lives in a daemon thread of its
own and the caller waits for each open and each frame at most a deadline, then raises `FeedHung`.
FFmpeg's own open/read timeouts are set just above the deadline, so the stuck read returns soon
after and the thread releases the capture; a read that never returns strands only that daemon
thread, which ends with the process (an RQ work-horse exits after every job). OpenCV opens FFmpeg
sources under one process-wide lock, so while a stranded open lasts no other open in the same
process can proceed: another reason each camera sample runs in a work-horse of its own.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import cv2
import numpy as np

from vision_feed.cameras import DEFAULT_OPEN_TIMEOUT_S, DEFAULT_READ_TIMEOUT_S

log = logging.getLogger(__name__)

ANALYSIS_SIZE: tuple[int, int] = (320, 240)  # (width, height): the bench and thresholds assume it
STREAM_PREFIXES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")
FFMPEG_MARGIN_S = 1.0  # FFmpeg gives up this long after our deadline, freeing the reader thread
HEARTBEAT_S = 1.0  # while waiting on a slow source, call the caller's heartbeat this often


class SourceError(RuntimeError):
    """A source that cannot be opened or yields no frame (camera down, missing file)."""


class FeedHung(SourceError):
    """The source went silent: not open, or no next frame, within its deadline."""

    def __init__(self, source: str, *, stage: str, waited_s: float, frames: int) -> None:
        self.source = source
        self.stage = stage  # "open" or "read"
        self.waited_s = waited_s
        self.frames = frames  # frames received before it went silent
        self.reason = f"feed hung: no frame for {waited_s:g} s"
        super().__init__(
            f"video source {source!r}: {self.reason} ({stage}, after {frames} frame(s))"
        )


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


def open_capture(
    source: str,
    *,
    open_timeout_s: float = DEFAULT_OPEN_TIMEOUT_S,
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
) -> cv2.VideoCapture:
    """An FFmpeg capture whose open and each read give up after the given times (FFmpeg's own
    interrupt callback; it cannot stop a blocked FIFO or file read, `Feed` covers those)."""
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        max(1, int(open_timeout_s * 1000)),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        max(1, int(read_timeout_s * 1000)),
    ]
    capture = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
    if not capture.isOpened():
        capture.release()
        raise SourceError(f"cannot open video source {source!r}")
    return capture


def source_fps(capture: cv2.VideoCapture, default: float = 25.0) -> float:
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    return fps if 1.0 <= fps <= 240.0 else default


_abandoned: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


@atexit.register
def _let_abandoned_reads_end() -> None:
    """Give reader threads still stuck in FFmpeg the margin to return before the interpreter
    finalizes: a daemon thread coming back from C++ during finalization aborts the process.
    One still blocked after that (a FIFO) stays blocked, which exits cleanly."""
    end = time.monotonic() + FFMPEG_MARGIN_S + 1.0
    for thread in list(_abandoned):
        thread.join(timeout=max(0.0, end - time.monotonic()))


class Feed:
    """One open source read under deadlines: `open_timeout_s` to open, `read_timeout_s` a frame.

    The capture is owned by a daemon thread that serves one request at a time (read, seek); the
    caller waits for each answer at most its deadline, calling `heartbeat` about every second
    meanwhile (a job renews its lease there), and raises `FeedHung` when it passes. A hung feed
    is abandoned, never read again: use a new `Feed` for the next sample.
    """

    def __init__(
        self,
        source: str,
        *,
        open_timeout_s: float = DEFAULT_OPEN_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        if not (open_timeout_s > 0 and read_timeout_s > 0):
            raise ValueError("feed deadlines must be positive")
        self.source = source
        self.stream = is_stream(source)
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.heartbeat = heartbeat
        self.frames_read = 0
        self.fps = 25.0
        self.frame_count = 0
        self._requests: queue.SimpleQueue[tuple[str, int] | None] = queue.SimpleQueue()
        self._answers: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
        self._closed = False
        self._pending = True  # a request (first: the open) the thread has not answered yet
        self._thread = threading.Thread(target=self._serve, name=f"feed {source}", daemon=True)
        self._thread.start()
        try:
            self.fps, self.frame_count = self._wait("open", self.open_timeout_s)
        except BaseException:
            self.close()
            raise

    def _serve(self) -> None:
        """The reader thread: the only one that ever touches the capture."""
        try:
            capture = open_capture(
                self.source,
                open_timeout_s=self.open_timeout_s + FFMPEG_MARGIN_S,
                read_timeout_s=self.read_timeout_s + FFMPEG_MARGIN_S,
            )
        except BaseException as exc:  # handed to the caller, raised there
            self._answers.put((False, exc))
            return
        try:
            frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
            self._answers.put((True, (source_fps(capture), frame_count)))
            while (request := self._requests.get()) is not None:
                command, argument = request
                if command == "seek":
                    capture.set(cv2.CAP_PROP_POS_FRAMES, argument)
                    self._answers.put((True, None))
                    continue
                ok, image = capture.read()
                if not ok or image is None:
                    self._answers.put((True, None))
                else:  # convert here too: OpenCV releases the GIL, the caller's thread is free
                    size = (image.shape[1], image.shape[0])
                    self._answers.put((True, (to_analysis_gray(image), size)))
        except BaseException as exc:
            self._answers.put((False, exc))
        finally:
            capture.release()

    def _wait(self, stage: str, deadline_s: float) -> Any:
        if self._closed:
            raise SourceError(f"video source {self.source!r} was abandoned")
        end = time.monotonic() + deadline_s
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                self._abandon()  # the thread is stuck in C: it is never asked anything again
                raise FeedHung(
                    self.source, stage=stage, waited_s=deadline_s, frames=self.frames_read
                )
            try:
                ok, value = self._answers.get(timeout=min(remaining, HEARTBEAT_S))
            except queue.Empty:
                if self.heartbeat is not None:
                    self.heartbeat()
                continue
            self._pending = False
            if not ok:
                self.close()
                raise value
            return value

    def read(self) -> tuple[np.ndarray, tuple[int, int]] | None:
        """(grey analysis image, source size) of the next frame, None at the end of the source."""
        if self._closed:
            raise SourceError(f"video source {self.source!r} was abandoned")
        self._pending = True
        self._requests.put(("read", 0))
        result = self._wait("read", self.read_timeout_s)
        if result is not None:
            self.frames_read += 1
        return result

    def seek(self, index: int) -> None:
        if self._closed:
            raise SourceError(f"video source {self.source!r} was abandoned")
        self._pending = True
        self._requests.put(("seek", index))
        self._wait("read", self.read_timeout_s)

    def close(self) -> None:
        """Stop the thread and release the capture (waits for it, unless it is mid-call)."""
        if self._pending:
            self._abandon()  # interrupted while waiting (a hang, a lease lost, a job timeout)
        elif not self._closed:
            self._closed = True
            self._requests.put(None)
            self._thread.join(timeout=self.read_timeout_s + FFMPEG_MARGIN_S)

    def _abandon(self) -> None:
        """Leave a stuck thread to FFmpeg's timeout: it releases the capture when freed."""
        if not self._closed:
            self._closed = True
            self._requests.put(None)
            _abandoned.add(self._thread)

    def __enter__(self) -> Feed:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def frames(
        self, *, max_frames: int | None = None, start_s: float = 0.0, loop: bool = False
    ) -> Iterator[Frame]:
        """Frames of a file (by its own frame clock) or a stream (by the wall clock)."""
        if loop and max_frames is None:
            raise ValueError("a looping source needs max_frames, or it never ends")
        if not self.stream and start_s > 0 and self.frame_count > 0:
            self.seek(int(start_s * self.fps) % self.frame_count)
        yielded = 0
        index = 0
        wall_start = time.monotonic()
        wrapped = False
        while max_frames is None or yielded < max_frames:
            result = self.read()
            if result is None:
                if loop and not self.stream and not wrapped and yielded > 0:
                    self.seek(0)
                    wrapped = True  # wrap once per read; a second failure means a broken file
                    continue
                break
            wrapped = False
            gray, size = result
            t = time.monotonic() - wall_start if self.stream else index / self.fps
            yield Frame(t=t, gray=gray, source_size=size)
            yielded += 1
            index += 1
        if yielded == 0:
            raise SourceError(f"video source {self.source!r} gave no frame")


def iter_frames(
    source: str,
    *,
    max_frames: int | None = None,
    start_s: float = 0.0,
    loop: bool = False,
    open_timeout_s: float = DEFAULT_OPEN_TIMEOUT_S,
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
) -> Iterator[Frame]:
    """Yield frames of a file (by its own frame clock) or a stream (by the wall clock).

    `start_s` seeks into a file; with `loop=True` a file wraps around, which lets a recorded
    clip stand in for a live camera (the job reads "now" modulo the clip length). A source that
    does not open or give its next frame within the deadlines raises `FeedHung`.
    """
    if loop and max_frames is None:
        raise ValueError("a looping source needs max_frames, or it never ends")
    with Feed(source, open_timeout_s=open_timeout_s, read_timeout_s=read_timeout_s) as feed:
        yield from feed.frames(max_frames=max_frames, start_s=start_s, loop=loop)


def frames_from_images(images: list[np.ndarray], fps: float) -> Iterator[Frame]:
    """Frames from images already in memory (tests, a frame grabbed by other means)."""
    for index, image in enumerate(images):
        size = (image.shape[1], image.shape[0])
        yield Frame(t=index / fps, gray=to_analysis_gray(image), source_size=size)
