"""The energy VAD / radio VOX on real clips with real gaps between them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.speech.audio import read_wav
from telephony.speech.vad import VadConfig, VadSegmenter
from tests.speech.helpers import sample


def _noise(seconds: float, rate: int, level: float = 30.0, seed: int = 0) -> bytes:
    """Receiver hiss well below the threshold (about -60 dBFS)."""
    samples = np.random.default_rng(seed).normal(0, level, int(seconds * rate))
    return samples.astype("<i2").tobytes()


def _stream(names: list[str], gap_s: float) -> tuple[bytes, int, list[tuple[float, float]]]:
    """Clips separated by hiss; returns the audio and where each clip sits."""
    parts, spans, t, rate = [], [], 0.0, 0
    for i, name in enumerate(names):
        pcm, rate = read_wav(sample(name))
        gap = _noise(gap_s, rate, seed=i)
        parts += [gap, pcm]
        t += gap_s
        spans.append((t, t + len(pcm) / 2 / rate))
        t = spans[-1][1]
    parts.append(_noise(gap_s, rate, seed=99))
    return b"".join(parts), rate, spans


def _cut(pcm: bytes, rate: int, chunk: int, config: VadConfig | None = None) -> list:
    vad = VadSegmenter(rate, config)
    out = []
    for i in range(0, len(pcm), chunk):
        out += vad.feed(pcm[i : i + chunk])
    return out + vad.flush()


def test_one_utterance_per_clip_at_the_right_place() -> None:
    pcm, rate, spans = _stream(["en1_16k.wav", "hi2_16k.wav", "ko3_16k.wav"], gap_s=1.2)
    cuts = _cut(pcm, rate, 320)
    assert len(cuts) == 3
    for cut, (start, end) in zip(cuts, spans, strict=True):
        assert start - 0.25 <= cut.start_s <= start + 0.1
        assert end - 0.5 <= cut.end_s <= end + 0.2
        assert abs(cut.duration_s - (cut.end_s - cut.start_s)) < 0.03


@settings(max_examples=15, deadline=None)
@given(chunk=st.integers(min_value=1, max_value=4000).map(lambda n: n * 2))
def test_cuts_do_not_depend_on_chunk_size(chunk: int) -> None:
    pcm, rate, _ = _stream(["en3_tel8k.wav", "en2_tel8k.wav"], gap_s=1.0)
    reference = _cut(pcm, rate, 160)
    assert [(u.start_s, u.end_s, u.pcm) for u in _cut(pcm, rate, chunk)] == [
        (u.start_s, u.end_s, u.pcm) for u in reference
    ]


def test_clicks_are_dropped_and_counted() -> None:
    rate = 8000
    click = (np.ones(int(0.04 * rate)) * 8000).astype("<i2").tobytes()
    vad = VadSegmenter(rate)
    assert vad.feed(_noise(1, rate) + click + _noise(1, rate)) == []
    assert vad.dropped_bursts == 1


def test_long_speech_is_cut_at_the_limit_without_losing_audio() -> None:
    pcm, rate = read_wav(sample("en1_16k.wav"))  # 5.2 s of speech
    cuts = _cut(pcm, rate, 640, VadConfig(max_utterance_s=2.0))
    assert len(cuts) >= 3
    assert all(u.end_s - u.start_s <= 2.0 + 1e-6 for u in cuts)
    assert sum(len(u.pcm) for u in cuts) >= len(pcm) * 0.9


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError, match="max_utterance_s"):
        VadConfig(hang_s=2.0, max_utterance_s=1.0)


@settings(max_examples=25, deadline=None)
@given(chunk=st.integers(min_value=160, max_value=4000),
       gap=st.floats(min_value=0.2, max_value=2.0))
def test_the_pending_final_is_exactly_what_the_vad_cuts(chunk: int, gap: float) -> None:
    """Decoded ahead in a pause, the pending utterance must be the very bytes the VAD cuts when
    the pause outlasts the hang time; a pause the caller talks through changes it."""
    pcm, rate, _ = _stream(["ur1_tel8k.wav", "en1_tel8k.wav"], gap)
    vad = VadSegmenter(rate)
    pending: dict[float, object] = {}
    cut = []
    for i in range(0, len(pcm), chunk):
        cut += vad.feed(pcm[i : i + chunk])
        ahead = vad.pending()
        if ahead is not None:
            assert vad.silent_for_s >= vad.config.tail_s
            pending[ahead.start_s] = ahead  # the latest pending per utterance
    cut += vad.flush()
    assert len(cut) == 2
    for utterance in cut:
        ahead = pending[utterance.start_s]
        assert (ahead.end_s, ahead.pcm) == (utterance.end_s, utterance.pcm)
