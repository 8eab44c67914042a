"""The multilingual whisper base shipped in two PyPI packages: joined once, verified, reused."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from telephony.speech import SpeechConfig, SpeechConfigError
from telephony.speech.assemble import WHISPER_BASE, assemble, assembled_path


def test_split_model_is_joined_verified_and_then_reused(tmp_path: Path) -> None:
    folder = assemble(WHISPER_BASE, tmp_path)
    assert folder == assembled_path(WHISPER_BASE, tmp_path) and folder.parent == tmp_path
    model = folder / "model.bin"
    assert model.stat().st_size == 145_217_532
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert digest == WHISPER_BASE.sha256
    assert (folder / "SHA256SUMS").read_text().split() == [digest, "model.bin"]
    assert {p.name for p in folder.iterdir()} >= {"config.json", "tokenizer.json", "vocabulary.txt"}
    stamp = model.stat().st_mtime_ns
    assert assemble(WHISPER_BASE, tmp_path) == folder
    assert model.stat().st_mtime_ns == stamp, "a second start must not rewrite the model"
    assert [p.name for p in tmp_path.iterdir()] == [folder.name], "no staging folder left"


def test_a_wrong_checksum_leaves_no_model_behind(tmp_path: Path) -> None:
    tampered = replace(WHISPER_BASE, sha256="0" * 64)
    with pytest.raises(SpeechConfigError, match="expected 145217532 bytes, 0000"):
        assemble(tampered, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_packages_are_named() -> None:
    absent = replace(WHISPER_BASE, parts=(("no_such_package_h15", "model.bin.part1"),))
    assert not absent.installed()
    with pytest.raises(SpeechConfigError, match="no_such_package_h15"):
        assemble(absent, Path("/nonexistent"))


def test_default_config_points_into_the_cache_dir_not_site_packages(tmp_path: Path) -> None:
    config = SpeechConfig.from_settings(model_cache_dir=tmp_path)
    spec = config.model()
    assert spec.name == "whisper-base" and spec.path.parent == tmp_path
    assert not (spec.path / "model.bin").exists()  # joined on first use, not at import
    spec.ready()
    assert (spec.path / "model.bin").stat().st_size == WHISPER_BASE.size
