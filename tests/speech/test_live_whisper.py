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


async def _file_call(engines: SpeechEngines, pcm: bytes) -> TranscriptionSink:
    async def discard(stream: str, event_type: str, data: dict[str, Any]) -> str:
        return "0-0"

    sink = TranscriptionSink(uuid.uuid4(), engines, discard, paced_as_file=True)
    for i in range(0, len(pcm), 320):
        await sink.audio(pcm[i : i + 320])
    await sink.closed("test")
    return sink


def _speech_only(name: str) -> bytes:
    from bench.asr import _speech_bounds

    pcm, _ = read_wav(sample(name))
    onset, end = _speech_bounds(pcm)
    return pcm[int(onset * 8000) * 2 : int(end * 8000) * 2]


async def test_the_final_is_decoded_in_the_pause_and_dropped_when_the_caller_goes_on(
    multilingual_engines: SpeechEngines, monkeypatch: Any
) -> None:
    """The final is decoded while the pause runs towards the VAD's hang time (so it is out as
    soon as the VAD closes the utterance) and says exactly what a decode after the close says;
    a pause the caller talks through drops that decode and the final covers all the speech."""
    from telephony.speech.live import LiveWhisper

    first, second = _speech_only("ur1_tel8k.wav"), _speech_only("ur4_tel8k.wav")
    tail = bytes(2 * 8000 * 2)
    ahead = await _file_call(multilingual_engines, first + tail)
    assert ahead.live is not None and ahead.live.decoded_ahead == ahead.live.finals_ahead == 1
    with monkeypatch.context() as patch:
        patch.setattr(LiveWhisper, "wants_ahead", lambda self, pending: False)
        after = await _file_call(multilingual_engines, first + tail)
    assert after.live is not None and after.live.finals_ahead == 0
    assert [s.text for s in ahead.finals] == [s.text for s in after.finals] != []

    pause = bytes(int(0.45 * 8000) * 2)  # past PAUSE_S, short of the 0.6 s hang time
    talked_on = await _file_call(multilingual_engines, first + pause + second + tail)
    assert talked_on.live is not None
    assert len(talked_on.finals) == 1 and talked_on.finals[0].end_s > len(first) / 16000 + 0.45
    assert talked_on.live.decoded_ahead == 2 and talked_on.live.finals_ahead == 1


async def test_a_final_started_while_others_wait_is_greedy_and_says_so(
    multilingual_engines: SpeechEngines,
) -> None:
    """Under load a final decodes greedily (as a partial does) instead of with the beam."""
    from telephony.speech.live import LiveWhisper
    from telephony.speech.vad import Utterance

    pcm = _speech_only("ur3_tel8k.wav")
    whisper = multilingual_engines.guarded()
    utterance = Utterance(start_s=0.0, end_s=len(pcm) / 16000, pcm=pcm, sample_rate=8000)
    calm = LiveWhisper(whisper, "ur")
    busy = LiveWhisper(whisper, "ur", hurry=lambda: True)
    calm_words, _ = await multilingual_engines.run(calm.final, utterance)
    busy_words, _ = await multilingual_engines.run(busy.final, utterance)
    greedy = await multilingual_engines.run(whisper.decode_pcm, pcm, 8000, "ur", "", 1)
    assert (calm.finals_hurried, busy.finals_hurried) == (0, 1)
    assert busy_words == greedy.words and busy_words  # the greedy decode, not the beam's
    assert calm_words
