"""Guards against whisper's known failures on short, noisy phone audio.

Whisper was trained on 30 s windows of mostly clean speech. On a few seconds of telephone
audio, line noise or silence it can loop ("... ہے ہے ہے ..."), invent a sentence, or answer
noise with a stock phrase. Each guard here is cheap and independent of the clip:

* speech gate: Silero VAD (shipped with faster-whisper) must find enough speech first;
* per-segment thresholds on whisper's own no-speech probability and average log-probability;
* a loop (its text compresses very well) is cut where it starts repeating: the words before it
  were usually heard (measured on 54 Urdu clips: whole utterances were lost to loops before);
* repeated word n-grams collapsed, then a cap on characters per second of speech (nobody says
  more than ~20 characters a second).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class GuardConfig:
    """Thresholds measured on the shared Urdu and English clips (see README, speech)."""

    min_speech_s: float = 0.3  # Silero-voiced audio needed before whisper runs at all
    vad_threshold: float = 0.5
    no_speech_prob: float = 0.6
    min_avg_logprob: float = -1.0  # with no_speech_prob: whisper's own skip rule
    hard_min_avg_logprob: float = -1.6  # alone: the decoder was guessing
    max_compression_ratio: float = 2.4
    max_chars_per_s: float = 20.0
    max_repeats: int = 2  # a word n-gram said more than twice in a row is a loop


def speech_seconds(audio: np.ndarray, config: GuardConfig) -> float:
    """Seconds of speech Silero VAD finds in 16 kHz float audio (0 for noise and silence)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if audio.size < SAMPLE_RATE // 10:
        return 0.0
    options = VadOptions(
        threshold=config.vad_threshold, min_speech_duration_ms=150, min_silence_duration_ms=300
    )
    spans = get_speech_timestamps(audio, options)
    return sum(s["end"] - s["start"] for s in spans) / SAMPLE_RATE


def keep_segment(segment: Any, config: GuardConfig) -> bool:
    """False for a faster-whisper segment that is most likely not what was said."""
    if segment.no_speech_prob > config.no_speech_prob and (
        segment.avg_logprob < config.min_avg_logprob
    ):
        return False
    return segment.avg_logprob >= config.hard_min_avg_logprob


def is_loop(segment: Any, config: GuardConfig) -> bool:
    return segment.compression_ratio > config.max_compression_ratio


# a letter, or a run of up to 4 characters, said three or more times in a row inside a word
# ("مِمِمِمِ", "روگوگوگوگو"): whisper's loop inside one word; nobody speaks it
# (digits are left alone: "1000" and phone numbers repeat digits)
_CHAR_LOOP = re.compile(r"([^\s\d])\1{2,}|([^\s\d]{2,4}?)\2{2,}")


# letters of the scripts a language is written in here; whisper sometimes slips a token of
# another script into a word (seen: a katakana "ラ" inside an Urdu word)
SCRIPTS = {"ur": ("ARABIC", "LATIN"), "pa": ("ARABIC", "LATIN"), "en": ("LATIN",)}


def keep_script(text: str, language: str) -> str:
    """`text` without letters of scripts `language` is not written in (digits, punctuation
    and Latin-written English words kept)."""
    scripts = SCRIPTS.get(language)
    if scripts is None or text.isascii():
        return text
    return "".join(
        ch
        for ch in text
        if unicodedata.category(ch)[0] not in "LM" or unicodedata.name(ch, "").startswith(scripts)
    )


def unloop_letters(text: str) -> str:
    return _CHAR_LOOP.sub(lambda m: m.group(1) * 2 if m.group(1) else m.group(2), text)


def cut_loop(text: str) -> str:
    """The words before a loop starts: every repeated word n-gram kept once, letters stretched
    past two kept twice, and a last word the token limit cut short of its copy dropped."""
    words = collapse_repeats(unloop_letters(text).split(), max_repeats=1)
    if len(words) >= 2 and words[-2].startswith(words[-1]) and words[-1] != words[-2]:
        words.pop()
    return " ".join(words)


def collapse_repeats(words: Sequence[str], max_repeats: int = 2) -> list[str]:
    """Drop the 3rd and later back-to-back copies of any word n-gram (n up to 6)."""
    out = list(words)
    for n in range(1, 7):
        i = 0
        while i + n * (max_repeats + 1) <= len(out):
            gram = out[i : i + n]
            j = i + n
            copies = 1
            while out[j : j + n] == gram:
                copies += 1
                j += n
            if copies > max_repeats:
                del out[i + n * max_repeats : j]
            i += 1
    return out


def cap_text(
    words: list[str], speech_s: float, max_chars_per_s: float, already: int = 0
) -> list[str]:
    """Keep words only up to what `speech_s` seconds of speech can hold (`already` used)."""
    budget = max(speech_s, 0.5) * max_chars_per_s - already
    kept: list[str] = []
    used = 0
    for word in words:
        used += len(word) + 1
        if used > budget + 1:
            break
        kept.append(word)
    return kept


def clean_words(
    texts: Iterable[str], speech_s: float, config: GuardConfig, already: int = 0
) -> list[str]:
    """Segment texts as words, loops collapsed, capped to what the speech can hold."""
    words = [w for text in texts for w in unloop_letters(text).split()]
    words = collapse_repeats(words, config.max_repeats)
    return cap_text(words, speech_s, config.max_chars_per_s, already)


_PUNCT_ONLY = re.compile(r"^\W*$")


def is_empty(text: str) -> bool:
    return bool(_PUNCT_ONLY.match(text))
