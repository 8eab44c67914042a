"""ASR benchmark. The default engine (multilingual whisper) is measured by `bench/asr_whisper.py`;
`--engine vosk` gives the Vosk figures below, `--engine whisper-tiny.en` another whisper model.

Vosk streaming cost and latency on the real Korean model and clips.

Figures (JSON keys as INTERFACE.md):
* `rtf` — CPU seconds per second of call audio for one warm stream (CPU time, so other tenants
  of a shared machine do not inflate it; `rtf_wall` is the wall-clock figure);
* `concurrent_calls_per_core` — the most line-paced calls one decode thread kept up with
  (undecoded audio under 0.5 s at hang-up of an 11 s call), trying 1, 2, 3, 4, 6, 8, ...;
* `first_partial_s` — from speech onset to the first partial event (median over clips);
* `final_latency_s` — from end of speech (then silence, as on a real line) to the final event.

The full run repeats the Vosk figures with the tuned decoder (`tuned`, max-active 1000, beam 8)
and adds whisper tiny.en's RTF and WER (`whisper`). `load_average` is recorded because these
figures are taken on a machine shared with other work.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from telephony.speech import SpeechConfig, SpeechEngines, TranscriptionSink
from telephony.speech.audio import read_wav, rms_dbfs
from telephony.speech.scoring import cer, wer

SAMPLES = Path(
    os.environ.get("H15_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data")
)
FRAME = 320  # 20 ms at 8 kHz
KOREAN = ("ko1", "ko2", "ko3")


def _clip(name: str) -> bytes:
    pcm, rate = read_wav(SAMPLES / "speech" / "samples" / name)
    if rate != 8000:
        raise ValueError(f"{name}: expected 8 kHz")
    return pcm


def _speech_bounds(pcm: bytes, threshold_dbfs: float = -40.0) -> tuple[float, float]:
    voiced = [
        i for i in range(0, len(pcm), FRAME) if rms_dbfs(pcm[i : i + FRAME]) >= threshold_dbfs
    ]
    return voiced[0] / 16000, (voiced[-1] + FRAME) / 16000


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[float, str, dict[str, Any]]] = []

    async def __call__(self, stream: str, event_type: str, data: dict[str, Any]) -> str:
        self.events.append((time.monotonic(), event_type, data))
        return str(len(self.events))


async def _play(sink: TranscriptionSink, pcm: bytes, paced: bool = True) -> float:
    """Feed like the AudioSocket server; returns the monotonic time the audio started."""
    loop = asyncio.get_running_loop()
    start = due = loop.time()
    for i in range(0, len(pcm), FRAME):
        await sink.audio(pcm[i : i + FRAME])
        if paced:
            due += 0.02
            await asyncio.sleep(max(0.0, due - loop.time()))
    return start


async def _rtf(engines: SpeechEngines, clips: list[bytes]) -> tuple[float, float]:
    cpu = wall = audio = 0.0
    for pcm in clips:
        await engines.wait_warm()
        sink = TranscriptionSink(uuid.uuid4(), engines, _Recorder())
        w0 = time.perf_counter()
        await _play(sink, pcm, paced=False)
        await sink.closed("bench")
        wall += time.perf_counter() - w0
        cpu += sink.decode_cpu_s
        audio += len(pcm) / 16000
    return cpu / audio, wall / audio


async def _latency(engines: SpeechEngines, names: tuple[str, ...]) -> dict[str, Any]:
    firsts, finals, errors = [], [], []
    for name in names:
        pcm = _clip(f"{name}_tel8k.wav")
        onset, end = _speech_bounds(pcm)
        recorder = _Recorder()
        await engines.wait_warm()
        sink = TranscriptionSink(uuid.uuid4(), engines, recorder)
        start = await _play(sink, pcm + bytes(16000 * 3))  # the caller then stays silent 3 s
        await sink.closed("bench")
        partials = [t for t, kind, _ in recorder.events if kind == "transcript.partial"]
        final = [t for t, kind, _ in recorder.events if kind == "transcript.final"]
        if partials:
            firsts.append(partials[0] - (start + onset))
        if final:
            finals.append(final[0] - (start + end))
        errors.append(cer(_reference(name), sink.text))
    return {
        "first_partial_s": round(statistics.median(firsts), 3) if firsts else None,
        "final_latency_s": round(statistics.median(finals), 3) if finals else None,
        "korean_cer": round(statistics.mean(errors), 3),
    }


async def _keeps_up(engines: SpeechEngines, n: int, pcm: bytes) -> float:
    """Worst decode backlog (seconds of audio waiting) at hang-up across `n` line-paced calls."""
    await engines.wait_warm()
    sinks = [TranscriptionSink(uuid.uuid4(), engines, _Recorder()) for _ in range(n)]
    await asyncio.gather(*(_play(s, pcm) for s in sinks))
    backlog = max(s.backlog_s for s in sinks)
    await asyncio.gather(*(s.closed("bench") for s in sinks))
    return backlog


def _reference(cid: str) -> str:
    manifest = SAMPLES / "speech" / "samples" / "manifest.tsv"
    for line in manifest.read_text(encoding="utf-8").splitlines()[1:]:
        fields = line.split("\t")
        if fields[0] == cid:
            return fields[5]
    raise KeyError(cid)


def _whisper_rtf() -> dict[str, Any]:
    engines = SpeechEngines(SpeechConfig.from_settings("whisper"))
    engine = engines.whisper()
    cpu = audio = 0.0
    errors = []
    for i in range(1, 6):
        pcm, rate = read_wav(SAMPLES / "speech" / "samples" / f"en{i}_16k.wav")
        c0 = time.process_time()
        text = " ".join(p.text for p in engine.transcribe_pcm(pcm, rate))
        cpu += time.process_time() - c0
        audio += len(pcm) / 2 / rate
        errors.append(wer(_reference(f"en{i}"), text))
    engines.executor.shutdown()
    return {
        "model": "whisper-tiny.en",
        "rtf": round(cpu / audio, 3),
        "wer_16k": round(statistics.mean(errors), 3),
    }


TUNED_DECODER = {"max-active": "1000", "beam": "8.0"}


async def _measure(quick: bool, decoder: dict[str, str], latency: bool) -> dict[str, Any]:
    trials = (2,) if quick else (1, 2, 3, 4, 6, 8, 10)
    config = SpeechConfig.from_settings(
        "vosk", warm_recognizers=max(trials), decode_threads=1, vosk_decoder=decoder
    )
    engines = SpeechEngines(config)
    t0 = time.perf_counter()
    await engines.start()
    startup = time.perf_counter() - t0
    try:
        names = KOREAN[:1] if quick else KOREAN
        clips = [_clip(f"{n}_tel8k.wav") for n in names]
        rtf_cpu, rtf_wall = await _rtf(engines, clips)
        figures = await _latency(engines, names) if latency else {}
        call = b"".join(clips)
        tried: list[dict[str, Any]] = []
        best = 0
        for n in trials:
            backlog = await _keeps_up(engines, n, call)
            tried.append({"calls": n, "backlog_s": round(backlog, 3)})
            if backlog > 0.5:
                break
            best = n
    finally:
        await engines.aclose()
    return {
        "rtf": round(rtf_cpu, 3),
        "rtf_wall": round(rtf_wall, 3),
        "concurrent_calls_per_core": best,
        "concurrency_trials": tried,
        **figures,
        "startup_s": round(startup, 2),
        "audio_s_per_call": round(len(call) / 16000, 2),
    }


async def _run(quick: bool) -> dict[str, Any]:
    import resource

    result: dict[str, Any] = {"engine": "vosk", "model": "vosk-ko", "quick": quick}
    result.update(await _measure(quick, {}, latency=True))
    result["final_after_speech_s"] = result.get("final_latency_s")
    result["memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["load_average"] = round(os.getloadavg()[0], 2)
    if not quick:
        result["tuned"] = {"decoder": TUNED_DECODER, **await _measure(quick, TUNED_DECODER, True)}
        result["whisper"] = _whisper_rtf()
    return result


def run(quick: bool = False, engine: str | None = None) -> dict[str, Any]:
    """Measure the default engine, or `engine` ("vosk", or a whisper model name such as
    "whisper-tiny.en"); `quick` is a short smoke run."""
    if engine == "vosk":
        return asyncio.run(_run(quick))
    from bench.asr_whisper import run as run_whisper

    return run_whisper(quick, None if engine in (None, "whisper") else engine)


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), ensure_ascii=False))  # default engine
