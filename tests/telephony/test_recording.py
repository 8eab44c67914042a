"""Call recordings stay valid WAV files when the process dies mid-call."""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

from telephony.recording import WavRecorder, repair, repair_dir

WRITER = """
import os, sys
from telephony.recording import WavRecorder
rec = WavRecorder(sys.argv[1], patch_every_s=1.0)
for i in range(125):  # 2.5 s of 20 ms frames
    rec.write(bytes([i % 251]) * 320)
rec._file.flush()
os.kill(os.getpid(), 9)  # die like a SIGKILLed gateway: no close()
"""


def test_a_recording_cut_by_sigkill_opens_and_is_repaired_to_every_byte(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    proc = subprocess.run([sys.executable, "-c", WRITER, str(path)], check=False,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == -9
    with wave.open(str(path)) as wav:  # valid as left: the header was patched at 1 s and 2 s
        assert wav.getnframes() * 2 == 100 * 320
    assert repair(path) and not repair(path)
    with wave.open(str(path)) as wav:
        assert wav.getframerate() == 8000 and wav.getnframes() * 2 == 125 * 320
        assert wav.readframes(wav.getnframes())[-320:] == bytes([124]) * 320
    assert os.path.getsize(path) == 44 + 125 * 320


def test_a_closed_recording_is_exact_and_left_alone(tmp_path: Path) -> None:
    rec = WavRecorder(tmp_path / "a.wav")
    rec.write(b"\x01\x00" * 1000)
    rec.close()
    (tmp_path / "not-a-wav.wav").write_bytes(b"garbage")
    assert repair_dir(tmp_path) == 0
    with wave.open(str(tmp_path / "a.wav")) as wav:
        assert wav.getnframes() == 1000
