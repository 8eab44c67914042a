"""The AudioSocket server: frames, faults, slow recognisers, silence keep-alive, recording."""

from __future__ import annotations

import asyncio
import uuid
import wave
from pathlib import Path

import pytest

from telephony.audiosocket import (
    HANGUP_FRAME,
    KIND_AUDIO,
    KIND_DTMF,
    KIND_ERROR,
    KIND_UUID,
    SILENCE_FRAME,
    AudioSocketServer,
    encode_frame,
)
from telephony.emulator import AsteriskEmulator, read_wav_pcm
from tests.conftest import require_data
from tests.telephony.helpers import PROMPT, RecordingSink


async def started_server(tmp_path: Path | None = None, **options) -> tuple[AudioSocketServer, dict]:
    sinks: dict[uuid.UUID, RecordingSink] = {}
    delay = options.pop("sink_delay", 0.0)
    server = AudioSocketServer(
        "127.0.0.1:0",
        on_call=lambda u: sinks.setdefault(u, RecordingSink(delay)),
        recordings_dir=tmp_path,
        **options,
    )
    await server.start()
    return server, sinks


async def sink_for(sinks: dict, call_uuid: uuid.UUID) -> RecordingSink:
    """The sink of a call, once the server has read its UUID frame."""
    for _ in range(500):
        if call_uuid in sinks:
            return sinks[call_uuid]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no call {call_uuid} reached the server")


