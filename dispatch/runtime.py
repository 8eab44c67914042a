"""Long-running processes that `dispatch` composes from the libraries (gateway, demo parts).

The libraries never import `dispatch`; here they are handed what they need: the event
publisher on Redis Streams, the speech engines, the settings.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from dispatch.events.streams import CALLS, TELEPHONY, AsyncEventStreams
from dispatch.settings import Settings, SettingsError

log = logging.getLogger(__name__)


def speech_options(settings: Settings) -> dict[str, Any]:
    """Where split models are joined (H15_HOME unless MODEL_CACHE_DIR says) and which languages
    callers speak: one reading for live calls and for post-call transcripts alike."""
    return {"model_cache_dir": Path(settings.model_cache_dir or Path(settings.home) / "models"),
            "language_default": settings.asr_language,
            "languages": tuple(x.strip() for x in settings.asr_languages.split(",") if x.strip())}


def speech_config(settings: Settings):  # type: ignore[no-untyped-def]
    from telephony.speech.config import SpeechConfig, SpeechConfigError

    try:
        return SpeechConfig.from_settings(
            asr_engine=settings.asr_engine, asr_model_path=settings.asr_model_path,
            **speech_options(settings))
    except SpeechConfigError as exc:
        raise SettingsError(str(exc)) from None



def freeze_startup_heap() -> None:
    """Move everything allocated while starting (about 230,000 objects: the web framework,
    SQLAlchemy, the map and speech libraries) out of the garbage collector's sight.

    A full collection over that heap took ~110 ms, an all-process pause that appeared as the
    p99 of GPS pings and call pops; objects created while serving are still collected.
    """
    gc.collect()
    gc.freeze()

async def run_gateway_process(settings: Settings, client: aioredis.Redis,
                              stop: asyncio.Event, *, with_speech: bool = True) -> None:
    """AMI + AudioSocket + live transcription, publishing to the Redis streams."""
    from telephony.gateway import run_gateway

    if not settings.ami_secret:
        raise SettingsError("AMI_SECRET is not set: the gateway cannot log in to Asterisk")
    streams = AsyncEventStreams(client)
    on_call = None
    engines = None
    if with_speech:
        from telephony.speech.engines import SpeechEngines
        from telephony.speech.sink import make_transcription_sink_factory

        engines = SpeechEngines(speech_config(settings))
        await engines.start()
        on_call = post_call_overflow(
            make_transcription_sink_factory(engines, streams.publish), settings, streams)
    recordings = Path(settings.recordings_dir) if settings.recordings_dir else None
    try:
        await run_gateway(ami_host=settings.ami_host, ami_port=settings.ami_port,
                          ami_username=settings.ami_username, ami_secret=settings.ami_secret,
                          audiosocket_bind=settings.audiosocket_bind, publish=streams.publish,
                          recordings_dir=recordings, on_call=on_call, stop=stop,
                          commands=lambda gateway: read_telephony_commands(streams, gateway))
    finally:
        if engines is not None and hasattr(engines, "close"):
            engines.close()


async def read_telephony_commands(streams: AsyncEventStreams, gateway) -> None:  # type: ignore[no-untyped-def]
    """Hand ``h15:telephony`` commands (an SHO rung into a call) to the gateway.

    Acknowledged on receipt, before they run: a phone rung twice after a gateway restart is
    worse than a request the console sees fail (it reports every outcome) and can repeat.
    """
    group, consumer = "gateway", f"gateway-{os.getpid()}"
    running: set[asyncio.Task] = set()

    async def run(event_type: str, data: dict) -> None:
        try:
            await gateway.handle_command(event_type, data)
        except Exception:
            log.exception("telephony command %s failed: %r", event_type, data)

    grouped = False
    while True:
        try:
            if not grouped:
                await streams.ensure_group(TELEPHONY, group)
                grouped = True
            events = await streams.consume(TELEPHONY, group, consumer, block_ms=1000)
            for event in events:
                await streams.ack(TELEPHONY, group, event.id)
                task = asyncio.create_task(run(event.type, event.data))
                running.add(task)
                task.add_done_callback(running.discard)
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            raise
        except Exception:
            log.exception("reading telephony commands failed; retrying in 1 s")
            await asyncio.sleep(1.0)


def post_call_overflow(on_call, settings: Settings, streams: AsyncEventStreams):  # type: ignore[no-untyped-def]
    """Live recognition for ``ASR_LIVE_CALLS`` calls at once; the rest after hang-up (RQ)."""
    import uuid

    from dispatch.calls.postcall import TRANSCRIPT_MODE_EVENT, enqueue_post_call
    from dispatch.events.redis_client import make_redis
    from telephony.capacity import LiveCapacity

    queue_connection = make_redis(settings.redis_url)  # memory:// (the demo) included
    options = speech_options(settings)
    recordings = Path(settings.recordings_dir)

    async def on_mode(call_id: uuid.UUID, mode: str) -> None:
        await streams.publish(CALLS, TRANSCRIPT_MODE_EVENT, {
            "audiosocket_uuid": str(call_id), "mode": mode,
            "event_id": f"{call_id}:transcript_mode:{mode}"})

    async def on_overflow(call_id: uuid.UUID) -> None:
        await asyncio.to_thread(
            enqueue_post_call, queue_connection, wav_path=str(recordings / f"{call_id}.wav"),
            audiosocket_uuid=str(call_id), redis_url=settings.redis_url,
            model_path=settings.asr_model_path if settings.asr_engine == "whisper" else None,
            language_default=options["language_default"], languages=options["languages"])

    return LiveCapacity(on_call, limit=settings.asr_live_calls, on_overflow=on_overflow,
                        on_mode=on_mode)
