"""`helpline15 data fetch`, speech part: download models from their publishers, verify, unpack.

A model directory appears only after every file matched its checksum and the archive unpacked
completely (into a temporary folder, then one rename), so a cut connection or a tampered
mirror never leaves a half model that the gateway would load.

Pins: alphacephei publishes MD5 and size per archive in its `model-list.json` (values below);
it publishes no SHA-256. Entries without a SHA-256 pin are verified against MD5 and size and
the SHA-256 actually received is written to `SHA256SUMS` in the model folder, so a deployment
can pin it (pass `require_sha256=True` to refuse unpinned files).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from telephony.speech.config import ModelSpec

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int | None], None]  # (file name, bytes so far, total or None)
CHUNK = 1 << 16


class ChecksumError(RuntimeError):
    """A downloaded file is not the one the catalogue pins."""


class FetchError(RuntimeError):
    """A model cannot be fetched (unknown name, HTTP error, bad archive)."""


@dataclass(frozen=True)
class RemoteFile:
    url: str
    filename: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class ModelSource:
    name: str
    engine: Literal["vosk", "whisper"]
    language: str
    files: tuple[RemoteFile, ...]
    unpack: Literal["zip", "none"] = "zip"
    notes: str = ""


_VOSK = "https://alphacephei.com/vosk/models"
_HF = "https://huggingface.co/{repo}/resolve/main/{name}"
_CT2_FILES = ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")


def _whisper(name: str, repo: str, notes: str, files: tuple[str, ...] = _CT2_FILES) -> ModelSource:
    """A multilingual whisper in CTranslate2 form from the Hugging Face hub.

    The hub publishes a SHA-256 per large file on each file's page but these machines cannot
    reach it: the pins are left to the deployment (`require_sha256=True` refuses unpinned
    files); the first fetch records what arrived in `SHA256SUMS`.
    """
    return ModelSource(
        name,
        "whisper",
        "und",
        tuple(RemoteFile(_HF.format(repo=repo, name=f), f) for f in files),
        unpack="none",
        notes=notes,
    )


CATALOGUE: dict[str, ModelSource] = {
    "vosk-model-small-en-in-0.4": ModelSource(
        "vosk-model-small-en-in-0.4",
        "vosk",
        "en-in",
        (
            RemoteFile(
                f"{_VOSK}/vosk-model-small-en-in-0.4.zip",
                "vosk-model-small-en-in-0.4.zip",
                md5="62fd085f33c8c5fc01a235030e2a1fe3",
                size=37573330,
            ),
        ),
        notes="Indian English, native 8 kHz telephone model",
    ),
    "vosk-model-small-hi-0.22": ModelSource(
        "vosk-model-small-hi-0.22",
        "vosk",
        "hi",
        (
            RemoteFile(
                f"{_VOSK}/vosk-model-small-hi-0.22.zip",
                "vosk-model-small-hi-0.22.zip",
                md5="80f1265262c9a8a515f2707498e1b485",
                size=44458845,
            ),
        ),
        notes="Hindi; closest Vosk model to spoken Urdu",
    ),
    "faster-whisper-small": _whisper(
        "faster-whisper-small",
        "Systran/faster-whisper-small",
        "multilingual whisper small (244 M), Urdu WER ~34 % published; ~3x base's CPU",
    ),
    "faster-whisper-medium": _whisper(
        "faster-whisper-medium",
        "Systran/faster-whisper-medium",
        "multilingual whisper medium (769 M); post-call transcripts on a spare core",
    ),
    "faster-whisper-large-v3-turbo": _whisper(
        "faster-whisper-large-v3-turbo",
        "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
        "large-v3 encoder, 4-layer decoder (809 M); best Urdu, needs 4+ cores per live call",
        files=("config.json", "model.bin", "preprocessor_config.json", "tokenizer.json")
        + ("vocabulary.json",),
    ),
}


def _download(
    remote: RemoteFile, target: Path, progress: Progress | None, timeout: float
) -> tuple[str, str]:
    """Stream to `target`, hashing as we go; returns (sha256, md5) of what arrived."""
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    done = 0
    request = urllib.request.Request(remote.url, headers={"User-Agent": "helpline15-fetch"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, target.open("wb") as out:
            header = response.headers.get("Content-Length")
            total = int(header) if header and header.isdigit() else remote.size
            while block := response.read(CHUNK):
                out.write(block)
                sha256.update(block)
                md5.update(block)
                done += len(block)
                if progress:
                    progress(remote.filename, done, total)
    except OSError as exc:  # URLError, HTTPError and socket errors are all OSErrors
        raise FetchError(f"downloading {remote.url} failed: {exc}") from exc
    if remote.size is not None and done != remote.size:
        raise ChecksumError(f"{remote.filename}: got {done} bytes, expected {remote.size}")
    return sha256.hexdigest(), md5.hexdigest()


def _verify(remote: RemoteFile, sha256: str, md5: str, require_sha256: bool) -> None:
    if remote.sha256 is not None and sha256 != remote.sha256.lower():
        raise ChecksumError(f"{remote.filename}: SHA-256 {sha256}, expected {remote.sha256}")
    if remote.md5 is not None and md5 != remote.md5.lower():
        raise ChecksumError(f"{remote.filename}: MD5 {md5}, expected {remote.md5}")
    if remote.sha256 is None:
        if require_sha256:
            raise ChecksumError(f"{remote.filename}: no SHA-256 pin and require_sha256 is set")
        log.warning(
            "%s has no SHA-256 pin; received %s (recorded in SHA256SUMS)", remote.url, sha256
        )


def _safe_unzip(archive: Path, into: Path) -> None:
    """Extract refusing absolute paths and `..` (a hostile archive must not write elsewhere)."""
    root = into.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                target = (root / member.filename).resolve()
                if not target.is_relative_to(root):
                    raise FetchError(
                        f"{archive.name}: member {member.filename!r} escapes the folder"
                    )
            zf.extractall(root)
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{archive.name} is not a valid zip: {exc}") from exc


def _strip_single_top_dir(folder: Path) -> Path:
    entries = list(folder.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


def fetch_models(
    names: list[str],
    dest: Path,
    progress: Progress | None = None,
    *,
    catalogue: Mapping[str, ModelSource] = CATALOGUE,
    require_sha256: bool = False,
    timeout: float = 60.0,
) -> list[Path]:
    """Download, verify and unpack each named model into `dest/<name>`; returns the folders.

    Already complete folders (with their `SHA256SUMS`) are kept, so the command is re-runnable.
    """
    unknown = [n for n in names if n not in catalogue]
    if unknown:
        raise FetchError(f"unknown model(s) {unknown}; known: {sorted(catalogue)}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    results: list[Path] = []
    for name in names:
        source = catalogue[name]
        final = dest / name
        if (final / "SHA256SUMS").exists():
            log.info("%s already present at %s", name, final)
            results.append(final)
            continue
        work = dest / f".{name}.partial"
        shutil.rmtree(work, ignore_errors=True)
        (work / "download").mkdir(parents=True)
        try:
            sums: list[str] = []
            for remote in source.files:
                target = work / "download" / remote.filename
                sha256, md5 = _download(remote, target, progress, timeout)
                _verify(remote, sha256, md5, require_sha256)
                sums.append(f"{sha256}  {remote.filename}")
            if source.unpack == "zip":
                (work / "unpacked").mkdir()
                for remote in source.files:
                    _safe_unzip(work / "download" / remote.filename, work / "unpacked")
                model_dir = _strip_single_top_dir(work / "unpacked")
            else:
                model_dir = work / "download"
            (model_dir / "SHA256SUMS").write_text("\n".join(sums) + "\n")
            shutil.rmtree(final, ignore_errors=True)
            model_dir.rename(final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        results.append(final)
    return results


DEPLOYMENT_MODELS = [
    "vosk-model-small-en-in-0.4",
    "vosk-model-small-hi-0.22",
    "faster-whisper-small",
]


def fetched_models(
    dest: Path, catalogue: Mapping[str, ModelSource] = CATALOGUE
) -> dict[str, ModelSpec]:
    """Models `fetch_models` completed under `dest`, as `ModelSpec`s for `SpeechConfig.models`."""
    found: dict[str, ModelSpec] = {}
    for name, source in catalogue.items():
        folder = Path(dest) / name
        if (folder / "SHA256SUMS").exists():
            found[name] = ModelSpec(name, source.engine, folder, source.language)
    return found
