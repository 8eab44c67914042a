"""Energy VAD / radio VOX: cuts a PCM stream into utterances (or transmissions).

A level threshold with a hang time is what radio VOX does, needs no model, and behaves the
same on every machine; `pre_roll_s` keeps the soft start of the first word.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from telephony.speech.audio import rms_dbfs


@dataclass(frozen=True)
class VadConfig:
    threshold_dbfs: float = -40.0
    hang_s: float = 0.6
    min_speech_s: float = 0.25
    pre_roll_s: float = 0.2
    tail_s: float = 0.15
    max_utterance_s: float = 30.0
    frame_ms: int = 20

    def __post_init__(self) -> None:
        if self.frame_ms <= 0 or self.hang_s <= 0 or self.max_utterance_s <= self.hang_s:
            raise ValueError("VadConfig: need frame_ms > 0, hang_s > 0, max_utterance_s > hang_s")


@dataclass(frozen=True)
class Utterance:
    start_s: float
    end_s: float
    pcm: bytes
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


class VadSegmenter:
    """Feed PCM of any chunk size; get back utterances as soon as their hang time has passed."""

    def __init__(self, sample_rate: int, config: VadConfig | None = None) -> None:
        self.sample_rate = sample_rate
        self.config = config or VadConfig()
        self.frame_bytes = sample_rate * self.config.frame_ms // 1000 * 2
        self._frame_s = self.config.frame_ms / 1000
        self._carry = b""
        self._t = 0.0
        self._pre: deque[bytes] = deque(
            maxlen=max(1, round(self.config.pre_roll_s / self._frame_s))
        )
        self._buf: list[bytes] | None = None
        self._start_s = 0.0
        self._first_voice_s = 0.0
        self._last_voice_end_s = 0.0
        self.dropped_bursts = 0

    @property
    def in_speech(self) -> bool:
        return self._buf is not None

    @property
    def silent_for_s(self) -> float:
        """How long the open utterance has been below the threshold (0 outside speech)."""
        return self._t - self._last_voice_end_s if self._buf is not None else 0.0

    def current(self) -> Utterance | None:
        """The utterance still being spoken (pre-roll included), for live partial decodes."""
        if self._buf is None:
            return None
        pcm = b"".join(self._buf)
        return Utterance(round(self._start_s, 3), round(self._t, 3), pcm, self.sample_rate)

    def pending(self) -> Utterance | None:
        """The utterance `feed` will return when the hang time passes with no more voice: once
        the pause outlasts `tail_s`, the very bytes of that final (None for a burst too short
        to keep). Lets the final be decoded during the pause instead of after it."""
        if self._buf is None or self._t - self._last_voice_end_s < self.config.tail_s:
            return None
        if self._last_voice_end_s - self._first_voice_s < self.config.min_speech_s:
            return None
        return self._cut(min(self._t, self._last_voice_end_s + self.config.tail_s))

    def _cut(self, end_s: float) -> Utterance:
        """The open utterance's audio from its start to `end_s` (one rule for close and
        pending, so a final decoded ahead is the very bytes the close gives)."""
        assert self._buf is not None
        keep = round((end_s - self._start_s) / self._frame_s)
        pcm = b"".join(self._buf[:keep])
        return Utterance(round(self._start_s, 3), round(end_s, 3), pcm, self.sample_rate)

    def feed(self, pcm: bytes) -> list[Utterance]:
        data = self._carry + pcm
        usable = len(data) - len(data) % self.frame_bytes
        self._carry = data[usable:]
        out: list[Utterance] = []
        for i in range(0, usable, self.frame_bytes):
            cut = self._frame(data[i : i + self.frame_bytes])
            if cut is not None:
                out.append(cut)
        return out

    def flush(self) -> list[Utterance]:
        """End of stream: close an open utterance instead of losing it."""
        if self._buf is None:
            return []
        cut = self._close()
        return [cut] if cut is not None else []

    def _frame(self, frame: bytes) -> Utterance | None:
        voiced = rms_dbfs(frame) >= self.config.threshold_dbfs
        t0, self._t = self._t, self._t + self._frame_s
        if self._buf is None:
            if not voiced:
                self._pre.append(frame)
                return None
            self._buf = list(self._pre)
            self._pre.clear()
            self._start_s = t0 - len(self._buf) * self._frame_s
            self._first_voice_s = t0
        self._buf.append(frame)
        if voiced:
            self._last_voice_end_s = self._t
        if self._t - self._last_voice_end_s >= self.config.hang_s:
            return self._close()
        if self._t - self._start_s >= self.config.max_utterance_s:
            return self._close(force=True)
        return None

    def _close(self, force: bool = False) -> Utterance | None:
        assert self._buf is not None
        end_s = self._t if force else min(self._t, self._last_voice_end_s + self.config.tail_s)
        utterance = self._cut(end_s)
        voiced_s = self._last_voice_end_s - self._first_voice_s
        self._buf = None
        if force:
            self._first_voice_s = self._t
            self._last_voice_end_s = self._t
        if voiced_s < self.config.min_speech_s:
            self.dropped_bursts += 1
            return None
        return utterance
