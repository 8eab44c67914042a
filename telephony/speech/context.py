"""Whisper's encoder on the audio a call has, not on 30 s of padding.

faster-whisper pads every window to 30 s (3,000 mel frames) before the encoder, so a 1 s
partial costs the same encoder pass as 30 s of speech: about 1 s of one core for whisper base,
most of a live call's CPU. CTranslate2 encodes shorter inputs too; the decoder then attends
only to the frames given (encoder, one core: 0.98 s at 30 s, 0.21 s at 15 s, 0.13 s at 10 s;
attention is quadratic). Measured through the live path on telephone clips (6 shared Urdu
clips / 48 of our own espeak Urdu sentences, CER): 30 s 0.482 / 0.468, 15 s 0.467 / 0.482,
10 s 0.510 / 0.504, at 337 / 158 / 126 CPU seconds; shorter minimums lost whole English
utterances and made whisper loop more often. Language detection at 2.5 s and 4 s over the
63 clips of both rates went wrong 8 times of 252 on the full window and 5 times at 15 s.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from faster_whisper import WhisperModel

from telephony.speech.config import DEFAULT_MIN_CONTEXT_S

FRAMES_PER_S = 100  # whisper's mel hop: 10 ms
FULL_WINDOW_FRAMES = 3000
_this_decode = threading.local()


@contextmanager
def encoder_context(min_context_s: float | None) -> Iterator[None]:
    """The least audio the encoder sees for decodes on this thread inside the block (None:
    the model's own setting). Partials, which only refresh words on screen, can afford less
    than finals."""
    before = getattr(_this_decode, "min_context_s", None)
    _this_decode.min_context_s = min_context_s
    try:
        yield
    finally:
        _this_decode.min_context_s = before


def context_frames(features: np.ndarray, min_context_s: float, margin_s: float = 1.0) -> int:
    """Frames to encode: the content (faster-whisper pads with exact zero columns) plus a
    margin, at least `min_context_s`, at most the 30 s window; even (the encoder's stride)."""
    columns = features[0] if features.ndim == 3 else features
    nonzero = np.flatnonzero(np.any(columns != 0.0, axis=0))
    content = int(nonzero[-1]) + 1 if nonzero.size else 0
    frames = max(content + int(margin_s * FRAMES_PER_S), int(min_context_s * FRAMES_PER_S))
    return min(frames + frames % 2, FULL_WINDOW_FRAMES, columns.shape[-1])


class ContextTrimmedWhisper(WhisperModel):
    """faster-whisper whose encoder sees the window's content, not its padding."""

    def __init__(
        self, *args: Any, min_context_s: float = DEFAULT_MIN_CONTEXT_S, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.min_context_s = min_context_s

    def encode(self, features: np.ndarray) -> Any:
        min_context_s = getattr(_this_decode, "min_context_s", None) or self.min_context_s
        if min_context_s < FULL_WINDOW_FRAMES / FRAMES_PER_S:
            frames = context_frames(features, min_context_s)
            features = np.ascontiguousarray(features[..., :frames])
        return super().encode(features)
