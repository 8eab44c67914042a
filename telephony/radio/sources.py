"""Where radio audio comes from: a sound-card input (PyAudio), a WAV file, or a PCM stream.

All sources yield 16-bit mono PCM frames of `frame_ms`, so the gateway does not care whether a
receiver is plugged into this machine or the audio arrives over the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from telephony.speech.audio import read_wav

log = logging.getLogger(__name__)


class AudioDeviceError(RuntimeError):
    """The sound-card input cannot be opened; the message lists the inputs that exist."""


class AudioSource(Protocol):
    sample_rate: int
    name: str

    def frames(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class WavSource:
    """A recorded receiver output; `realtime=True` paces it like a live receiver."""

    def __init__(self, path: str | Path, frame_ms: int = 20, realtime: bool = False) -> None:
        self.path = Path(path)
        self.pcm, self.sample_rate = read_wav(self.path)
        self.frame_bytes = self.sample_rate * frame_ms // 1000 * 2
        self.frame_s = frame_ms / 1000
        self.realtime = realtime
        self.name = f"wav:{self.path.name}"

    async def frames(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        due = loop.time()
        for i in range(0, len(self.pcm), self.frame_bytes):
            yield self.pcm[i : i + self.frame_bytes]
            if self.realtime:
                due += self.frame_s
                await asyncio.sleep(max(0.0, due - loop.time()))
            elif i % (self.frame_bytes * 50) == 0:
                await asyncio.sleep(0)  # let the transcriber run between seconds of audio

    async def aclose(self) -> None:
        return None


class PcmStreamSource:
    """Raw s16le mono PCM from a byte stream (TCP from a remote receiver, a pipe, ...)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        sample_rate: int,
        frame_ms: int = 20,
        writer: asyncio.StreamWriter | None = None,
    ) -> None:
        self.reader = reader
        self.writer = writer  # held so the connection stays open (a dropped writer closes it)
        self.sample_rate = sample_rate
        self.frame_bytes = sample_rate * frame_ms // 1000 * 2
        self.name = "stream"

    async def frames(self) -> AsyncIterator[bytes]:
        while True:
            try:
                frame = await self.reader.readexactly(self.frame_bytes)
            except asyncio.IncompleteReadError as end:
                usable = len(end.partial) - len(end.partial) % 2
                if usable:
                    yield end.partial[:usable]
                return
            yield frame

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()


def list_input_devices(pa: Any | None = None) -> list[dict[str, Any]]:
    """Input devices PortAudio can see: `[{index, name, channels, default_rate}]`."""
    import pyaudio

    owned = pa is None
    pa = pa or pyaudio.PyAudio()
    try:
        found = []
        for index in range(pa.get_device_count()):
            info = pa.get_device_info_by_index(index)
            if int(info.get("maxInputChannels", 0)) > 0:
                found.append(
                    {
                        "index": index,
                        "name": info.get("name"),
                        "channels": int(info["maxInputChannels"]),
                        "default_rate": float(info.get("defaultSampleRate", 0)),
                    }
                )
        return found
    finally:
        if owned:
            pa.terminate()


class PyAudioSource:
    """A radio receiver on a sound-card input; blocking reads run in a thread."""

    def __init__(
        self, device_index: int | None = None, sample_rate: int = 16000, frame_ms: int = 20
    ) -> None:
        self.device_index = device_index
        self.sample_rate = sample_rate
        self.frames_per_buffer = sample_rate * frame_ms // 1000
        self.name = f"pyaudio:{'default' if device_index is None else device_index}"
        self.overflows = 0
        self._pa: Any = None
        self._stream: Any = None

    def open(self) -> None:
        import pyaudio

        self._pa = pyaudio.PyAudio()
        inputs = list_input_devices(self._pa)
        if self.device_index is not None and self.device_index not in {d["index"] for d in inputs}:
            # PortAudio crashes the process (SIGSEGV) on an out-of-range index: check first.
            self._pa.terminate()
            self._pa = None
            raise AudioDeviceError(
                f"no radio input with index {self.device_index}; input devices: {inputs or 'none'}"
            )
        try:
            self._stream = self._pa.open(
                format=pyaudio.paInt16,
                channels=1,
                rate=self.sample_rate,
                input=True,
                input_device_index=self.device_index,
                frames_per_buffer=self.frames_per_buffer,
            )
        except (OSError, ValueError) as exc:
            self._pa.terminate()
            self._pa = None
            raise AudioDeviceError(
                f"cannot open radio input {self.name} at {self.sample_rate} Hz: {exc}; "
                f"input devices: {inputs or 'none'}"
            ) from exc

    def _read(self) -> bytes:
        available = self._stream.get_read_available()
        if available > self.frames_per_buffer * 10:
            self.overflows += 1
        return self._stream.read(self.frames_per_buffer, exception_on_overflow=False)

    async def frames(self) -> AsyncIterator[bytes]:
        if self._stream is None:
            self.open()
        loop = asyncio.get_running_loop()
        while self._stream is not None:
            yield await loop.run_in_executor(None, self._read)

    async def aclose(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.stop_stream()
                stream.close()
        if self._pa is not None:
            self._pa.terminate()
            self._pa = None


async def open_source(spec: str, sample_rate: int = 16000, realtime: bool = True) -> AudioSource:
    """A source from a setting: `pyaudio` / `pyaudio:INDEX`, `wav:PATH`, or `tcp:HOST:PORT`
    (raw s16le mono PCM at `sample_rate`, e.g. from a network radio receiver)."""
    kind, _, rest = spec.partition(":")
    if kind == "pyaudio":
        index = int(rest) if rest else None
        source = PyAudioSource(index, sample_rate)
        source.open()  # fail now, with the list of inputs, not at the first read
        return source
    if kind == "wav" and rest:
        return WavSource(rest, realtime=realtime)
    if kind == "tcp" and rest:
        host, _, port = rest.rpartition(":")
        reader, writer = await asyncio.open_connection(host or "127.0.0.1", int(port))
        return PcmStreamSource(reader, sample_rate, writer=writer)
    raise ValueError(f"radio source {spec!r}: use pyaudio[:INDEX], wav:PATH or tcp:HOST:PORT")
