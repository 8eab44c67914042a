"""Speech settings: what the lead maps ASR_ENGINE / ASR_MODEL_PATH onto."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.speech import ModelSpec, SpeechConfig, SpeechConfigError, bundled_models


def test_bundled_models_are_found_without_a_download() -> None:
    models = bundled_models()
    assert models["vosk-ko"].engine == "vosk" and (models["vosk-ko"].path / "am").is_dir()
    assert models["whisper-tiny.en"].language == "en"
    for spec in models.values():
        spec.ready()  # joins the split whisper base into the cache on first use


def test_from_settings_defaults_to_a_bundled_model_for_the_engine() -> None:
    assert SpeechConfig.from_settings("vosk").model().name == "vosk-ko"
    default = SpeechConfig.from_settings()
    assert default.engine == "whisper" and default.model().name == "whisper-base"
    assert default.model().language == "und"  # multilingual: detected per call
    assert default.language_default == "ur" and set(default.languages) == {"ur", "en", "pa"}
    assert "whisper-tiny.en" in default.models


def test_model_path_setting_and_per_call_models(tmp_path: Path) -> None:
    hindi = ModelSpec("hi", "vosk", tmp_path / "vosk-model-small-hi-0.22", "hi")
    config = SpeechConfig.from_settings("vosk", str(tmp_path / "en-in"), models={"hi": hindi})
    assert config.model().path == tmp_path / "en-in"
    assert config.model("hi") is hindi
    with pytest.raises(SpeechConfigError, match="not found at"):
        config.model("hi").check()
    with pytest.raises(SpeechConfigError, match="unknown speech model 'ur'"):
        config.model("ur")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"asr_engine": "google"}, "ASR_ENGINE must be one of"),
        ({"asr_engine": "vosk", "warm_recognizers": -1}, "warm_recognizers"),
        ({"language_default": "fr"}, "ASR_LANGUAGE='fr' is not in ASR_LANGUAGES"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(kwargs: dict, message: str) -> None:
    with pytest.raises(SpeechConfigError, match=message):
        SpeechConfig.from_settings(**kwargs)


def test_engine_and_model_must_agree() -> None:
    models = bundled_models()
    with pytest.raises(SpeechConfigError, match="is a vosk model"):
        SpeechConfig(models=models, default_model="vosk-ko", engine="whisper")
