"""Model loading (once per process), warm Vosk recognisers and the whisper engine.

Decoding is CPU-bound C++ (Kaldi, CTranslate2) that releases the GIL, so it runs in a shared
thread pool and never on the event loop. Vosk recognisers are single-use: after `Reset()` a
recogniser still carries state from the previous stream (its clock, and Kaldi's online
adaptation), and one caller's audio must not shape the next caller's transcript. Each call
gets a fresh recogniser that was warmed on noise in the background, which also takes the
0.5-0.7 s first-decode stall out of the call's path.

Note: Kaldi dithers features with an unseeded random generator (`--dither` defaults to 1 and
the published models keep it), so two decodes of the same audio can differ in a word or two.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from telephony.speech.audio import pcm16_to_float32, resample_pcm16
from telephony.speech.config import (
    DEFAULT_MIN_CONTEXT_S,
    ModelSpec,
    SpeechConfig,
    SpeechConfigError,
)
from telephony.speech.scheduler import PriorityExecutor, Urgency
from telephony.speech.tuning import tuned_vosk_model

if TYPE_CHECKING:
    from telephony.speech.whisper import GuardedWhisper

log = logging.getLogger(__name__)
T = TypeVar("T")

_load_lock = threading.Lock()
_vosk_models: dict[Path, Any] = {}
_whisper_models: dict[tuple[Path, int, str, float], Any] = {}


def load_vosk_model(path: Path) -> Any:
    """The process-wide Vosk model for `path`; loaded at most once (~2 s, ~500 MB)."""
    path = Path(path).resolve()
    with _load_lock:
        model = _vosk_models.get(path)
        if model is None:
            import vosk

            vosk.SetLogLevel(-1)
            log.info("loading vosk model %s", path)
            model = vosk.Model(str(path))
            _vosk_models[path] = model
        return model


def load_whisper_model(
    path: Path,
    cpu_threads: int = 1,
    compute_type: str = "int8",
    min_context_s: float = DEFAULT_MIN_CONTEXT_S,
) -> Any:
    """The process-wide faster-whisper model; from a local directory only (never the hub).
    `min_context_s`: the least audio the encoder sees (30: whisper's full window; see
    `telephony.speech.context`)."""
    key = (Path(path).resolve(), cpu_threads, compute_type, float(min_context_s))
    with _load_lock:
        model = _whisper_models.get(key)
        if model is None:
            from telephony.speech.context import ContextTrimmedWhisper  # imports faster_whisper

            log.info("loading whisper model %s", key[0])
            model = ContextTrimmedWhisper(
                str(key[0]),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=True,
                min_context_s=min_context_s,
            )
            _whisper_models[key] = model
        return model


@dataclass(frozen=True)
class Word:
    text: str
    start_s: float
    end_s: float


class VoskRecognizer:
    """One Kaldi recogniser plus the clock Vosk keeps across `Reset()` (word times never restart).

    `origin_s` is where this call began on the recogniser's own clock, so word times become
    offsets from call start.
    """

    WARMUP_SECONDS = 1.0

    def __init__(
        self, spec: ModelSpec, sample_rate: int = 8000, model_path: Path | None = None
    ) -> None:
        import vosk

        self.spec = spec
        self.sample_rate = sample_rate
        self._rec = vosk.KaldiRecognizer(load_vosk_model(model_path or spec.path), sample_rate)
        self._rec.SetWords(True)
        self.fed_s = 0.0
        self.origin_s = 0.0

    def warm(self) -> None:
        """Run one decode on low noise so the first real decode does not stall."""
        noise = np.random.default_rng(15).normal(
            0, 300, int(self.sample_rate * self.WARMUP_SECONDS)
        )
        self.accept(noise.astype(np.int16).tobytes())
        self._rec.FinalResult()
        self._rec.Reset()
        self.origin_s = self.fed_s

    def accept(self, pcm: bytes) -> bool:
        """Feed s16le mono PCM; True when an utterance ended (call `result()`)."""
        self.fed_s += len(pcm) / 2 / self.sample_rate
        return bool(self._rec.AcceptWaveform(pcm))

    def partial(self) -> str:
        return str(json.loads(self._rec.PartialResult()).get("partial", ""))

    def result(self) -> tuple[str, list[Word]]:
        return self._parse(self._rec.Result())

    def final(self) -> tuple[str, list[Word]]:
        return self._parse(self._rec.FinalResult())

    @property
    def call_elapsed_s(self) -> float:
        return self.fed_s - self.origin_s

    def _parse(self, raw: str) -> tuple[str, list[Word]]:
        data = json.loads(raw)
        words = [
            Word(
                w["word"], max(0.0, w["start"] - self.origin_s), max(0.0, w["end"] - self.origin_s)
            )
            for w in data.get("result", [])
        ]
        return str(data.get("text", "")), words


class SpeechEngines:
    """Everything recognition needs in one process: models, warm recognisers, decode threads.

    Build one per gateway process and share it between all calls.
    """

    def __init__(self, config: SpeechConfig) -> None:
        self.config = config
        self.executor = PriorityExecutor(config.decode_threads, thread_name_prefix="asr")
        # Warming runs beside decoding, never queued in front of a live call's audio.
        self.warm_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr-warm")
        self._warm: dict[str, deque[VoskRecognizer]] = {}
        self._vosk_paths: dict[str, Path] = {}
        self._refills: set[asyncio.Future[Any]] = set()
        self._guarded: dict[str, GuardedWhisper] = {}
        self._closed = False

    async def run(self, fn: Any, *args: Any, urgency: Urgency = Urgency.FINAL,
                  **kwargs: Any) -> Any:
        """Run blocking decode work on the ASR threads, the most urgent first."""
        return await asyncio.wrap_future(
            self.executor.submit(fn, *args, urgency=urgency, **kwargs)
        )

    def crowded(self, at_most: Urgency = Urgency.PARTIAL) -> bool:
        """Is decode work of this urgency (or more urgent) waiting for a thread? Callers shed
        or cheapen optional work then."""
        return self.executor.waiting(at_most) > 0

    def busy(self) -> float:
        """Share of the last seconds the decode threads spent decoding (0..1)."""
        return self.executor.busy()

    async def start(self) -> None:
        """Load the default model(s) and fill the warm pool before the first call arrives."""
        spec = self.config.model()
        await self.run(spec.ready)
        if spec.engine == "vosk":
            await self.run(load_vosk_model, self.vosk_model_path(spec))
            # at start-up the decode threads are idle: warm in parallel on them
            warmed = await asyncio.gather(
                *(self.run(self._make_warm, spec) for _ in range(self.config.warm_recognizers))
            )
            self._warm.setdefault(spec.name, deque()).extend(warmed)
        else:
            guarded = await self.run(self.guarded, spec.name)
            await self.run(guarded.warm)

    def vosk_model_path(self, spec: ModelSpec) -> Path:
        """The folder Vosk loads for `spec`: the model itself, or its decoder-tuned twin."""
        path = self._vosk_paths.get(spec.name)
        if path is None:
            path = tuned_vosk_model(
                spec.path, self.config.vosk_decoder, self.config.model_cache_dir
            )
            self._vosk_paths[spec.name] = path
        return path

    def _make_warm(self, spec: ModelSpec) -> VoskRecognizer:
        recognizer = VoskRecognizer(spec, model_path=self.vosk_model_path(spec))
        recognizer.warm()
        return recognizer

    async def _add_warm(self, spec: ModelSpec) -> None:
        loop = asyncio.get_running_loop()
        recognizer = await loop.run_in_executor(self.warm_executor, self._make_warm, spec)
        if not self._closed:
            self._warm.setdefault(spec.name, deque()).append(recognizer)

    async def acquire_vosk(self, model_name: str | None = None) -> VoskRecognizer:
        """A warm recogniser for one call; the pool is topped up in the background."""
        spec = self.config.model(model_name)
        if spec.engine != "vosk":
            raise SpeechConfigError(f"model {spec.name!r} is not a vosk model")
        self.vosk_model_path(spec)  # resolve on the loop thread, before any worker needs it
        pool = self._warm.setdefault(spec.name, deque())
        recognizer = pool.popleft() if pool else None
        if recognizer is None:
            log.warning("warm pool for %s empty; warming one in the call path", spec.name)
            recognizer = await self.run(self._make_warm, spec)
        if self.config.warm_recognizers and not self._closed:
            refill = asyncio.ensure_future(self._add_warm(spec))
            self._refills.add(refill)
            refill.add_done_callback(self._refills.discard)
        return recognizer

    async def wait_warm(self) -> None:
        """Wait until background warming has finished (benchmarks, tests)."""
        while self._refills:
            await asyncio.gather(*list(self._refills), return_exceptions=True)

    @property
    def warm_count(self) -> int:
        return sum(len(pool) for pool in self._warm.values())

    def whisper(self, model_name: str | None = None) -> WhisperEngine:
        spec = self.config.model(model_name)
        if spec.engine != "whisper":
            raise SpeechConfigError(f"model {spec.name!r} is not a whisper model")
        return WhisperEngine(
            spec,
            cpu_threads=self.config.whisper_threads,
            compute_type=self.config.whisper_compute_type,
            beam_size=self.config.whisper_beam_size,
            min_context_s=self.config.whisper_min_context_s,
        )

    def guarded(self, model_name: str | None = None) -> GuardedWhisper:
        """The live-call whisper path for a model (one per model and process: loaded once)."""
        from telephony.speech.whisper import GuardedWhisper

        spec = self.config.model(model_name)
        with _load_lock:
            found = self._guarded.get(spec.name)
        if found is None:
            found = GuardedWhisper(
                self.whisper(spec.name),
                languages=self.config.languages,
                language_default=self.config.language_default,
                vocabulary=self.config.vocabulary,
            )
            with _load_lock:
                found = self._guarded.setdefault(spec.name, found)
        return found

    def close(self) -> None:
        """Synchronous shutdown (for callers without a loop); prefer `await aclose()`."""
        self._closed = True
        for refill in list(self._refills):
            refill.cancel()
        self._warm.clear()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.warm_executor.shutdown(wait=True, cancel_futures=True)

    async def aclose(self) -> None:
        self._closed = True
        for refill in list(self._refills):
            refill.cancel()
        await asyncio.gather(*self._refills, return_exceptions=True)
        self._warm.clear()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.warm_executor.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class WhisperSegment:
    start_s: float
    end_s: float
    text: str


class WhisperEngine:
    """faster-whisper on one utterance or a whole recording (16 kHz float input)."""

    def __init__(
        self,
        spec: ModelSpec,
        cpu_threads: int = 1,
        compute_type: str = "int8",
        beam_size: int = 5,
        min_context_s: float = DEFAULT_MIN_CONTEXT_S,
    ) -> None:
        spec.ready()
        self.spec = spec
        self.beam_size = beam_size
        self.model = load_whisper_model(spec.path, cpu_threads, compute_type, min_context_s)

    def transcribe_pcm(
        self, pcm: bytes, sample_rate: int, language: str | None = None, vad: bool = False
    ) -> list[WhisperSegment]:
        """Decode s16le mono PCM at any rate; offsets are seconds from the start of `pcm`."""
        audio = pcm16_to_float32(resample_pcm16(pcm, sample_rate, 16000))
        return self.transcribe(audio, language=language, vad=vad)

    def transcribe(
        self,
        audio: np.ndarray,
        language: str | None = None,
        vad: bool = False,
        temperature: float | tuple[float, ...] = 0.0,
    ) -> list[WhisperSegment]:
        """Greedy at temperature 0 by default: the same audio gives the same text (faster-whisper's
        fallback to sampling at higher temperatures made results vary between runs)."""
        if audio.size == 0:
            return []
        lang = language or (self.spec.language if self.spec.language != "und" else None)
        segments, _info = self.model.transcribe(
            audio,
            language=lang,
            beam_size=self.beam_size,
            vad_filter=vad,
            condition_on_previous_text=False,
            temperature=temperature,
        )
        return [
            WhisperSegment(round(s.start, 3), round(s.end, 3), s.text.strip())
            for s in segments
            if s.text.strip()
        ]
