"""A live Urdu call with the default engine, through the Asterisk emulator and AudioSocket.

The emulator streams at line pace (20 ms frames, real time), so partials must appear while
the caller still speaks; silence and line noise must give nothing at all.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import numpy as np
from scipy.signal import butter, sosfilt

from telephony.audiosocket import AudioSocketServer
from telephony.speech import SpeechEngines, TranscriptionSink, make_transcription_sink_factory
from telephony.speech.audio import read_wav
from tests.speech.helpers import RedisPublisher, call_through_emulator, sample


def line_noise(seconds: float, rate: int = 8000) -> bytes:
    """Telephone hiss (300-3400 Hz, about -30 dBFS) with 50 Hz mains hum and a few clicks."""
    rng = np.random.default_rng(16)
    n = int(seconds * rate)
    hiss = sosfilt(butter(4, [300, 3400], "bandpass", fs=rate, output="sos"), rng.normal(0, 1, n))
    signal = 1000 * hiss / np.std(hiss) + 600 * np.sin(2 * np.pi * 50 * np.arange(n) / rate)
    signal[rng.integers(0, n, 12)] += 8000
    return np.clip(signal, -32768, 32767).astype("<i2").tobytes()


async def _calls(
    engines: SpeechEngines, publisher: RedisPublisher, pcms: list[bytes]
) -> tuple[dict[str, list[tuple[float, str, dict[str, Any]]]], list[str], float]:
    """Place the calls at once; events per call with their arrival time."""
    arrivals: list[tuple[float, str, dict[str, Any]]] = []

    async def publish(stream: str, event_type: str, data: dict[str, Any]) -> str:
        arrivals.append((time.monotonic(), event_type, data))
        return await publisher(stream, event_type, data)

    sinks: dict[uuid.UUID, TranscriptionSink] = {}
    factory = make_transcription_sink_factory(engines, publish)

    def on_call(call_id: uuid.UUID) -> TranscriptionSink:
        sinks[call_id] = factory(call_id)
        return sinks[call_id]

    server = AudioSocketServer("127.0.0.1:0", on_call=on_call)  # type: ignore[arg-type]
    await server.start()
    started = time.monotonic()
    try:
        uuids = await call_through_emulator(server.port, pcms)
        for _ in range(600):
            if len(sinks) == len(pcms) and all(s.done for s in sinks.values()):
                break
            await asyncio.sleep(0.05)
    finally:
        await server.stop()
    by_call: dict[str, list[tuple[float, str, dict[str, Any]]]] = {u: [] for u in uuids}
    for event in arrivals:
        by_call[event[2]["audiosocket_uuid"]].append(event)
    return by_call, uuids, started


async def test_urdu_call_shows_partials_before_the_final_and_noise_gives_nothing(
    multilingual_engines: SpeechEngines, publisher: RedisPublisher
) -> None:
    speech, rate = read_wav(sample("ur1_tel8k.wav"))
    assert rate == 8000
    silence = bytes(10 * 8000 * 2)
    by_call, (talk, quiet, noisy), _ = await _calls(
        multilingual_engines, publisher, [speech + bytes(2 * 8000 * 2), silence, line_noise(10)]
    )
    assert by_call[quiet] == [], "10 s of silence must not be transcribed"
    assert by_call[noisy] == [], f"10 s of line noise must not be transcribed: {by_call[noisy]}"

    events = by_call[talk]
    kinds = [kind for _, kind, _ in events]
    assert kinds[0] == "transcript.partial" and "transcript.final" in kinds, kinds
    final = next(d for _, k, d in events if k == "transcript.final")
    assert final["language"] == "ur" and final["text_roman"]
    partials = [d for _, k, d in events if k == "transcript.partial" and d["seq"] == final["seq"]]
    assert [p["revision"] for p in partials] == list(range(1, len(partials) + 1))
    # no decode is spent on the pause that ends the utterance (the final ends 0.15 s after the
    # last word, the VAD closes it 0.6 s after): it would only delay the final
    assert all(p["end_s"] <= final["end_s"] + 0.25 for p in partials), (partials, final)
    # committed words are never rewritten: each partial's agreed words start the final
    texts = [p["text"].split() for p in partials] + [final["text"].split()]
    committed: list[str] = []
    for earlier, later in zip(texts, texts[1:], strict=False):
        assert later[: len(committed)] == committed, (committed, later)
        n = 0
        while n < min(len(earlier), len(later)) and earlier[n] == later[n]:
            n += 1
        committed = later[: max(n, len(committed))]
    stored = await publisher.read("h15:transcripts")
    assert [d["event_id"] for _, d in stored] == [d["event_id"] for _, _, d in events]
