"""Speech-test fixtures: the real models from PyPI packages and a Redis publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from telephony.speech import SpeechConfig, SpeechEngines
from tests.speech.helpers import RedisPublisher, require_model


async def _started(model: str, engine: str, warm: int) -> AsyncIterator[SpeechEngines]:
    require_model(model)
    config = SpeechConfig.from_settings(engine, warm_recognizers=warm)
    engines = SpeechEngines(replace(config, default_model=model))
    await engines.start()
    yield engines
    await engines.aclose()


@pytest.fixture
async def vosk_engines() -> AsyncIterator[SpeechEngines]:
    async for engines in _started("vosk-ko", "vosk", warm=2):
        yield engines


@pytest.fixture
async def whisper_engines() -> AsyncIterator[SpeechEngines]:
    async for engines in _started("whisper-tiny.en", "whisper", warm=0):
        yield engines


@pytest.fixture
async def multilingual_engines() -> AsyncIterator[SpeechEngines]:
    """The default engine: multilingual whisper base, joined from its two packages."""
    async for engines in _started("whisper-base", "whisper", warm=0):
        yield engines


@pytest.fixture
async def publisher(redis_url: str) -> AsyncIterator[RedisPublisher]:
    pub = RedisPublisher(redis_url)
    yield pub
    await pub.client.aclose()
