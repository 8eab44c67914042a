"""Whisper on a live call: partials by local agreement, a final at each end of utterance.

Whisper is not a streaming model, so the open utterance is decoded again every
`partial_every_s` of new audio. Words that two decodes in a row agree on (after the words
already committed) are committed: they are passed to every later decode of the utterance as
its prefix, so they are never rewritten, and the final is the committed words plus whatever the
last decode adds ("LocalAgreement-2", Macháček et al., 2023). The first seconds of the call
decide its language, within the allowed set, and the call keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from telephony.speech.vad import Utterance
from telephony.speech.whisper import Decoded, GuardedWhisper

LANGUAGE_AFTER_S = 2.5  # audio needed before a call's language is decided (see whisper.py)


def agreed_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass
class UtteranceState:
    """What one open utterance has shown so far."""

    start_s: float
    committed: list[str] = field(default_factory=list)
    tentative: list[str] = field(default_factory=list)
    decoded_until_s: float = 0.0
    shown: bool = False  # a partial of this utterance has reached the call-taker

    @property
    def words(self) -> list[str]:
        return self.committed + self.tentative

    def agree(self, hypothesis: list[str]) -> None:
        """`hypothesis` continues `committed`; commit what it shares with the previous one."""
        n = agreed_prefix(self.tentative, hypothesis)
        self.committed += hypothesis[:n]
        self.tentative = hypothesis[n:]


class LiveWhisper:
    """Per-call streaming state; `partial()` and `final()` run on an ASR thread."""

    def __init__(
        self,
        whisper: GuardedWhisper,
        language: str | None = None,
        partial_every_s: float = 1.0,
        partial_beam_size: int = 1,
        hurry: Callable[[], bool] = lambda: False,
        partial_context_s: float | None = None,
    ) -> None:
        """`partial_beam_size`: partials decode greedily (measured: as accurate as beam 5 on
        the telephone clips, at a fraction of the CPU); the final uses the engine's beam,
        unless `hurry()` says, as it starts, that other callers wait for the decode threads:
        then it is greedy too (measured: CER 0.471 against beam 5's 0.467 on the telephone
        clips, at about half the CPU), so one busy moment does not delay every final."""
        self.partial_beam_size = partial_beam_size
        self.hurry = hurry
        self.partial_context_s = partial_context_s
        self.finals_hurried = 0
        self.whisper = whisper
        self.language = language  # None: decided from the first speech of the call
        self.language_forced = language is not None
        self.partial_every_s = partial_every_s
        self.open: UtteranceState | None = None
        self.decode_s = 0.0
        # A final decoded ahead, in the pause before the VAD closed the utterance: its key
        # (start, end, bytes, committed words) and result; used when the close matches it.
        self._ahead: tuple[tuple[float, float, int, tuple[str, ...]], Decoded] | None = None
        self.finals_ahead = 0
        self.decoded_ahead = 0

    def due(self, current: Utterance | None, keeping_up: bool = True,
            refresh_every_s: float | None = None) -> bool:
        """Is a partial decode of the open utterance due? Behind live audio, partials are made
        only until the first one shows (words on screen early matter most); once words show,
        they are refreshed every `refresh_every_s` (default: `partial_every_s`)."""
        if current is None or self.partial_every_s <= 0:
            return False
        same = self._same(current)
        decoded = self.open.decoded_until_s if same and self.open else 0.0
        every = self.partial_every_s
        if self.showing(current):
            if not keeping_up:
                return False
            every = max(every, refresh_every_s or every)
        return current.duration_s - decoded >= every

    def showing(self, current: Utterance) -> bool:
        """Has a partial of this utterance reached the call-taker?"""
        return self._same(current) and self.open is not None and self.open.shown

    def _same(self, utterance: Utterance) -> bool:
        return self.open is not None and self.open.start_s == utterance.start_s

    def partial(self, current: Utterance) -> list[str] | None:
        """Decode the open utterance; the words to show, or None when nothing changed."""
        state = self._state(current)
        before = state.words
        result = self._decode(current, state, self.partial_beam_size, self.partial_context_s)
        state.decoded_until_s = current.duration_s
        if self.language is None:  # nothing is committed before the language is settled
            state.tentative = result.words
        else:
            state.agree(result.words)
        if state.words and state.words != before:
            state.shown = True
            return state.words
        return None

    def _key(self, utterance: Utterance,
             state: UtteranceState) -> tuple[float, float, int, tuple[str, ...]]:
        return (utterance.start_s, utterance.end_s, len(utterance.pcm), tuple(state.committed))

    def wants_ahead(self, pending: Utterance) -> bool:
        """Is `pending` (the final the VAD will cut if the pause lasts) not decoded yet?"""
        return self._ahead is None or self._ahead[0] != self._key(pending, self._state(pending))

    def decode_ahead(self, pending: Utterance) -> None:
        """Decode the final during the pause; `final` uses it if the VAD closes on exactly
        this audio (the caller did not go on), else it is dropped."""
        state = self._state(pending)
        self._ahead = (self._key(pending, state), self._decode_final(pending, state))
        self.decoded_ahead += 1

    def final(self, utterance: Utterance) -> tuple[list[str], Decoded]:
        """The utterance has ended: committed words plus what a decode of all of it adds."""
        state = self._state(utterance)
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == self._key(utterance, state):
            result = ahead[1]
            self.finals_ahead += 1
        else:
            result = self._decode_final(utterance, state)
        self.open = None
        return state.committed + result.words, result

    def _decode_final(self, utterance: Utterance, state: UtteranceState) -> Decoded:
        if self.hurry():
            self.finals_hurried += 1
            return self._decode(utterance, state, 1)
        return self._decode(utterance, state)

    def _state(self, utterance: Utterance) -> UtteranceState:
        if not self._same(utterance):
            self.open = UtteranceState(utterance.start_s)
        return self.open

    def _decode(
        self,
        utterance: Utterance,
        state: UtteranceState,
        beam_size: int | None = None,
        min_context_s: float | None = None,
    ) -> Decoded:
        language = self.language
        if language is None and utterance.duration_s < LANGUAGE_AFTER_S:
            language = self.whisper.language_default  # too little audio to judge: no detection
        result = self.whisper.decode_pcm(
            utterance.pcm,
            utterance.sample_rate,
            language,
            prefix=" ".join(state.committed),
            beam_size=beam_size,
            min_context_s=min_context_s,
        )
        if (
            self.language is None
            and utterance.duration_s >= LANGUAGE_AFTER_S
            and result.speech_s >= self.whisper.guards.min_speech_s
        ):
            self.language = result.language
        self.decode_s += result.decode_s
        return result
