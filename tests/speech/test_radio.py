"""Radio gateway: a receiver recording with real spoken clips and hiss between them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from telephony.radio import (
    RADIO_STREAM,
    AudioDeviceError,
    PcmStreamSource,
    PyAudioSource,
    RadioGateway,
    RadioLogEntry,
    WavSource,
    open_source,
    radio_publisher,
)
from telephony.speech import SpeechEngines, UtteranceTranscriber
from telephony.speech.audio import read_wav, write_wav
from telephony.speech.scoring import wer
from tests.speech.helpers import RedisPublisher, references, sample

GAP_S = 1.5


def _hiss(seconds: float, rate: int, seed: int) -> bytes:
    return np.random.default_rng(seed).normal(0, 40, int(seconds * rate)).astype("<i2").tobytes()


def _receiver_recording(path: Path, clips: list[str]) -> tuple[Path, list[float]]:
    parts, starts, t = [], [], 0.0
    for i, name in enumerate(clips):
        pcm, rate = read_wav(sample(name))
        parts += [_hiss(GAP_S, rate, i), pcm]
        starts.append(t + GAP_S)
        t += GAP_S + len(pcm) / 2 / rate
    parts.append(_hiss(GAP_S, rate, 99))
    return write_wav(path, b"".join(parts), rate), starts


@pytest.mark.slow
async def test_one_log_entry_per_transmission(
    whisper_engines: SpeechEngines, publisher: RedisPublisher, tmp_path: Path
) -> None:
    wav, starts = _receiver_recording(
        tmp_path / "rx.wav", ["en1_16k.wav", "en3_16k.wav", "en5_16k.wav"]
    )
    began = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    gateway = RadioGateway(
        WavSource(wav),
        channel="PRP Lahore ch.3",
        on_entry=radio_publisher(publisher),
        recordings_dir=tmp_path / "radio",
        transcribe=UtteranceTranscriber(whisper_engines),
        resolve_unit=lambda channel, text: "PRV-12" if "factory" in text.lower() else None,
        started_at=began,
    )
    stats = await gateway.run()

    assert stats.transmissions == 3 and stats.transcribe_errors == 0
    published = await publisher.read(RADIO_STREAM)
    assert [kind for kind, _ in published] == ["radio.transmission"] * 3
    assert [data for _, data in published] == [e.to_event() for e in stats.entries]
    refs = references()
    for entry, start, cid in zip(stats.entries, starts, ["en1", "en3", "en5"], strict=True):
        assert entry.channel == "PRP Lahore ch.3" and entry.engine == "whisper"
        assert abs(entry.offset_s - start) <= 0.25
        assert entry.started_at.tzinfo is UTC
        assert abs((entry.started_at - began).total_seconds() - entry.offset_s) < 1e-3
        pcm, rate = read_wav(entry.audio_path)
        clip, _ = read_wav(sample(f"{cid}_16k.wav"))
        assert rate == 16000 and abs(len(pcm) - len(clip)) / 2 / rate < 0.5
        assert wer(refs[cid], entry.text) <= 0.45, entry.text
    assert [e.unit_id for e in stats.entries] == [None, "PRV-12", None]


async def test_stream_source_without_transcriber_still_logs_audio(tmp_path: Path) -> None:
    wav, _ = _receiver_recording(tmp_path / "rx.wav", ["hi1_tel8k.wav", "ko2_tel8k.wav"])
    pcm, rate = read_wav(wav)
    reader = asyncio.StreamReader()
    for i in range(0, len(pcm), 999):  # odd-sized network reads
        reader.feed_data(pcm[i : i + 999])
    reader.feed_eof()
    entries: list[RadioLogEntry] = []

    async def keep(entry: RadioLogEntry) -> None:
        entries.append(entry)

    gateway = RadioGateway(
        PcmStreamSource(reader, rate),
        channel="ch1",
        on_entry=keep,
        recordings_dir=tmp_path / "radio",
    )
    stats = await gateway.run()
    assert stats.transmissions == 2 == len(entries)
    assert all(e.text == "" and Path(e.audio_path).exists() for e in entries)
    assert entries[0].audio_path != entries[1].audio_path


async def test_failing_transcriber_keeps_the_entry(tmp_path: Path) -> None:
    wav, _ = _receiver_recording(tmp_path / "rx.wav", ["en2_tel8k.wav"])
    entries: list[RadioLogEntry] = []

    async def broken(pcm: bytes, rate: int) -> str:
        raise RuntimeError("model crashed")

    async def keep(entry: RadioLogEntry) -> None:
        entries.append(entry)

    stats = await RadioGateway(
        WavSource(wav), channel="ch1", on_entry=keep, recordings_dir=tmp_path, transcribe=broken
    ).run()
    assert stats.transcribe_errors == 1 and len(entries) == 1
    assert "model crashed" in (entries[0].error or "") and Path(entries[0].audio_path).exists()


async def test_missing_sound_card_input_is_a_clear_error() -> None:
    source = PyAudioSource(device_index=4242)
    with pytest.raises(AudioDeviceError, match="input devices"):
        async for _frame in source.frames():
            break
    await source.aclose()


async def test_source_from_a_setting_over_tcp(tmp_path: Path) -> None:
    """`tcp:HOST:PORT` reads raw PCM from a network receiver until it hangs up."""
    pcm, rate = read_wav(sample("en5_tel8k.wav"))

    async def receiver(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_hiss(1.0, rate, 1) + pcm + _hiss(1.0, rate, 2))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(receiver, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    entries: list[RadioLogEntry] = []

    async def keep(entry: RadioLogEntry) -> None:
        entries.append(entry)

    try:
        source = await open_source(f"tcp:127.0.0.1:{port}", sample_rate=rate)
        await RadioGateway(source, channel="net", on_entry=keep, recordings_dir=tmp_path).run()
    finally:
        server.close()
        await server.wait_closed()
    assert len(entries) == 1 and abs(entries[0].offset_s - 1.0) <= 0.25
    with pytest.raises(ValueError, match="use pyaudio"):
        await open_source("rtsp://radio")
