"""Post-call transcript as an RQ job on the `asr` queue.

`transcribe_recording` is a plain module-level function so any RQ worker started with
`helpline15 worker asr` can import it; the whisper model loads once per worker process (and the
two-part default model is joined into the default cache dir on first use).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from telephony.speech.audio import read_wav
from telephony.speech.config import SpeechConfig

ASR_QUEUE = "asr"
JOB_TIMEOUT_S = 1800


async def _transcribe(config: SpeechConfig, wav_path: str, language: str | None) -> dict[str, Any]:
    from telephony.speech.engines import SpeechEngines
    from telephony.speech.transcribe import transcribe_file

    engines = SpeechEngines(config)
    try:
        return await transcribe_file(engines, wav_path, language)
    finally:
        await engines.aclose()


def transcribe_recording(
    wav_path: str,
    model_path: str | None = None,
    language: str | None = None,
    audiosocket_uuid: str | None = None,
    cpu_threads: int = 1,
    beam_size: int = 5,
    model_cache_dir: str | None = None,
    language_default: str | None = None,
    languages: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Whole-recording transcript through the live path's VAD, language choice and guards
    (no partials: nobody watches); the default multilingual model unless `model_path`.

    Returns `{audiosocket_uuid, wav_path, engine, model, language, duration_s, rtf, text,
    segments: [{seq, start_s, end_s, text, text_roman}]}`. `model_cache_dir`: where the
    two-part default model is joined (pass the gateway's `MODEL_CACHE_DIR`);
    `language_default` and `languages`: the deployment's `ASR_LANGUAGE` and `ASR_LANGUAGES`, so
    a call transcribed after hang-up is heard as a live one would have been.
    """
    options: dict[str, Any] = {}
    if model_cache_dir:
        options["model_cache_dir"] = model_cache_dir
    if language_default:
        options["language_default"] = language_default
    if languages:
        options["languages"] = tuple(languages)
    read_wav(wav_path)  # a clear error for a file that is not 16-bit mono WAV, before loading
    config = SpeechConfig.from_settings(
        "whisper",
        model_path,
        language=language or "und",
        whisper_threads=cpu_threads,
        whisper_beam_size=beam_size,
        partial_every_s=0,
        decode_threads=1,
        **options,  # type: ignore[arg-type]
    )
    result = asyncio.run(_transcribe(config, wav_path, language))
    spec = config.model()
    return {
        "audiosocket_uuid": audiosocket_uuid,
        "wav_path": str(wav_path),
        "engine": "whisper",
        "model": spec.name if model_path is None else str(spec.path),
        "language": result["language"],
        "duration_s": result["duration_s"],
        "rtf": result["rtf"],
        "text": result["text"],
        "segments": [{"seq": i, **s} for i, s in enumerate(result["segments"])],
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
