"""Speech-test fixtures: the real models from PyPI packages and a Redis publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from telephony.speech import SpeechConfig, SpeechEngines
from tests.speech.helpers import RedisPublisher, require_model


@pytest.fixture
async def vosk_engines() -> AsyncIterator[SpeechEngines]:
    require_model("vosk-ko")
    engines = SpeechEngines(SpeechConfig.from_settings("vosk", warm_recognizers=2))
    await engines.start()
    yield engines
    await engines.aclose()


@pytest.fixture
async def whisper_engines() -> AsyncIterator[SpeechEngines]:
    require_model("whisper-tiny.en")
    engines = SpeechEngines(SpeechConfig.from_settings("whisper", warm_recognizers=0))
    await engines.start()
    yield engines
    await engines.aclose()


@pytest.fixture
async def publisher(redis_url: str) -> AsyncIterator[RedisPublisher]:
    pub = RedisPublisher(redis_url)
    yield pub
    await pub.client.aclose()
