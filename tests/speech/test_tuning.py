"""Decoder tuning through a symlinked model twin; the installed model is never modified."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from telephony.speech import SpeechConfig, SpeechConfigError, SpeechEngines, TranscriptionSink
from telephony.speech.audio import read_wav
from telephony.speech.scoring import cer
from telephony.speech.tuning import tuned_vosk_model
from tests.speech.helpers import references, require_model, sample


def test_twin_differs_only_in_model_conf(tmp_path: Path) -> None:
    require_model("vosk-ko")
    spec = SpeechConfig.from_settings("vosk").model()
    original = (spec.path / "conf" / "model.conf").read_text()
    twin = tuned_vosk_model(spec.path, {"max-active": "1000", "beam": "8.0"}, tmp_path)
    conf = (twin / "conf" / "model.conf").read_text().splitlines()
    assert "--max-active=1000" in conf and "--beam=8.0" in conf
    assert not any(line.startswith("--max-active=3000") for line in conf)
    assert "--lattice-beam=2.0" in conf  # untouched options are kept
    assert (twin / "am" / "final.mdl").resolve() == (spec.path / "am" / "final.mdl").resolve()
    assert (spec.path / "conf" / "model.conf").read_text() == original
    assert tuned_vosk_model(spec.path, {"beam": "8.0", "max-active": "1000"}, tmp_path) == twin
    assert tuned_vosk_model(spec.path, {}, tmp_path) == spec.path


def test_option_injection_is_refused(tmp_path: Path) -> None:
    require_model("vosk-ko")
    spec = SpeechConfig.from_settings("vosk").model()
    with pytest.raises(SpeechConfigError, match="bad vosk decoder option"):
        tuned_vosk_model(spec.path, {"beam": "8\n--max-active=99999"}, tmp_path)


@pytest.mark.slow
async def test_tuned_decoder_transcribes_a_call(tmp_path: Path) -> None:
    require_model("vosk-ko")
    config = SpeechConfig.from_settings(
        "vosk",
        warm_recognizers=1,
        vosk_decoder={"max-active": "1000", "beam": "8.0"},
        model_cache_dir=tmp_path,
    )
    engines = SpeechEngines(config)
    await engines.start()

    async def publish(stream: str, event_type: str, data: dict[str, Any]) -> str:
        return "0-0"

    try:
        pcm, _ = read_wav(sample("ko3_tel8k.wav"))
        sink = TranscriptionSink(uuid.uuid4(), engines, publish)
        await sink.audio(pcm)
        await sink.closed("eof")
    finally:
        await engines.aclose()
    assert engines.vosk_model_path(config.model()).parent == tmp_path
    assert cer(references()["ko3"], sink.text) <= 0.93
