"""Whisper as a live call hears it: language per call, guarded decoding, a vocabulary prompt.

`GuardedWhisper` is the one decoding path for live calls, `helpline15 speech transcribe` and
the benchmark, so what a file gives is what a call gives.

Decoding settings (measured on the shared Urdu clips, see README): beam 5, temperature 0 only
(the fallback to sampling cost 3x the CPU on telephone audio and changed nothing but run-to-run
variation), no conditioning on previous text (it carries a loop from one window into the
next).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from telephony.speech.audio import pcm16_to_float32, resample_pcm16
from telephony.speech.context import encoder_context
from telephony.speech.engines import WhisperEngine
from telephony.speech.guards import (
    GuardConfig,
    clean_words,
    cut_loop,
    is_loop,
    keep_script,
    keep_segment,
    speech_seconds,
)

# Whisper writes Punjabi in Gurmukhi; callers in Lahore write it in Shahmukhi (Arabic script,
# as Urdu): a call detected as Punjabi is decoded with Urdu's script and tagged "pa".
DECODE_AS = {"pa": "ur"}
# Whisper's detector often labels spoken Urdu as Hindi (one spoken language, two scripts).
FOLD_INTO = {"hi": "ur"}
SWITCH_P = 0.5
PROMPT_TOKENS = 200  # whisper keeps at most 223 prompt tokens; leave room for the prefix
# Tokens a second of speech can need: the references of the shared clips take at most 8.5
# (Urdu) and 14 (Hindi, Devanagari) a second. A loop stops at this cap instead of at 448
# tokens, which with beam 5 was most of a looping decode's CPU.
TOKENS_PER_S = 25
TOKENS_SLACK = 16
MAX_TOKENS = 448  # whisper's decoder positions
KEPT_TOKENS = MAX_TOKENS // 2 - 1  # what faster-whisper keeps of a prompt, and of a prefix


@dataclass(frozen=True)
class Piece:
    start_s: float
    end_s: float
    text: str


@dataclass
class Decoded:
    """One guarded decode: the words kept, and why the others were not."""

    language: str
    pieces: list[Piece]
    speech_s: float
    decode_s: float  # wall time (CTranslate2 decodes on its own threads)
    dropped: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(p.text for p in self.pieces).strip()

    @property
    def words(self) -> list[str]:
        return self.text.split()


class GuardedWhisper:
    """A multilingual (or single-language) faster-whisper model behind the phone-audio guards."""

    def __init__(
        self,
        engine: WhisperEngine,
        *,
        languages: tuple[str, ...] = ("ur", "en", "pa"),
        language_default: str = "ur",
        vocabulary: tuple[str, ...] = (),
        guards: GuardConfig | None = None,
    ) -> None:
        self.engine = engine
        self.model = engine.model
        self.guards = guards or GuardConfig()
        self.multilingual = bool(getattr(self.model, "model", None)) and (
            self.model.model.is_multilingual
        )
        fixed = engine.spec.language
        if not self.multilingual or fixed != "und":
            self.languages: tuple[str, ...] = (fixed if fixed != "und" else "en",)
        else:
            self.languages = languages
        self.language_default = (
            language_default if language_default in self.languages else self.languages[0]
        )
        self.prompt = self._prompt(vocabulary)
        self.prompt_tokens = (
            len(self.model.hf_tokenizer.encode(" " + self.prompt, add_special_tokens=False).ids)
            if self.prompt
            else 0
        )

    def warm(self) -> None:
        """One decode of low noise, so the first caller does not pay CTranslate2's first run."""
        noise = np.random.default_rng(15).normal(0, 0.01, 16000).astype(np.float32)
        # a few tokens are enough to run every kernel once: on noise whisper would otherwise
        # invent text up to its 448-token limit (measured: 20-55 s per start; now 2-4 s)
        list(
            self.model.transcribe(
                noise,
                language=self.language_default,
                beam_size=1,
                max_new_tokens=4,
                without_timestamps=True,
            )[0]
        )
        speech_seconds(noise, self.guards)  # loads the Silero VAD once

    # ---- language -------------------------------------------------------------------------
    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """The call's language from 16 kHz float audio, with whisper's probability for it.

        The deployment default is kept unless another allowed language is clearly spoken
        (probability >= SWITCH_P among all 99): whisper base's detector, on the shared Urdu
        clips, never gave Urdu (or Hindi) more than 0.3 and gave English up to 0.46 in the
        first second (0.16 after 2.5 s); English clips gave English 0.68-0.95 after 2.5 s.
        """
        if len(self.languages) == 1:
            return self.languages[0], 1.0
        _lang, _p, ranked = self.model.detect_language(audio)
        scores: dict[str, float] = {}
        for lang, prob in ranked:
            lang = lang if lang in self.languages else FOLD_INTO.get(lang, "")
            if lang in self.languages:
                scores[lang] = scores.get(lang, 0.0) + prob
        others = {k: v for k, v in scores.items() if k != self.language_default}
        best = max(others, key=lambda k: others[k], default=None)
        if best is not None and others[best] >= SWITCH_P:
            return best, round(others[best], 3)
        return self.language_default, round(scores.get(self.language_default, 0.0), 3)

    # ---- decoding -------------------------------------------------------------------------
    def decode_pcm(
        self,
        pcm: bytes,
        sample_rate: int,
        language: str | None = None,
        prefix: str = "",
        beam_size: int | None = None,
        min_context_s: float | None = None,
    ) -> Decoded:
        audio = pcm16_to_float32(resample_pcm16(pcm, sample_rate, 16000))
        with encoder_context(min_context_s):
            return self.decode(audio, language, prefix, beam_size)

    def decode(
        self,
        audio: np.ndarray,
        language: str | None = None,
        prefix: str = "",
        beam_size: int | None = None,
    ) -> Decoded:
        """Guarded decode of one utterance; `language=None` detects it. `prefix`: words already
        committed for this utterance, which the decoder continues (they are not repeated)."""
        t0 = time.perf_counter()
        speech_s = speech_seconds(audio, self.guards)
        if speech_s < self.guards.min_speech_s:
            lang = language or self.language_default
            return Decoded(lang, [], speech_s, time.perf_counter() - t0, ["no speech (VAD)"])
        if language is None:
            with encoder_context(None):  # the call's language is judged on the full context
                language, _prob = self.detect_language(audio)
        written_as = DECODE_AS.get(language, language)
        segments, _info = self.model.transcribe(
            audio,
            language=written_as,
            beam_size=beam_size or self.engine.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            initial_prompt=self.prompt,
            prefix=prefix or None,
            compression_ratio_threshold=None,  # judged below, no sampling fallback
            log_prob_threshold=None,
            no_speech_threshold=None,
            max_new_tokens=self._token_budget(len(audio) / 16000, prefix),
        )
        kept: list[Any] = []
        texts: list[str] = []
        dropped: list[str] = []
        for seg in segments:
            if not keep_segment(seg, self.guards):
                dropped.append(seg.text.strip())
                continue
            text = keep_script(seg.text.strip(), written_as)
            if is_loop(seg, self.guards):
                dropped.append(text)
                text = cut_loop(text)
            kept.append(seg)
            texts.append(text)
        head = prefix.strip()
        if head and texts:  # faster-whisper returns the forced prefix too: drop it
            texts[0] = texts[0][len(head) :] if texts[0].startswith(head) else ""
        words = clean_words(texts, speech_s, self.guards, already=len(prefix))
        pieces = _pieces(kept, texts, words)
        return Decoded(language, pieces, speech_s, time.perf_counter() - t0, dropped)

    def _token_budget(self, seconds: float, prefix: str) -> int | None:
        """New tokens the decode may write: what `seconds` of speech can need, within the 448
        that whisper holds with the prompt and prefix. faster-whisper keeps at most 223 tokens
        of each and raises when prompt + budget pass 448, which would end the call's live
        transcript: with no room left, no budget (faster-whisper's own limit) is given."""
        prefix_tokens = 0
        if prefix:
            ids = self.model.hf_tokenizer.encode(" " + prefix.strip(), add_special_tokens=False)
            prefix_tokens = len(ids.ids)
        # start-of-transcript, language, task, timestamps: 5, and a margin
        used = 8 + min(self.prompt_tokens, KEPT_TOKENS) + min(prefix_tokens, KEPT_TOKENS)
        room = MAX_TOKENS - used
        return min(TOKENS_SLACK + int(TOKENS_PER_S * seconds), room) if room >= 1 else None

    def _prompt(self, vocabulary: tuple[str, ...]) -> str | None:
        """Vocabulary words, in order, as many as fit whisper's prompt."""
        if not vocabulary:
            return None
        tokenizer = self.model.hf_tokenizer
        kept, used = [], 0
        for word in dict.fromkeys(w.strip() for w in vocabulary if w.strip()):
            cost = len(tokenizer.encode(" " + word, add_special_tokens=False).ids) + 1
            if used + cost > PROMPT_TOKENS:
                break
            kept.append(word)
            used += cost
        return "، ".join(kept) if kept else None


def _pieces(segments: list[Any], texts: list[str], words: list[str]) -> list[Piece]:
    """Spread the cleaned words back over their segments (for segment times)."""
    pieces: list[Piece] = []
    i = 0
    for seg, text in zip(segments, texts, strict=True):
        n = len(text.split())
        take = words[i : i + n]
        i += n
        if take:
            pieces.append(Piece(round(seg.start, 3), round(seg.end, 3), " ".join(take)))
        if i >= len(words):
            break
    return pieces
