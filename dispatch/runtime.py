"""Long-running processes that `dispatch` composes from the libraries (gateway, demo parts).

The libraries never import `dispatch`; here they are handed what they need: the event
publisher on Redis Streams, the speech engines, the settings.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path

import redis.asyncio as aioredis

from dispatch.events.streams import AsyncEventStreams
from dispatch.settings import Settings, SettingsError

log = logging.getLogger(__name__)


def speech_config(settings: Settings):  # type: ignore[no-untyped-def]
    from telephony.speech.config import SpeechConfig, SpeechConfigError

    try:
        return SpeechConfig.from_settings(asr_engine=settings.asr_engine,
                                          asr_model_path=settings.asr_model_path)
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
        on_call = make_transcription_sink_factory(engines, streams.publish)
    recordings = Path(settings.recordings_dir) if settings.recordings_dir else None
    try:
        await run_gateway(ami_host=settings.ami_host, ami_port=settings.ami_port,
                          ami_username=settings.ami_username, ami_secret=settings.ami_secret,
                          audiosocket_bind=settings.audiosocket_bind, publish=streams.publish,
                          recordings_dir=recordings, on_call=on_call, stop=stop)
    finally:
        if engines is not None and hasattr(engines, "close"):
            engines.close()
