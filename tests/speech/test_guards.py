"""Guards against whisper's failures on phone audio (pure functions, and Silero on real noise)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from telephony.speech.guards import (
    GuardConfig,
    cap_text,
    clean_words,
    collapse_repeats,
    keep_segment,
    speech_seconds,
)
from telephony.speech.roman import roman_urdu


@dataclass
class Seg:  # the fields of faster_whisper.transcribe.Segment the guard reads
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float


def test_loops_are_collapsed_but_a_word_said_twice_stays() -> None:
    words = ["ہو", "گیا", "ہے", "ہے", "ہے", "ہے", "پولیس", "پولیس"]
    assert collapse_repeats(words) == ["ہو", "گیا", "ہے", "ہے", "پولیس", "پولیس"]
    loop = ["send", "police", "send", "police", "send", "police", "send", "police", "now"]
    assert collapse_repeats(loop) == ["send", "police", "send", "police", "now"]


def test_text_is_capped_to_what_the_speech_can_hold() -> None:
    words = ["abcd"] * 40  # 200 characters with spaces
    assert len(cap_text(words, speech_s=2.0, max_chars_per_s=20)) == 8
    assert cap_text(words, speech_s=2.0, max_chars_per_s=20, already=10) == words[:6]
    assert clean_words(["a b c"], 10.0, GuardConfig()) == ["a", "b", "c"]


def test_segment_thresholds() -> None:
    config = GuardConfig()
    assert keep_segment(Seg(0.1, -0.5, 1.2), config)
    assert not keep_segment(Seg(0.9, -1.2, 1.2), config)  # whisper's own "no speech" rule
    assert keep_segment(Seg(0.9, -0.3, 1.2), config)  # confident text over a quiet line
    assert not keep_segment(Seg(0.1, -2.0, 1.2), config)  # guessing
    assert not keep_segment(Seg(0.1, -0.2, 3.1), config)  # a loop compresses well


def test_silero_finds_no_speech_in_line_noise_or_hum() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(16000 * 3) / 16000
    noise = rng.normal(0, 0.05, t.size) + 0.1 * np.sin(2 * np.pi * 50 * t)
    assert speech_seconds(noise.astype(np.float32), GuardConfig()) < 0.3
    assert speech_seconds(np.zeros(16000, np.float32), GuardConfig()) == 0.0


def test_roman_urdu_writes_the_long_vowels() -> None:
    assert roman_urdu("میرے گھر میں چوری ہو گئی ہے۔ پولیس") == "mire ghr min chori ho gii he. polis"
    assert roman_urdu("send police") == "send police"
