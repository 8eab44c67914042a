"""The transcription sink's contract with the AudioSocket server, on the real Vosk model."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from telephony.speech import SpeechEngines, TranscriptionSink, make_transcription_sink_factory
from telephony.speech.audio import read_wav
from tests.speech.helpers import sample


async def test_failed_publish_loses_no_words_and_odd_chunks_are_fine(
    vosk_engines: SpeechEngines,
) -> None:
    pcm = read_wav(sample("ko2_tel8k.wav"))[0] + read_wav(sample("ko1_tel8k.wav"))[0]
    delivered: list[tuple[str, dict[str, Any]]] = []
    calls = 0

    async def flaky(stream: str, event_type: str, data: dict[str, Any]) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("redis down")
        delivered.append((event_type, data))
        return f"{calls}-0"

    sink = TranscriptionSink(uuid.uuid4(), vosk_engines, flaky)
    for i in range(0, len(pcm), 333):  # odd sizes: a sample split across two chunks
        await sink.audio(pcm[i : i + 333])  # never yields: 8 s arrive before any decoding
    assert sink.backlog_warnings == 1
    assert sink.received_s == pytest.approx(len(pcm) / 16000)
    await sink.dtmf("5")
    await sink.closed("eof")
    await sink.audio(b"\x00\x00" * 160)

    assert sink.publish_failures == 1
    assert sink.text and sink.finals[-1].kind == "final"
    assert delivered[-1][0] == "transcript.final"
    assert len(delivered) == len(sink.partials) + len(sink.finals) - 1
    assert sink.dtmf_digits == ["5"] and sink.audio_after_close == 1
    assert sink.decode_cpu_s > 0


async def test_factory_picks_the_model_per_call(vosk_engines: SpeechEngines) -> None:
    async def publish(stream: str, event_type: str, data: dict[str, Any]) -> str:
        return "0-0"

    chosen: list[uuid.UUID] = []

    def choose(call_id: uuid.UUID) -> str:
        chosen.append(call_id)
        return "vosk-ko"

    factory = make_transcription_sink_factory(vosk_engines, publish, choose_model=choose)
    call_id = uuid.uuid4()
    sink = factory(call_id)
    assert chosen == [call_id] and sink.spec.name == "vosk-ko"
    await sink.closed("eof")  # a call with no audio at all ends cleanly, with no transcript
    assert sink.done and sink.finals == []
