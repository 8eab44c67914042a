"""ASR benchmark, whisper part: the default engine (multilingual whisper base) on live calls.

Figures (one decode thread, CTranslate2 on one core, the Urdu telephone clips at line pace):
* `rtf` — CPU seconds (whole process) per second of call audio, partials included;
* `first_partial_s` — speech onset to the first partial (median over clips);
* `final_after_speech_s` — end of speech to the final (the line then stays silent);
* `concurrent_calls_per_core` — the most simultaneous calls whose first partial and final both
  stay within `LIVE_DELAY_S` and whose backlog at hang-up stays under 0.5 s (1, 2, 3, 4, 6);
* `memory_mb` — peak resident memory of the process;
* `cer_tel8k` — corpus CER on the clips, through the same path.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import time
import uuid
from dataclasses import replace
from typing import Any

from bench.asr import _clip, _play, _Recorder, _reference, _speech_bounds
from telephony.speech import SpeechConfig, SpeechEngines, TranscriptionSink
from telephony.speech.scoring import cer
from telephony.speech.transcribe import transcribe_file

URDU = ("ur1", "ur2", "ur3", "ur4", "ur5", "ur6")
LIVE_DELAY_S = 1.5


async def _one_call(engines: SpeechEngines, pcm: bytes) -> dict[str, Any]:
    onset, end = _speech_bounds(pcm)
    recorder = _Recorder()
    sink = TranscriptionSink(uuid.uuid4(), engines, recorder)
    start = await _play(sink, pcm + bytes(16000 * 2))  # then 2 s of silence on the line
    backlog = sink.backlog_s
    await sink.closed("bench")
    partials = [t for t, kind, _ in recorder.events if kind == "transcript.partial"]
    finals = [t for t, kind, _ in recorder.events if kind == "transcript.final"]
    return {
        "first_partial_s": partials[0] - (start + onset) if partials else None,
        "final_after_speech_s": finals[-1] - (start + end) if finals else None,
        "backlog_s": backlog,
        "text": sink.text,
    }


def _ok(call: dict[str, Any]) -> bool:
    return (
        call["first_partial_s"] is not None
        and call["final_after_speech_s"] is not None
        and call["first_partial_s"] <= LIVE_DELAY_S
        and call["final_after_speech_s"] <= LIVE_DELAY_S
        and call["backlog_s"] < 0.5
    )


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


async def _run(quick: bool, model: str | None) -> dict[str, Any]:
    config = SpeechConfig.from_settings("whisper", decode_threads=1)
    if model:
        config = replace(config, default_model=model)
    engines = SpeechEngines(config)
    t0 = time.perf_counter()
    await engines.start()
    startup = time.perf_counter() - t0
    names = URDU[:2] if quick else URDU
    try:
        cpu0, audio = time.process_time(), 0.0
        errors, size = 0.0, 0
        for name in names:
            result = await transcribe_file(engines, _sample_path(name))
            audio += result["duration_s"]
            ref = _reference(name)
            errors += cer(ref, result["text"]) * len(ref.replace(" ", ""))
            size += len(ref.replace(" ", ""))
        rtf = (time.process_time() - cpu0) / audio
        alone = [await _one_call(engines, _clip(f"{n}_tel8k.wav")) for n in names]
        tried, best = [], 0
        for n in (2,) if quick else (1, 2, 3, 4, 6):
            pcm = _clip(f"{names[0]}_tel8k.wav")
            calls = await asyncio.gather(*(_one_call(engines, pcm) for _ in range(n)))
            good = all(_ok(c) for c in calls)
            tried.append({
                "calls": n,
                "first_partial_s": _median([c["first_partial_s"] for c in calls]),
                "final_after_speech_s": _median([c["final_after_speech_s"] for c in calls]),
                "backlog_s": round(max(c["backlog_s"] for c in calls), 3),
            })
            if not good:
                break
            best = n
    finally:
        await engines.aclose()
    spec = config.model()
    return {
        "engine": "whisper",
        "model": spec.name,
        "rtf": round(rtf, 3),
        "first_partial_s": _median([c["first_partial_s"] for c in alone]),
        "final_after_speech_s": _median([c["final_after_speech_s"] for c in alone]),
        "concurrent_calls_per_core": best,
        "concurrency_trials": tried,
        "memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "cer_tel8k": round(errors / size, 3),
        "startup_s": round(startup, 2),
        "load_average": round(os.getloadavg()[0], 2),
        "quick": quick,
    }


def _sample_path(name: str) -> Any:
    from bench.asr import SAMPLES

    return SAMPLES / "speech" / "samples" / f"{name}_tel8k.wav"


def run(quick: bool = False, model: str | None = None) -> dict[str, Any]:
    return asyncio.run(_run(quick, model))
