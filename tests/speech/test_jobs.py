"""Post-call whisper transcript as an RQ job on the `asr` queue, run by a real RQ worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, SimpleWorker

from telephony.speech import (
    ASR_QUEUE,
    bundled_models,
    enqueue_transcription,
    transcribe_recording,
)
from telephony.speech.audio import read_wav, write_wav
from telephony.speech.scoring import wer
from tests.speech.helpers import references, require_model, sample


def _call_recording(path: Path) -> Path:
    """What the AudioSocket server records: 8 kHz mono, two sentences with a pause."""
    first, rate = read_wav(sample("en2_tel8k.wav"))
    second, _ = read_wav(sample("en4_tel8k.wav"))
    pause = bytes(2 * rate * 2)  # 2 s of s16 silence
    return write_wav(path, first + pause + second, rate)


@pytest.mark.slow
def test_worker_transcribes_a_call_recording(redis_url: str, tmp_path: Path) -> None:
    require_model("whisper-tiny.en")  # English-only: better on English phone audio than base
    tiny = str(bundled_models()["whisper-tiny.en"].path)
    wav = _call_recording(tmp_path / "call.wav")
    connection = Redis.from_url(redis_url)
    job = enqueue_transcription(
        connection, str(wav), audiosocket_uuid="c0ffee", language="en", model_path=tiny
    )
    assert job.origin == ASR_QUEUE and job.id == "asr-c0ffee"
    assert Queue(ASR_QUEUE, connection=connection).count == 1

    worker = SimpleWorker([Queue(ASR_QUEUE, connection=connection)], connection=connection)
    assert worker.work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result()
    result = job.return_value()
    refs = references()
    assert result["audiosocket_uuid"] == "c0ffee" and result["engine"] == "whisper"
    assert result["model"] == tiny and result["language"] == "en"
    pcm, rate = read_wav(wav)
    assert result["duration_s"] == pytest.approx(len(pcm) / 2 / rate, abs=0.01)
    assert result["duration_s"] == pytest.approx(3.57 + 2 + 3.95, abs=0.05)
    assert wer(refs["en2"] + " " + refs["en4"], result["text"]) <= 0.45
    starts = [s["start_s"] for s in result["segments"]]
    assert starts == sorted(starts) and len(starts) >= 2
    assert result["segments"][-1]["end_s"] <= result["duration_s"] + 0.1
    connection.close()


def test_default_post_call_model_is_the_multilingual_one(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "ur.wav", read_wav(sample("ur3_tel8k.wav"))[0], 8000)
    cache = tmp_path / "models"
    result = transcribe_recording(str(wav), audiosocket_uuid="ur3", model_cache_dir=str(cache))
    assert result["model"] == "whisper-base" and result["language"] == "ur"
    assert [p.name.split("-")[:2] for p in cache.iterdir()] == [["whisper", "base"]]
    assert result["segments"] and result["segments"][0]["text_roman"]


def test_unreadable_recording_fails_with_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "stereo.wav"
    import wave

    with wave.open(str(bad), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(3200))
    with pytest.raises(ValueError, match="need 16-bit mono"):
        transcribe_recording(str(bad))
