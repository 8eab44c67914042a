"""Dim footage stretched before it is read, so a night jam is not read as free.

Every grey-level threshold of the estimator (a block "changed" by 20 levels, a standing vehicle
25 levels off the background, Canny's edges) assumes daylight levels. After dusk nearly the whole
road sits in a few dozen dark levels: vehicles change too few levels to count, occupancy falls and
a jam reads free (measured on the Bangkok jam darkened as a night camera sees it: three of five
windows free). So when 95 % of a camera's picture is darker than `DIM_P95`, its 5th..95th
percentile span is stretched linearly towards `TARGET_SPAN` levels, at most `MAX_GAIN` times
(at 3, one window of a free road darkened the same way read slow: sensor noise read as traffic).
The 5th and 95th percentiles, not the extremes, so a few headlights or street lamps do not stop
a night picture from being stretched. The percentiles are followed slowly (`FOLLOW`), and the
stretch fades in over `FADE` levels below `DIM_P95` (a blend of the picture as it came and the
full stretch), so it never jumps between two frames that are compared, even at dusk when the
picture hovers about the threshold.

Daylight views are never touched (here the darkest 95th percentile of a daylight clip is 127
levels, a pale top-down road included). The exposure checks (dark, glare, blank) look at the
picture as it came, and so does a camera read against an operator's empty-road reference (the
reference holds the camera's own grey levels).
"""

from __future__ import annotations

import cv2
import numpy as np

DIM_P95 = 100.0  # a picture whose 95th percentile is darker than this is dim
TARGET_SPAN = 140.0
MAX_GAIN = 2.5
FOLLOW = 0.1  # share of each new frame's percentiles taken into the running ones
FLOOR = 16.0  # the 5th percentile's level after the full stretch
FADE = 25.0  # levels below DIM_P95 over which the stretch goes from none to full


class ContrastStretch:
    """One camera's running picture levels, and the stretch they imply."""

    def __init__(self) -> None:
        self.low: float | None = None
        self.high = 0.0
        self.gain = 1.0  # of the full stretch
        self.weight = 0.0  # 0: the picture as it came, 1: the full stretch

    def apply(self, gray: np.ndarray, cumulative: np.ndarray) -> np.ndarray:
        """`gray` stretched when dim; `cumulative` is its normalised cumulative histogram."""
        low = float(np.searchsorted(cumulative, 0.05))
        high = float(np.searchsorted(cumulative, 0.95))
        if self.low is None:
            self.low, self.high = low, high
        else:
            self.low += FOLLOW * (low - self.low)
            self.high += FOLLOW * (high - self.high)
        weight = float(np.clip((DIM_P95 - self.high) / FADE, 0.0, 1.0))
        if weight == 0.0:
            self.gain, self.weight = 1.0, 0.0
            return gray
        self.weight = weight
        self.gain = max(1.0, min(MAX_GAIN, TARGET_SPAN / max(1.0, self.high - self.low)))
        levels = np.arange(256, dtype=np.float32)
        stretched = (levels - self.low) * self.gain + FLOOR
        blended = (1.0 - weight) * levels + weight * stretched  # 256 entries: cheap every frame
        return cv2.LUT(gray, np.clip(np.rint(blended), 0, 255).astype(np.uint8))
