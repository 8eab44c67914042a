"""Per-call live transcription: AudioSocket PCM in, transcript events out.

The AudioSocket server calls `on_call(uuid)` for each call and hands the returned sink the
caller's 8 kHz s16le mono audio. Audio is queued without waiting (the socket must never stall
on recognition); one task per call decodes it on the ASR threads in order and publishes
partials and finals to `h15:transcripts` through the injected `publish`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from telephony.speech.engines import SpeechEngines, VoskRecognizer
from telephony.speech.live import LiveWhisper
from telephony.speech.roman import roman_urdu
from telephony.speech.scheduler import Urgency
from telephony.speech.vad import Utterance, VadConfig, VadSegmenter

log = logging.getLogger(__name__)

Publish = Callable[[str, str, dict[str, Any]], Awaitable[str]]
TRANSCRIPTS_STREAM = "h15:transcripts"
CALL_SAMPLE_RATE = 8000
# Vosk's output depends on how audio is chunked, so it is always fed in fixed 40 ms pieces
# aligned to call start, however the network delivered it. Measured: 40 ms pieces gave the
# first partial ~0.15 s sooner than 100 ms pieces at the same CPU cost; 20 ms cost +25 % CPU.
FEED_BYTES = 640
BACKLOG_WARN_S = 5.0
WHISPER_STEP_BYTES = 1600  # whisper calls see the audio 0.1 s at a time, however it arrived
PAUSE_S = 0.3  # silence after which an open utterance gets no more partial decodes
# Decode threads busy this share of the last 3 s: words on screen are refreshed this many times
# less often (first partials and finals are never slowed; see README, Speech).
BUSY_SHARE = 0.6
BUSY_REFRESH_STRETCH = 3.0


@dataclass(frozen=True)
class TranscriptSegment:
    """One partial or final piece of a call's transcript (raw recogniser text, never edited).

    `seq` numbers utterances within a call; partials of utterance `seq` carry a growing
    `revision` and are superseded by the final with the same `seq`.
    """

    audiosocket_uuid: str
    seq: int
    kind: Literal["partial", "final"]
    text: str
    start_s: float
    end_s: float
    engine: str
    model: str
    language: str
    revision: int = 0
    text_roman: str = ""  # Roman-Urdu form of Urdu/Punjabi text, for search and triage

    @property
    def event_type(self) -> str:
        return f"transcript.{self.kind}"

    @property
    def event_id(self) -> str:
        if self.kind == "final":
            return f"{self.audiosocket_uuid}:{self.seq}:final"
        return f"{self.audiosocket_uuid}:{self.seq}:partial:{self.revision}"

    def to_event(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("kind")
        data["event_id"] = self.event_id
        return data


class TranscriptionSink:
    """Live transcript of one call. `audio`, `dtmf`, `closed` are what the server calls."""

    def __init__(
        self,
        call_id: uuid.UUID,
        engines: SpeechEngines,
        publish: Publish,
        model: str | None = None,
        sample_rate: int = CALL_SAMPLE_RATE,
        language: str | None = None,
        paced_as_file: bool = False,
    ) -> None:
        """`language` forces the call's language (else detected); `paced_as_file`: audio is a
        file delivered at once, so partials are never skipped to catch up."""
        self.call_id = str(call_id)
        self.engines = engines
        self.publish = publish
        self.spec = engines.config.model(model)
        self.sample_rate = sample_rate
        self.forced_language = language
        self.language = language or self.spec.language
        self.paced_as_file = paced_as_file
        self.live: LiveWhisper | None = None
        self.partials: list[TranscriptSegment] = []
        self.finals: list[TranscriptSegment] = []
        self.dtmf_digits: list[str] = []
        self.publish_failures = 0
        self.decode_cpu_s = 0.0  # CPU spent decoding this call (thread time): cost per call
        self.audio_after_close = 0
        self.close_reason: str | None = None
        self._pending = bytearray()
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.received_s = 0.0
        self.backlog_warnings = 0
        self._seq = 0
        self._revision = 0
        self._last_partial = ""
        self._utterance_start_s = 0.0

    # ---- the AudioSocket sink shape -------------------------------------------------------
    async def audio(self, pcm: bytes) -> None:
        if self._closing:
            self.audio_after_close += 1
            return
        self._pending += pcm
        self.received_s += len(pcm) / 2 / self.sample_rate
        if not self.paced_as_file and self.backlog_s > BACKLOG_WARN_S * (self.backlog_warnings + 1):
            # nothing is dropped (the text arrives late); the operator must add CPU
            self.backlog_warnings += 1
            log.warning(
                "call %s: recognition %.1f s behind live audio", self.call_id, self.backlog_s
            )
        self._ensure_task()
        self._wake.set()

    async def dtmf(self, digit: str) -> None:
        self.dtmf_digits.append(digit)

    async def closed(self, reason: str = "hangup") -> None:
        """Hang-up: decode what is queued, publish the last final, free the recogniser."""
        self.close_reason = reason
        self._closing = True
        self._ensure_task()
        self._wake.set()
        assert self._task is not None
        await asyncio.shield(self._task)

    # ---- results ----------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.finals if s.text)

    @property
    def backlog_s(self) -> float:
        """Received audio not yet handed to the recogniser: grows when decoding falls behind."""
        return len(self._pending) / 2 / self.sample_rate

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    # ---- decoding ---------------------------------------------------------------------------
    def _ensure_task(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"asr-{self.call_id}"
            )

    def _take(self, piece: int) -> bytes:
        """Whole `piece`s only while the call runs; the remainder too once it has ended."""
        usable = len(self._pending) - len(self._pending) % (2 if self._closing else piece)
        chunk = bytes(self._pending[:usable])
        del self._pending[:usable]
        return chunk

    async def _run(self) -> None:
        try:
            if self.spec.engine == "vosk":
                await self._run_vosk()
            else:
                await self._run_whisper()
        except Exception:
            log.exception("transcription of call %s failed", self.call_id)
            raise

    async def _next_chunk(self, piece: int = 2, limit: int | None = None) -> bytes | None:
        while len(self._pending) < (2 if self._closing else piece):
            if self._closing:
                return None
            self._wake.clear()
            await self._wake.wait()
        chunk = self._take(piece)
        if limit is not None and len(chunk) > limit:  # the rest waits, in order
            self._pending[:0] = chunk[limit:]
            chunk = chunk[:limit]
        return chunk

    async def _run_vosk(self) -> None:
        recognizer = await self.engines.acquire_vosk(self.spec.name)
        while (chunk := await self._next_chunk(FEED_BYTES)) is not None:
            segments = await self.engines.run(self._decode_vosk, recognizer, chunk)
            for segment in segments:
                await self._emit(segment)
        for segment in await self.engines.run(self._finish_vosk, recognizer):
            await self._emit(segment)

    def _decode_vosk(self, recognizer: VoskRecognizer, chunk: bytes) -> list[TranscriptSegment]:
        """Runs on an ASR thread; touches only this call's state (one task per call)."""
        cpu0 = time.thread_time()
        out: list[TranscriptSegment] = []
        for i in range(0, len(chunk), FEED_BYTES):
            if recognizer.accept(chunk[i : i + FEED_BYTES]):
                out.extend(self._vosk_final(*recognizer.result(), recognizer))
            else:
                text = recognizer.partial()
                if text and text != self._last_partial:
                    self._last_partial = text
                    self._revision += 1
                    out.append(
                        self._segment(
                            "partial", text, self._utterance_start_s, recognizer.call_elapsed_s
                        )
                    )
        self.decode_cpu_s += time.thread_time() - cpu0
        return out

    def _finish_vosk(self, recognizer: VoskRecognizer) -> list[TranscriptSegment]:
        cpu0 = time.thread_time()
        try:
            return self._vosk_final(*recognizer.final(), recognizer)
        finally:
            self.decode_cpu_s += time.thread_time() - cpu0

    def _vosk_final(
        self, text: str, words: list[Any], recognizer: VoskRecognizer
    ) -> list[TranscriptSegment]:
        start = words[0].start_s if words else self._utterance_start_s
        end = words[-1].end_s if words else recognizer.call_elapsed_s
        segment = self._segment("final", text, start, end) if text else None
        self._utterance_start_s = recognizer.call_elapsed_s
        self._last_partial = ""
        if segment is None:
            return []
        self._seq += 1
        self._revision = 0
        return [segment]

    async def _run_whisper(self) -> None:
        """Energy VAD cuts utterances; partials by local agreement; guarded final at each end."""
        whisper = await self.engines.run(self.engines.guarded, self.spec.name)
        config = self.engines.config
        live = LiveWhisper(
            whisper, self.forced_language, config.partial_every_s, config.partial_beam_size,
            hurry=lambda: self.engines.crowded(Urgency.FIRST_PARTIAL),
            partial_context_s=config.partial_min_context_s,
        )
        self.live = live
        vad = VadSegmenter(
            self.sample_rate,
            VadConfig(threshold_dbfs=config.vad_threshold_dbfs, hang_s=config.vad_hang_s),
        )
        while True:
            chunk = await self._next_chunk(2, limit=WHISPER_STEP_BYTES)
            utterances = vad.flush() if chunk is None else vad.feed(chunk)
            for utt in utterances:
                words, result = await self.engines.run(live.final, utt, urgency=Urgency.FINAL)
                self.language = live.language or result.language
                if words:
                    text = " ".join(words)
                    await self._emit(self._segment("final", text, utt.start_s, utt.end_s))
                    self._seq += 1
                    self._revision = 0
            if chunk is None:
                return
            current = vad.current()
            if live.open is not None and (current is None or current.start_s != live.open.start_s):
                live.open = None  # a burst the VAD dropped: its partial state goes with it
            # Behind the line, or with other calls' work waiting for the decode threads, a
            # call that already shows words skips its partial refresh (its final comes first).
            keeping_up = self.paced_as_file or (
                self.backlog_s < config.partial_every_s and not self.engines.crowded()
            )
            # in a pause the words are already on screen: a partial now would only delay the
            # final that comes when the pause outlasts the VAD's hang time ...
            pausing = vad.silent_for_s >= PAUSE_S
            if pausing and (pending := vad.pending()) is not None and live.wants_ahead(pending):
                # ... so the final is decoded now: if the pause outlasts the hang time, the VAD
                # cuts exactly this audio and the final is out as soon as it does
                await self.engines.run(live.decode_ahead, pending, urgency=Urgency.FINAL)
            if current is not None and not pausing and live.due(
                current, keeping_up, self._refresh_every_s(live, current)
            ):
                urgency = Urgency.PARTIAL if live.showing(current) else Urgency.FIRST_PARTIAL
                shown = await self.engines.run(live.partial, current, urgency=urgency)
                self.language = live.language or self.language
                if shown:
                    self._revision += 1
                    text = " ".join(shown)
                    await self._emit(self._segment("partial", text, current.start_s, current.end_s))

    def _refresh_every_s(self, live: LiveWhisper, current: Utterance) -> float:
        """How often words on screen are refreshed: less often while the decode threads are
        mostly busy (a file is transcribed as an idle live call would be: its own decodes
        keep them busy). Asked only of an utterance that shows words."""
        every = self.engines.config.partial_every_s
        if self.paced_as_file or not live.showing(current):
            return every
        return every * (BUSY_REFRESH_STRETCH if self.engines.busy() >= BUSY_SHARE else 1.0)

    def _segment(
        self, kind: Literal["partial", "final"], text: str, start: float, end: float
    ) -> TranscriptSegment:
        return TranscriptSegment(
            audiosocket_uuid=self.call_id,
            seq=self._seq,
            kind=kind,
            text=text,
            start_s=round(start, 3),
            end_s=round(max(end, start), 3),
            engine=self.spec.engine,
            model=self.spec.name,
            language=self.language,
            revision=self._revision if kind == "partial" else 0,
            text_roman=roman_urdu(text) if self.language in ("ur", "pa") else "",
        )

    async def _emit(self, segment: TranscriptSegment) -> None:
        """Keep the segment locally first, so a Redis hiccup never loses recognised words."""
        (self.finals if segment.kind == "final" else self.partials).append(segment)
        try:
            await self.publish(TRANSCRIPTS_STREAM, segment.event_type, segment.to_event())
        except Exception:
            self.publish_failures += 1
            log.exception("publishing %s failed", segment.event_id)


def make_transcription_sink_factory(
    engines: SpeechEngines,
    publish: Publish,
    model: str | None = None,
    choose_model: Callable[[uuid.UUID], str | None] | None = None,
) -> Callable[[uuid.UUID], TranscriptionSink]:
    """The `on_call` factory for the AudioSocket server; `choose_model` picks a model per call."""

    def on_call(call_id: uuid.UUID) -> TranscriptionSink:
        chosen = choose_model(call_id) if choose_model else None
        return TranscriptionSink(call_id, engines, publish, model=chosen or model)

    return on_call
