"""Guards against whisper's failures on phone audio (pure functions, and Silero on real noise)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from telephony.speech.guards import (
    GuardConfig,
    cap_text,
    clean_words,
    collapse_repeats,
    cut_loop,
    is_loop,
    keep_script,
    keep_segment,
    speech_seconds,
    unloop_letters,
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
    assert is_loop(Seg(0.1, -0.2, 3.1), config)  # a loop compresses well
    assert not is_loop(Seg(0.1, -0.2, 1.8), config)


def test_a_loop_keeps_the_words_heard_before_it() -> None:
    # whisper base on one of our espeak clips: "someone phoned and ..." then a loop to the
    # token limit; the whole utterance used to be dropped
    looped = "کوئی فون کرکے " + "مئے " * 60 + "مئ"
    assert cut_loop(looped) == "کوئی فون کرکے مئے"
    assert cut_loop("send police send police send police now") == "send police now"


def test_letter_loops_inside_a_word_are_cut_but_digits_are_not() -> None:
    assert unloop_letters("روگوگوگوگوگوگو") == "روگو"
    assert unloop_letters("مِمِمِمِمِمِمِمِ") == "مِ"  # a letter with its vowel mark
    assert unloop_letters("مییییییی") == "میی"
    for kept in ("Mississippi", "0300 1111111", "1000 rupay", "پولیس"):
        assert unloop_letters(kept) == kept
    assert clean_words(["آگ لگگگگگگ گئی"], 10.0, GuardConfig()) == ["آگ", "لگگ", "گئی"]


def test_silero_finds_no_speech_in_line_noise_or_hum() -> None:
    rng = np.random.default_rng(7)
    t = np.arange(16000 * 3) / 16000
    noise = rng.normal(0, 0.05, t.size) + 0.1 * np.sin(2 * np.pi * 50 * t)
    assert speech_seconds(noise.astype(np.float32), GuardConfig()) < 0.3
    assert speech_seconds(np.zeros(16000, np.float32), GuardConfig()) == 0.0


def test_roman_urdu_writes_the_long_vowels() -> None:
    assert roman_urdu("میرے گھر میں چوری ہو گئی ہے۔ پولیس") == "mire ghr min chori ho gii he. polis"
    assert roman_urdu("send police") == "send police"


def test_letters_of_another_script_are_dropped() -> None:
    assert keep_script("آدラگ گئی", "ur") == "آدگ گئی"  # seen in a partial on a shared clip
    assert keep_script("گلی میں fight ہو رہی ہے، 15 پر", "ur") == "گلی میں fight ہو رہی ہے، 15 پر"
    assert keep_script("fire in कोट Lakhpat", "en") == "fire in  Lakhpat"
    assert keep_script("fiancé", "en") == "fiancé"
