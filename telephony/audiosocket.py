"""AudioSocket server: receives each call's audio from Asterisk's ``AudioSocket()`` app.

Wire format (observed on Asterisk 22, ``../shared/data/asterisk/README.md``): every frame is
``kind:uint8 | length:uint16 big-endian | payload``. Kinds: ``0x00`` hangup, ``0x01`` UUID
(16 binary bytes, always first), ``0x03`` DTMF (one ASCII digit), ``0x10`` audio (slin 8 kHz,
normally 320 bytes = 20 ms), ``0xff`` error. Asterisk ends a call by closing the socket; it
sends no hangup frame.

Why the server is shaped this way:

* Asterisk drops a call after 2 s with no frames in either direction and a silent caller sends
  none, so one ticker writes a 20 ms silence frame to every connection every 20 ms.
* Speech recognition may be slower than real time. Audio goes to each call's sink through a
  bounded queue; when it is full the frame is dropped and counted, so a slow recogniser can
  neither stall the socket nor grow memory without limit. The WAV recording is written on
  receipt, so the evidence is complete even when the recogniser drops frames.
* A malformed or truncated frame is logged and counted and closes only that connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from telephony.recording import WavRecorder, repair_dir

log = logging.getLogger(__name__)

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_DTMF = 0x03
KIND_AUDIO = 0x10
KIND_ERROR = 0xFF
FRAME_BYTES = 320  # 20 ms of 8 kHz signed 16-bit mono
SAMPLE_RATE = 8000
SILENCE_FRAME = bytes([KIND_AUDIO]) + FRAME_BYTES.to_bytes(2, "big") + bytes(FRAME_BYTES)
HANGUP_FRAME = bytes([KIND_HANGUP, 0, 0])
DTMF_DIGITS = set("0123456789*#ABCDabcd")
WRITE_BUFFER_LIMIT = 64 * 1024  # stop sending silence to a peer that does not read


class MalformedFrame(ValueError):
    """A frame that breaks the AudioSocket protocol."""


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    """One AudioSocket frame on the wire."""
    if len(payload) > 0xFFFF:
        raise ValueError("AudioSocket payload longer than 65535 bytes")
    return bytes([kind]) + len(payload).to_bytes(2, "big") + payload


class CallAudioSink(Protocol):
    """What speech recognition implements to receive one call's audio.

    ``on_call(uuid)`` is called once per connection when its UUID frame arrives and returns a
    sink. The server calls, in order, from one task per call:

    * ``await sink.audio(pcm)`` for each audio frame (8 kHz s16le mono, usually 320 bytes);
    * ``await sink.dtmf(digit)`` for each DTMF frame;
    * ``await sink.closed(reason)`` exactly once at the end (``"eof"`` when the caller hung
      up, ``"hangup frame"``, ``"server hangup"``, ``"malformed frame: ..."``,
      ``"truncated frame"``, ``"error frame ..."`` or ``"server stopped"``).

    Delivery goes through a bounded queue: if the sink falls behind, audio frames are dropped
    (counted in :class:`AudioSocketStats.frames_dropped`), never the socket stalled.
    """

    async def audio(self, pcm: bytes) -> None: ...

    async def dtmf(self, digit: str) -> None: ...

    async def closed(self, reason: str) -> None: ...


OnCall = Callable[[uuid.UUID], CallAudioSink | None]


@dataclass
class AudioSocketStats:
    """Counters for ``/metrics`` and the benchmark."""

    connections_total: int = 0
    connections_active: int = 0
    audio_frames: int = 0
    audio_bytes: int = 0
    dtmf_frames: int = 0
    frames_dropped: int = 0
    malformed_frames: int = 0
    truncated_frames: int = 0
    error_frames: int = 0
    silence_frames_sent: int = 0
    silence_frames_skipped: int = 0  # peer not reading: its socket buffer is full
    sink_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class _Connection(asyncio.Protocol):
    """One Asterisk AudioSocket connection: parse frames, feed the sink queue, record."""

    def __init__(self, server: AudioSocketServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.call_uuid: uuid.UUID | None = None
        self.transport: asyncio.Transport | None = None
        self.queue: asyncio.Queue | None = None
        self.consumer: asyncio.Task | None = None
        self.recording: WavRecorder | None = None
        self.close_reason: str | None = None
        self.writable = True
        self.frames_dropped = 0

    # asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server._connections.add(self)
        self.server.stats.connections_total += 1
        self.server.stats.connections_active += 1

    def pause_writing(self) -> None:
        self.writable = False

    def resume_writing(self) -> None:
        self.writable = True

    def data_received(self, data: bytes) -> None:
        if self.close_reason is not None:
            return
        self.buffer += data
        try:
            self._parse()
        except MalformedFrame as exc:
            self.server.stats.malformed_frames += 1
            peer = self.transport.get_extra_info("peername") if self.transport else None
            log.warning("AudioSocket %s from %s: %s; closing it", self.call_uuid, peer, exc)
            self.finish(f"malformed frame: {exc}")

    def eof_received(self) -> bool | None:
        if self.buffer and self.close_reason is None:
            self.server.stats.truncated_frames += 1
            log.warning(
                "AudioSocket %s closed mid-frame (%d bytes pending)",
                self.call_uuid,
                len(self.buffer),
            )
            self.finish("truncated frame")
        else:
            self.finish("eof")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        # a reset is how a peer's close looks when our silence frames were still unread
        self.finish(
            "eof"
            if exc is None or isinstance(exc, ConnectionResetError)
            else f"connection lost: {exc}"
        )
        self.server._connections.discard(self)
        self.server.stats.connections_active -= 1

    # frames -------------------------------------------------------------------------------
    def _parse(self) -> None:
        buffer = self.buffer
        offset = 0
        size = len(buffer)
        while size - offset >= 3 and self.close_reason is None:
            kind = buffer[offset]
            length = (buffer[offset + 1] << 8) | buffer[offset + 2]
            end = offset + 3 + length
            if end > size:
                break
            payload = bytes(buffer[offset + 3 : end])
            offset = end
            self._frame(kind, payload)
        del buffer[:offset]

    def _frame(self, kind: int, payload: bytes) -> None:
        stats = self.server.stats
        if kind == KIND_AUDIO:
            if self.call_uuid is None:
                raise MalformedFrame("audio before the UUID frame")
            if len(payload) % 2:
                raise MalformedFrame(f"audio payload of odd length {len(payload)}")
            stats.audio_frames += 1
            stats.audio_bytes += len(payload)
            if self.recording is not None:
                self.recording.write(payload)
            self._deliver(("audio", payload))
        elif kind == KIND_UUID:
            if self.call_uuid is not None:
                raise MalformedFrame("second UUID frame")
            if len(payload) != 16:
                raise MalformedFrame(f"UUID frame of {len(payload)} bytes, expected 16")
            self._start_call(uuid.UUID(bytes=payload))
        elif kind == KIND_DTMF:
            digit = payload.decode("ascii", "replace")
            if len(payload) != 1 or digit not in DTMF_DIGITS:
                raise MalformedFrame(f"bad DTMF payload {payload!r}")
            if self.call_uuid is None:
                raise MalformedFrame("DTMF before the UUID frame")
            stats.dtmf_frames += 1
            self._deliver(("dtmf", digit))
        elif kind == KIND_HANGUP:
            self.finish("hangup frame")
        elif kind == KIND_ERROR:
            stats.error_frames += 1
            log.warning("AudioSocket %s: error frame %s", self.call_uuid, payload.hex())
            self.finish(f"error frame {payload.hex()}")
        else:
            raise MalformedFrame(f"unknown frame kind 0x{kind:02x}")

    def _start_call(self, call_uuid: uuid.UUID) -> None:
        self.call_uuid = call_uuid
        server = self.server
        server.calls[call_uuid] = self
        if server.recordings_dir is not None:
            path = server.recordings_dir / f"{call_uuid}.wav"
            try:  # held open for the whole call, closed in finish()
                self.recording = WavRecorder(path, rate=SAMPLE_RATE)
            except OSError:
                log.exception("cannot record call %s to %s", call_uuid, path)
                self.recording = None
        log.info("AudioSocket call %s connected%s", call_uuid,
                 f", recording to {self.recording.path}" if self.recording is not None else "")
        sink = None
        if server.on_call is not None:
            try:
                sink = server.on_call(call_uuid)
            except Exception:
                server.stats.sink_errors += 1
                log.exception("on_call factory failed for %s; audio is recorded only", call_uuid)
        if sink is not None:
            self.queue = asyncio.Queue(maxsize=server.queue_frames)
            self.consumer = asyncio.get_running_loop().create_task(self._consume(sink))
            server._consumers.add(self.consumer)
            self.consumer.add_done_callback(server._consumers.discard)

    def _deliver(self, item: tuple[str, object]) -> None:
        if self.queue is None:
            return
        try:
            self.queue.put_nowait(item)
            return
        except asyncio.QueueFull:
            pass
        if item[0] == "audio":
            self._count_drop()
            return
        # control items (DTMF, close) must arrive: make room by dropping the oldest audio
        dropped = self.queue.get_nowait()
        if dropped[0] == "audio":
            self._count_drop()
        self.queue.put_nowait(item)

    def _count_drop(self) -> None:
        self.frames_dropped += 1
        self.server.stats.frames_dropped += 1

    async def _consume(self, sink: CallAudioSink) -> None:
        assert self.queue is not None
        while True:
            kind, value = await self.queue.get()
            try:
                if kind == "audio":
                    await sink.audio(value)  # type: ignore[arg-type]
                elif kind == "dtmf":
                    await sink.dtmf(value)  # type: ignore[arg-type]
                else:
                    await sink.closed(value)  # type: ignore[arg-type]
                    return
            except Exception:
                self.server.stats.sink_errors += 1
                log.exception("audio sink of call %s failed on %s", self.call_uuid, kind)
                if kind == "closed":
                    return

    # control ------------------------------------------------------------------------------
    def send_silence(self) -> None:
        transport = self.transport
        if transport is None or self.close_reason is not None:
            return
        if self.writable and transport.get_write_buffer_size() < WRITE_BUFFER_LIMIT:
            transport.write(SILENCE_FRAME)
            self.server.stats.silence_frames_sent += 1
        else:
            self.server.stats.silence_frames_skipped += 1

    def hangup(self) -> None:
        """Ask Asterisk to end the AudioSocket app (the dialplan continues, cause 16)."""
        if self.transport is not None and self.close_reason is None:
            self.transport.write(HANGUP_FRAME)
            self.finish("server hangup")

    def finish(self, reason: str) -> None:
        """Close once: end the recording, tell the sink, release the socket."""
        if self.close_reason is not None:
            return
        self.close_reason = reason
        if self.recording is not None:
            with contextlib.suppress(Exception):
                self.recording.close()
        if self.call_uuid is not None:
            self.server.calls.pop(self.call_uuid, None)
            log.info("AudioSocket call %s closed: %s", self.call_uuid, reason)
        self._deliver(("closed", reason))
        if self.transport is not None:
            self.transport.close()


class AudioSocketServer:
    """Asyncio AudioSocket server; see the module docstring for the behaviour."""

    def __init__(
        self,
        bind: str = "127.0.0.1:9092",
        *,
        on_call: OnCall | None = None,
        recordings_dir: Path | None = None,
        queue_frames: int = 250,
        send_silence: bool = True,
    ) -> None:
        host, _, port = bind.rpartition(":")
        self.host = host or "127.0.0.1"
        self.port = int(port)
        self.on_call = on_call
        self.recordings_dir = Path(recordings_dir) if recordings_dir else None
        self.queue_frames = queue_frames
        self.send_silence = send_silence
        self.stats = AudioSocketStats()
        self.calls: dict[uuid.UUID, _Connection] = {}
        self._connections: set[_Connection] = set()
        self._consumers: set[asyncio.Task] = set()
        self._server: asyncio.base_events.Server | None = None
        self._ticker: asyncio.Task | None = None

    async def start(self) -> None:
        """Listen (port 0 picks a free port, read it back from ``.port``)."""
        if self.recordings_dir is not None:
            self.recordings_dir.mkdir(parents=True, exist_ok=True)
            repair_dir(self.recordings_dir)  # WAVs of calls cut short by a crash
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), self.host, self.port, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if self.send_silence:
            self._ticker = loop.create_task(self._silence_ticker())
        log.info("AudioSocket server listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening, close every call, and let the sinks see ``closed``."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.finish("server stopped")
        if self._consumers:
            await asyncio.wait(list(self._consumers), timeout=5)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def hangup(self, call_uuid: uuid.UUID) -> bool:
        """Send a HANGUP frame to one call; False if it is not connected."""
        connection = self.calls.get(call_uuid)
        if connection is None:
            return False
        connection.hangup()
        return True

    async def _silence_ticker(self) -> None:
        """20 ms silence to every connection, paced on the loop clock (no drift)."""
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            next_tick += FRAME_BYTES / (2 * SAMPLE_RATE)
            for connection in list(self._connections):
                connection.send_silence()
            await asyncio.sleep(max(0.0, next_tick - loop.time()))
