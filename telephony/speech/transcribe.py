"""One audio file through exactly the live-call path (`helpline15 speech transcribe`).

The file is fed to a `TranscriptionSink` as a call would feed it (8 kHz telephone audio or any
rate), so the VAD, language choice, guards and local-agreement partials are the live ones.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from telephony.speech.audio import read_wav
from telephony.speech.engines import SpeechEngines
from telephony.speech.sink import TranscriptionSink

FRAME_S = 0.02


async def _discard(stream: str, event_type: str, data: dict[str, Any]) -> str:
    return "0-0"


async def transcribe_file(
    engines: SpeechEngines, path: str | Path, language: str | None = None
) -> dict[str, Any]:
    """`{language, text, text_roman, segments, rtf, duration_s, engine, model}` for one WAV.

    `language=None` (or "auto") detects it as a call would; `rtf` is CPU seconds (this
    process) per second of audio, `rtf_wall` the elapsed time per second.
    """
    pcm, rate = read_wav(path)
    forced = None if language in (None, "auto") else language
    if forced is not None and forced not in engines.config.languages:
        raise ValueError(f"language {forced!r} is not one of {engines.config.languages}")
    sink = TranscriptionSink(
        uuid.uuid4(), engines, _discard, sample_rate=rate, language=forced, paced_as_file=True
    )
    step = int(rate * FRAME_S) * 2
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for i in range(0, len(pcm), step):
        await sink.audio(pcm[i : i + step])
    await sink.closed("eof")
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    duration = len(pcm) / 2 / rate
    return {
        "file": str(path),
        "engine": sink.spec.engine,
        "model": sink.spec.name,
        "language": sink.language,
        "text": sink.text,
        "text_roman": " ".join(s.text_roman for s in sink.finals if s.text_roman),
        "segments": [
            {"start_s": s.start_s, "end_s": s.end_s, "text": s.text, "text_roman": s.text_roman}
            for s in sink.finals
        ],
        "partials": len(sink.partials),
        "duration_s": round(duration, 3),
        "rtf": round(cpu / duration, 3) if duration else None,
        "rtf_wall": round(wall / duration, 3) if duration else None,
    }
