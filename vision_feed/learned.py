"""What a camera learns about its own view, so a new camera reads congestion without calibration.

Nobody will draw an empty-road reference for 17,000 cameras, so each camera learns three things
from its own footage, starting with the first frames it sends:

* **the road**: the 16×16-pixel blocks where vehicles have been seen moving (a lane mask drawn by
  the traffic itself); until enough has been seen, occupancy is divided by at least
  `ROAD_FLOOR` of the picture, because a road fills a good part of any traffic camera's view;
* **the background**: the per-pixel median of frames kept sparsely over its life, which shows the
  road without the vehicles that pass; standing vehicles differ from it once it is learned;
* **its free-flow speed**: a high percentile of the flow speeds it has measured on an uncrowded
  road (the estimator offers only those windows, so a camera switched on in a jam does not learn
  the crawl as free flow), once it has seen `MIN_SPEED_WINDOWS` of them; before that a
  conservative default (`DEFAULT_FREE_FLOW_PX_S`, at the 320×240 analysis size) that makes a jam
  need clear evidence.

The state is small (a few kB as PNG + JSON) so RQ jobs keep it in Redis between bursts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import cv2
import numpy as np

from vision_feed.frames import ANALYSIS_SIZE

BLOCK = 16  # pixels per side of an occupancy block at the analysis size
GRID = (ANALYSIS_SIZE[1] // BLOCK, ANALYSIS_SIZE[0] // BLOCK)  # (rows, cols) = (15, 20)
SHAPE = (ANALYSIS_SIZE[1], ANALYSIS_SIZE[0])  # numpy shape of an analysis frame
ROAD_FLOOR = 0.15  # share of the picture a road covers at least, before the road is learned
ROAD_MIN_SEEN = 2  # a block is road once motion was seen in it this often ...
ROAD_MIN_SHARE = 0.02  # ... and in this share of the samples
HISTORY_FRAMES = 25  # frames in the background median
HISTORY_EVERY_S = 0.5  # at most one background frame per this many seconds of footage
MIN_BACKGROUND_FRAMES = 3
DEFAULT_FREE_FLOW_PX_S = 50.0  # moving-feature speed at 320×240 assumed free until learned
MIN_SPEED_WINDOWS = 20  # windows with a speed before the camera trusts its own baseline
FREE_FLOW_PERCENTILE = 85.0
SPEED_HISTORY = 500


def block_mean(image: np.ndarray) -> np.ndarray:
    """Per-block mean of a boolean or numeric image at the analysis size."""
    return cv2.resize(image.astype(np.float32), (GRID[1], GRID[0]), interpolation=cv2.INTER_AREA)


@dataclass
class CameraState:
    """One camera's learned road, background and free-flow speed (see the module doc)."""

    road_seen: np.ndarray = field(default_factory=lambda: np.zeros(GRID, np.float32))
    samples: int = 0
    history: list[np.ndarray] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)
    last_history_t: float | None = None
    _background: np.ndarray | None = field(default=None, repr=False)
    _background_edges: np.ndarray | None = field(default=None, repr=False)

    # --- the road -------------------------------------------------------------------------
    def see_motion(self, moving_blocks: np.ndarray) -> None:
        self.road_seen += moving_blocks.astype(np.float32)
        self.samples += 1

    def road(self) -> np.ndarray:
        """Blocks where traffic has moved often enough to call them road."""
        need = max(ROAD_MIN_SEEN, ROAD_MIN_SHARE * self.samples)
        return self.road_seen >= need

    # --- the background -------------------------------------------------------------------
    def offer_frame(self, gray: np.ndarray, t: float) -> None:
        """Keep a frame for the background median, sparsely in footage time."""
        if self.last_history_t is not None and 0 <= t - self.last_history_t < HISTORY_EVERY_S:
            return
        self.last_history_t = t
        self.history.append(gray)
        if len(self.history) > HISTORY_FRAMES:
            self.history.pop(0)
        self._background = None

    def background(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(blurred background, its per-block edge density), or None while too few frames."""
        if len(self.history) < MIN_BACKGROUND_FRAMES:
            return None
        if self._background is None:
            median = np.median(np.stack(self.history), axis=0).astype(np.uint8)
            self._background = cv2.GaussianBlur(median, (5, 5), 0)
            self._background_edges = block_mean(cv2.Canny(self._background, 50, 150) > 0)
        assert self._background_edges is not None
        return self._background, self._background_edges

    def new_scene(self) -> None:
        """The view changed (a cut, a camera turned): what was learned no longer applies."""
        self.road_seen[:] = 0
        self.samples = 0
        self.history.clear()
        self.last_history_t = None
        self._background = None

    # --- free-flow speed ------------------------------------------------------------------
    def record_speed(self, speed_px_s: float) -> None:
        self.speeds.append(float(speed_px_s))
        if len(self.speeds) > SPEED_HISTORY:
            del self.speeds[: len(self.speeds) - SPEED_HISTORY]

    def free_flow_px_s(self) -> tuple[float, bool]:
        """(free-flow speed, learned?): the camera's own once it has seen enough traffic."""
        if len(self.speeds) >= MIN_SPEED_WINDOWS:
            learned = float(np.percentile(self.speeds, FREE_FLOW_PERCENTILE))
            return max(learned, 1.0), True
        return DEFAULT_FREE_FLOW_PX_S, False

    # --- persistence (Redis between RQ bursts) -------------------------------------------
    def to_bytes(self) -> bytes:
        """Compact form: JSON header + PNG-coded background frames."""
        frames = []
        for image in self.history:
            ok, png = cv2.imencode(".png", image)
            if ok:
                frames.append(png.tobytes().hex())
        document = {
            "road_seen": self.road_seen.round(2).tolist(),
            "samples": self.samples,
            "speeds": [round(s, 2) for s in self.speeds],
            "history": frames,
        }
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CameraState:
        document = json.loads(raw)
        road = np.array(document["road_seen"], np.float32)
        if road.shape != GRID:
            return cls()  # analysis size changed: start learning again
        history = [
            cv2.imdecode(np.frombuffer(bytes.fromhex(h), np.uint8), cv2.IMREAD_GRAYSCALE)
            for h in document.get("history", [])
        ]
        return cls(
            road_seen=road,
            samples=int(document.get("samples", 0)),
            history=[h for h in history if h is not None and h.shape == SHAPE],
            speeds=[float(s) for s in document.get("speeds", [])],
        )
