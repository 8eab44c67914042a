"""Small PCM helpers shared by the call sink, the VAD and the radio gateway."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly


def pcm16_to_float32(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def resample_pcm16(pcm: bytes, rate_in: int, rate_out: int) -> bytes:
    """Polyphase resampling (8 kHz telephone audio to whisper's 16 kHz, and back)."""
    if rate_in == rate_out or not pcm:
        return pcm
    g = math.gcd(rate_in, rate_out)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    out = resample_poly(samples, rate_out // g, rate_in // g)
    return np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes()


def rms_dbfs(pcm: bytes) -> float:
    """Level of a frame in dB relative to full scale; digital silence is -inf."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return float("-inf")
    rms = math.sqrt(float(np.mean(samples * samples)))
    return 20 * math.log10(rms / 32768.0) if rms > 0 else float("-inf")


def read_wav(path: str | Path) -> tuple[bytes, int]:
    """Mono s16 WAV → (pcm, rate); anything else is a clear error, not noise in a transcript."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise ValueError(
                f"{path}: need 16-bit mono WAV, got {wav.getsampwidth() * 8}-bit "
                f"{wav.getnchannels()} channel(s)"
            )
        return wav.readframes(wav.getnframes()), wav.getframerate()


def write_wav(path: str | Path, pcm: bytes, sample_rate: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    with wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    tmp.replace(path)
    return path
