"""Call audio kept as evidence: a WAV file that stays valid if the gateway dies mid-call.

``wave`` writes its header once, with the size of the first frame, and corrects it only on
``close()``; a gateway SIGKILLed mid-call left a header claiming 320 bytes for 30 KB of audio.
Here the header's two sizes are rewritten about once a second (after the audio before it is
flushed to the OS), so a crash loses at most the last second from the header's count, and
:func:`repair_dir` (run when the AudioSocket server starts) makes the header exact again.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

log = logging.getLogger(__name__)

HEADER_BYTES = 44


def wav_header(data_bytes: int, *, rate: int = 8000, channels: int = 1, width: int = 2) -> bytes:
    """The canonical 44-byte PCM WAV header for ``data_bytes`` of audio."""
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * width,
                                channels * width, width * 8)
        + b"data" + struct.pack("<I", data_bytes)
    )


class WavRecorder:
    """Append-only 16-bit PCM WAV whose header is kept true while it is written."""

    def __init__(self, path: Path, *, rate: int = 8000, patch_every_s: float = 1.0) -> None:
        self.path = Path(path)
        self.rate = rate
        self._file = self.path.open("wb")
        self._file.write(wav_header(0, rate=rate))
        self.data_bytes = 0
        self._patch_every = max(2, int(rate * 2 * patch_every_s))
        self._unpatched = 0

    def write(self, pcm: bytes) -> None:
        self._file.write(pcm)
        self.data_bytes += len(pcm)
        self._unpatched += len(pcm)
        if self._unpatched >= self._patch_every:
            self._patch()

    def _patch(self) -> None:
        self._file.flush()  # the audio first, so the header never claims what is not written
        self._file.seek(4)
        self._file.write(struct.pack("<I", 36 + self.data_bytes))
        self._file.seek(40)
        self._file.write(struct.pack("<I", self.data_bytes))
        self._file.seek(0, 2)
        self._file.flush()
        self._unpatched = 0

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            self._patch()
        finally:
            self._file.close()


def repair(path: Path) -> bool:
    """Make a canonical WAV header's sizes match the file (after a crash); True if changed."""
    with Path(path).open("r+b") as file:
        header = file.read(HEADER_BYTES)
        if len(header) < HEADER_BYTES or header[:4] != b"RIFF" or header[36:40] != b"data":
            return False
        file.seek(0, 2)
        data_bytes = file.tell() - HEADER_BYTES
        data_bytes -= data_bytes % 2  # a torn last sample is not audio
        if struct.unpack("<I", header[40:44])[0] == data_bytes:
            return False
        file.seek(4)
        file.write(struct.pack("<I", 36 + data_bytes))
        file.seek(40)
        file.write(struct.pack("<I", data_bytes))
        return True


def repair_dir(folder: Path) -> int:
    """Repair every recording left by a process that died mid-call; returns how many."""
    repaired = 0
    for path in Path(folder).glob("*.wav"):
        try:
            repaired += repair(path)
        except OSError:
            log.exception("cannot check recording %s", path)
    if repaired:
        log.warning("repaired the WAV header of %d recording(s) cut short by a crash in %s",
                    repaired, folder)
    return repaired