async def raw_call(port: int, payload: bytes) -> bytes:
    """Send raw bytes as Asterisk would, then read what the server sends until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    writer.write_eof()  # Asterisk closes its side when the call ends
    received = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return received


async def test_frames_are_parsed_and_recorded_across_arbitrary_tcp_splits(tmp_path: Path) -> None:
    server, sinks = await started_server(tmp_path, send_silence=False)
    call_uuid = uuid.uuid4()
    pcm = read_wav_pcm(require_data(PROMPT))[:6400]
    wire = encode_frame(KIND_UUID, call_uuid.bytes)
    wire += b"".join(encode_frame(KIND_AUDIO, pcm[i : i + 320]) for i in range(0, len(pcm), 320))
    wire += encode_frame(KIND_DTMF, b"#")
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    for start in range(0, len(wire), 7):  # 7-byte pieces split every header and payload
        writer.write(wire[start : start + 7])
        await asyncio.sleep(0)  # same loop: the server reads each piece on its own
    writer.close()
    await asyncio.wait_for((await sink_for(sinks, call_uuid)).done.wait(), 5)
    await server.stop()
    sink = sinks[call_uuid]
    assert bytes(sink.pcm) == pcm and sink.digits == ["#"] and sink.reason == "eof"
    with wave.open(str(tmp_path / f"{call_uuid}.wav")) as recording:
        assert recording.getframerate() == 8000 and recording.readframes(10**6) == pcm
    assert server.stats.audio_frames == 20 and server.stats.malformed_frames == 0


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (encode_frame(0x7E, b"junk"), "unknown frame kind 0x7e"),
        (encode_frame(KIND_UUID, b"short"), "UUID frame of 5 bytes"),
        (encode_frame(KIND_AUDIO, bytes(320)), "audio before the UUID frame"),
        (
            encode_frame(KIND_UUID, uuid.uuid4().bytes) + encode_frame(KIND_AUDIO, bytes(3)),
            "odd length",
        ),
        (encode_frame(KIND_UUID, uuid.uuid4().bytes) + encode_frame(KIND_DTMF, b"x"), "bad DTMF"),
    ],
    ids=["unknown-kind", "short-uuid", "audio-first", "odd-audio", "bad-dtmf"],
)
async def test_malformed_frame_closes_only_that_connection(payload: bytes, reason: str) -> None:
    server, sinks = await started_server(send_silence=False)
    good_uuid = uuid.uuid4()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(encode_frame(KIND_UUID, good_uuid.bytes) + encode_frame(KIND_AUDIO, bytes(320)))
    await writer.drain()

    assert await raw_call(server.port, payload) == b""  # closed on us, cleanly
    assert server.stats.malformed_frames == 1

    writer.write(encode_frame(KIND_AUDIO, b"\x01\x00" * 160))  # the other call goes on
    await writer.drain()
    writer.close()
    await asyncio.wait_for((await sink_for(sinks, good_uuid)).done.wait(), 5)
    assert bytes(sinks[good_uuid].pcm) == bytes(320) + b"\x01\x00" * 160
    bad = [s for u, s in sinks.items() if u != good_uuid]
    for sink in bad:
        await asyncio.wait_for(sink.done.wait(), 5)
        assert reason in (sink.reason or "")
    await server.stop()


async def test_truncated_frame_is_counted_and_earlier_audio_kept(tmp_path: Path) -> None:
    server, sinks = await started_server(tmp_path, send_silence=False)
    call_uuid = uuid.uuid4()
    audio = b"\x02\x00" * 160
    wire = encode_frame(KIND_UUID, call_uuid.bytes) + encode_frame(KIND_AUDIO, audio)
    await raw_call(server.port, wire + bytes([KIND_AUDIO, 1, 64]) + bytes(100))
    await asyncio.wait_for((await sink_for(sinks, call_uuid)).done.wait(), 5)
    await server.stop()
    assert sinks[call_uuid].reason == "truncated frame" and bytes(sinks[call_uuid].pcm) == audio
    assert server.stats.truncated_frames == 1
    with wave.open(str(tmp_path / f"{call_uuid}.wav")) as recording:
        assert recording.readframes(10**6) == audio


async def test_error_and_hangup_frames_end_the_call() -> None:
    server, sinks = await started_server(send_silence=False)
    first, second = uuid.uuid4(), uuid.uuid4()
    await raw_call(
        server.port, encode_frame(KIND_UUID, first.bytes) + encode_frame(KIND_ERROR, b"\x01")
    )
    await raw_call(server.port, encode_frame(KIND_UUID, second.bytes) + HANGUP_FRAME)
    for sink in sinks.values():
        await asyncio.wait_for(sink.done.wait(), 5)
    assert sinks[first].reason == "error frame 01" and sinks[second].reason == "hangup frame"
    assert server.stats.error_frames == 1
    await server.stop()


async def test_slow_recogniser_drops_counted_frames_but_never_stalls(tmp_path: Path) -> None:
    server, sinks = await started_server(tmp_path, queue_frames=10, sink_delay=0.05)
    call_uuid = uuid.uuid4()
    pcm = bytes(range(256)) * 250  # 64,000 bytes = 200 frames
    wire = encode_frame(KIND_UUID, call_uuid.bytes)
    wire += b"".join(encode_frame(KIND_AUDIO, pcm[i : i + 320]) for i in range(0, len(pcm), 320))
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(wire)
    await writer.drain()
    # the socket is read at once: the whole call is on disk long before the sink catches up
    for _ in range(100):
        if server.stats.audio_frames == 200:
            break
        await asyncio.sleep(0.01)
    assert server.stats.audio_frames == 200
    writer.close()
    sink = await sink_for(sinks, call_uuid)
    await asyncio.wait_for(sink.done.wait(), 10)
    delivered = len(sink.pcm) // 320
    assert server.stats.frames_dropped == 200 - delivered > 0
    assert delivered <= 10 + 2  # bounded: the queue, plus what the sink held while busy
    assert sink.reason == "eof"  # the close notice is never dropped
    with wave.open(str(tmp_path / f"{call_uuid}.wav")) as recording:
        assert recording.readframes(10**6) == pcm  # the evidence is complete
    await server.stop()


async def test_server_sends_silence_frames_at_20ms_pace() -> None:
    server, _ = await started_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(encode_frame(KIND_UUID, uuid.uuid4().bytes))
    await asyncio.sleep(0.5)
    writer.close()
    received = await asyncio.wait_for(reader.read(), 5)
    await server.stop()
    frames = len(received) // len(SILENCE_FRAME)
    assert received == SILENCE_FRAME * frames
    assert 15 <= frames <= 35  # ~25 in 0.5 s; loose, the CPU is shared


@pytest.mark.slow
async def test_caller_silent_for_ten_seconds_is_not_dropped() -> None:
    """Asterisk drops a call after 2 s with no frames either way; our silence prevents it."""
    speech = read_wav_pcm(require_data(PROMPT))[:3200]
    with_silence, sinks = await started_server()
    without, _ = await started_server(send_silence=False)
    kept = AsteriskEmulator("127.0.0.1", 0, f"127.0.0.1:{with_silence.port}")
    dropped = AsteriskEmulator("127.0.0.1", 0, f"127.0.0.1:{without.port}")
    for emulator in (kept, dropped):
        await emulator.start()
    try:
        kept_id = await kept.place_call("03001234567", pcm=speech, silence_before_s=10.0)
        dropped_id = await dropped.place_call("03001234567", pcm=speech, silence_before_s=10.0)
        lost = await dropped.wait_call(dropped_id, timeout=20)
        assert lost.end == "inactivity timeout" and lost.bytes_sent == 0
        outcome = await kept.wait_call(kept_id, timeout=30)
        assert outcome.end == "caller finished"
        assert outcome.frames_received >= 450  # ~50 silence frames a second for 10 s
        (sink,) = sinks.values()
        await asyncio.wait_for(sink.done.wait(), 5)
        assert bytes(sink.pcm) == speech  # the words after the silence arrived
    finally:
        for emulator in (kept, dropped):
            await emulator.stop()
        await with_silence.stop()
        await without.stop()


async def test_server_hangup_frame_ends_the_call_like_asterisk() -> None:
    server, sinks = await started_server()
    emulator = AsteriskEmulator("127.0.0.1", 0, f"127.0.0.1:{server.port}")
    await emulator.start()
    try:
        linkedid = await emulator.place_call("03001234567", pcm=bytes(32000))
        await asyncio.sleep(0.3)
        (call_uuid,) = sinks
        assert server.hangup(call_uuid)
        outcome = await emulator.wait_call(linkedid)
        assert outcome.end == "server hangup frame" and outcome.cause == 16
        assert sinks[call_uuid].reason == "server hangup"
    finally:
        await emulator.stop()
        await server.stop()


async def test_emulated_malformed_and_truncated_calls_leave_others_intact() -> None:
    server, sinks = await started_server()
    emulator = AsteriskEmulator("127.0.0.1", 0, f"127.0.0.1:{server.port}")
    await emulator.start()
    pcm = read_wav_pcm(require_data(PROMPT))[:6400]
    try:
        ids = [
            await emulator.place_call("03000000001", pcm=pcm, fault="malformed_frame"),
            await emulator.place_call("03000000002", pcm=pcm, fault="truncated_frame"),
            await emulator.place_call("03000000003", pcm=pcm),
        ]
        for linkedid in ids:
            await emulator.wait_call(linkedid)
        for sink in sinks.values():
            await asyncio.wait_for(sink.done.wait(), 5)
            assert bytes(sink.pcm) == pcm
        reasons = sorted((s.reason or "").split(":")[0] for s in sinks.values())
        assert reasons == ["eof", "malformed frame", "truncated frame"]
        assert server.stats.malformed_frames == 1 and server.stats.truncated_frames == 1
    finally:
        await emulator.stop()
        await server.stop()
