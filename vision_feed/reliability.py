"""Whether a window of frames can be read at all, and if not, why (shown to the supervisor).

A reading routing cannot trust is worse than none: it would send units the long way round a jam
that is not there. So before congestion is judged, each window is checked, in this order:
frozen (the picture stopped changing: the encoder or the feed repeats one frame), dark (dark
and nothing bright in it: a night road still shows its lamps and lights), blank (no contrast:
a covered lens, fog), glare (a large share saturated), too few frames, a camera that moves
(handheld, panning, a drone; `motion.py`), a cut or view jump, and, with an operator reference,
a camera turned away from its road. An unreliable window has factor 1.0 and its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from vision_feed.estimator import FrameStats

CUT_SIMILARITY = 0.4  # fewer of the picture's cells alike than this: another scene
DARK_MEAN, DARK_P99 = 20.0, 60.0  # dark AND nothing bright (a night road still has its lights)
GLARE_SATURATED = 0.3  # share of saturated pixels: sun in the lens, headlights into it
BLANK_STD = 4.0
FROZEN_RUN_S = 1.0  # this long without one changed frame: a frozen feed, not a quiet road
FROZEN_SHARE = 0.9
# A frozen feed re-encoded on its way (key frames, transcoder noise) repeats its picture on most
# frames and barely changes it on the others: at least this share of exact repeats, and
# FROZEN_SHARE of frames in which nothing moved. A live camera repeats no frame unless its frame
# rate was padded, and then its other frames show what moved.
FROZEN_REPEAT_SHARE = 0.5
CAMERA_MOVING_SHARE = 0.4  # of the compared pairs
MOVED_OUTSIDE_CHANGE = 0.5
MIN_PAIRS = 2


def _longest_run_s(stats: Sequence[FrameStats]) -> float:
    """Longest stretch of footage time over which every frame repeated the one before."""
    longest = 0.0
    start: float | None = None
    previous_t = stats[0].t if stats else 0.0
    for s in stats:
        if s.duplicate:
            start = previous_t if start is None else start
            longest = max(longest, s.t - start)
        else:
            start = None
        previous_t = s.t
    return longest


def unreliable_reason(stats: Sequence[FrameStats]) -> str | None:
    """Why this window cannot be read, or None when it can."""
    pairs = [s for s in stats if s.pair]
    repeated = float(np.mean([s.duplicate for s in stats[1:]] or [False]))
    still = float(np.mean([s.still for s in stats[1:]] or [False]))
    if stats and (
        _longest_run_s(stats) >= FROZEN_RUN_S
        or repeated >= FROZEN_SHARE
        or (repeated >= FROZEN_REPEAT_SHARE and still >= FROZEN_SHARE)
    ):
        return "frozen"
    if np.mean([s.mean < DARK_MEAN and s.p99 < DARK_P99 for s in stats] or [0]) >= 0.5:
        return "dark"
    if np.mean([s.std < BLANK_STD for s in stats] or [0]) >= 0.5:
        return "blank"
    if np.mean([s.saturated > GLARE_SATURATED for s in stats] or [0]) >= 0.5:
        return "glare"
    if len(pairs) < MIN_PAIRS:
        return "too_few_frames"
    if np.mean([s.camera_moving for s in pairs]) >= CAMERA_MOVING_SHARE:
        return "shaken"
    if any(s.cut for s in pairs):
        return "cut"
    outside = [s.outside_change for s in pairs if s.outside_change is not None]
    if outside and float(np.median(outside)) > MOVED_OUTSIDE_CHANGE:
        return "moved"
    return None
