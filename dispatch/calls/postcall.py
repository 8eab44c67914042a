"""Post-call transcripts for the calls live recognition could not follow (``LiveCapacity``).

The gateway queues :func:`transcribe_and_publish` on the RQ ``asr`` queue when such a call ends;
any ``helpline15 worker asr`` runs it: a whole-recording whisper pass, whose segments go to
``h15:transcripts`` as finals, exactly as live ones do, and a ``call.transcript_mode`` event
(``post_call``) tells the console the call's transcript is complete.
"""

from __future__ import annotations

from typing import Any

from dispatch.events.streams import CALLS, TRANSCRIPTS, EventStreams

TRANSCRIPT_MODE_EVENT = "call.transcript_mode"


def _worker_model_cache() -> str | None:
    """This worker's own model cache (its H15_HOME or MODEL_CACHE_DIR): workers may run on
    other machines than the gateway; None (the per-user cache) when its settings are unset."""
    from dispatch.runtime import speech_options
    from dispatch.settings import SettingsError, load_settings

    try:
        return str(speech_options(load_settings())["model_cache_dir"])
    except SettingsError:
        return None


def transcribe_and_publish(wav_path: str, audiosocket_uuid: str, redis_url: str,
                           model_path: str | None = None, language_default: str | None = None,
                           languages: list[str] | None = None) -> dict[str, Any]:
    """The RQ job: transcribe one recording, heard in the gateway's languages, and publish its
    segments."""
    import redis

    from telephony.speech.jobs import transcribe_recording

    result = transcribe_recording(wav_path, model_path=model_path,
                                  audiosocket_uuid=audiosocket_uuid,
                                  model_cache_dir=_worker_model_cache(),
                                  language_default=language_default, languages=languages)
    client = redis.Redis.from_url(redis_url)
    try:
        streams = EventStreams(client)
        for segment in result["segments"]:
            streams.publish(TRANSCRIPTS, "transcript.final", {
                "audiosocket_uuid": audiosocket_uuid, "seq": segment["seq"],
                "text": segment["text"].strip(), "start_s": segment["start_s"],
                "end_s": segment["end_s"], "engine": f"{result['engine']} (post-call)",
                "event_id": f"{audiosocket_uuid}:post-call:{segment['seq']}"})
        streams.publish(CALLS, TRANSCRIPT_MODE_EVENT, {
            "audiosocket_uuid": audiosocket_uuid, "mode": "post_call",
            "event_id": f"{audiosocket_uuid}:transcript_mode:post_call"})
    finally:
        client.close()
    return result


def enqueue_post_call(connection: Any, *, wav_path: str, audiosocket_uuid: str,
                      redis_url: str, model_path: str | None = None,
                      language_default: str | None = None,
                      languages: tuple[str, ...] | None = None) -> Any:
    """Queue :func:`transcribe_and_publish` on ``asr`` (one job per call)."""
    from rq import Queue

    from telephony.speech.jobs import ASR_QUEUE, JOB_TIMEOUT_S

    return Queue(ASR_QUEUE, connection=connection).enqueue_call(
        transcribe_and_publish, args=(wav_path, audiosocket_uuid, redis_url),
        kwargs={"model_path": model_path, "language_default": language_default,
                "languages": list(languages) if languages else None}, timeout=JOB_TIMEOUT_S,
        result_ttl=7 * 24 * 3600, failure_ttl=7 * 24 * 3600,
        job_id=f"asr-post-call-{audiosocket_uuid}")
