"""Model download: checksums and unpacking, against a loopback HTTP server (no internet here)."""

from __future__ import annotations

import hashlib
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from telephony.speech import CATALOGUE, ChecksumError, FetchError, fetch_models
from telephony.speech.fetch import ModelSource, RemoteFile, fetched_models


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _model_zip(path: Path, top: str = "vosk-model-test-0.1", extra: str | None = None) -> bytes:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{top}/am/final.mdl", b"\x00acoustic model" * 1000)
        zf.writestr(f"{top}/conf/mfcc.conf", "--sample-frequency=8000\n")
        zf.writestr(f"{top}/graph/HCLr.fst", b"graph" * 5000)
        if extra:
            zf.writestr(extra, b"owned")
    return path.read_bytes()


def _entry(url: str, data: bytes, **pins: object) -> dict[str, ModelSource]:
    pins.setdefault("sha256", hashlib.sha256(data).hexdigest())
    remote = RemoteFile(url, "model.zip", **pins)  # type: ignore[arg-type]
    return {"vosk-model-test-0.1": ModelSource("vosk-model-test-0.1", "vosk", "en", (remote,))}


def test_verified_archive_is_unpacked_with_progress(
    served: tuple[Path, str], tmp_path: Path
) -> None:
    root, base = served
    data = _model_zip(root / "model.zip")
    seen: list[tuple[str, int, int | None]] = []
    dest = tmp_path / "models"
    [folder] = fetch_models(
        ["vosk-model-test-0.1"],
        dest,
        progress=lambda *a: seen.append(a),
        catalogue=_entry(f"{base}/model.zip", data, size=len(data)),
    )
    assert folder == dest / "vosk-model-test-0.1"
    assert (folder / "am" / "final.mdl").read_bytes().startswith(b"\x00acoustic")
    assert (folder / "SHA256SUMS").read_text().split()[0] == hashlib.sha256(data).hexdigest()
    assert seen[-1] == ("model.zip", len(data), len(data))
    assert [s[1] for s in seen] == sorted(s[1] for s in seen)
    assert [p.name for p in dest.iterdir()] == ["vosk-model-test-0.1"]  # no leftovers
    catalogue = _entry(f"{base}/model.zip", data)
    spec = fetched_models(dest, catalogue)["vosk-model-test-0.1"]
    assert (spec.engine, spec.path, spec.language) == ("vosk", folder, "en")
    spec.check()
    # re-running keeps the verified folder and downloads nothing
    (root / "model.zip").unlink()
    assert fetch_models(
        ["vosk-model-test-0.1"], dest, catalogue=_entry(f"{base}/model.zip", data)
    ) == [folder]


def test_tampered_download_leaves_no_model(served: tuple[Path, str], tmp_path: Path) -> None:
    root, base = served
    data = _model_zip(root / "model.zip")
    catalogue = _entry(f"{base}/model.zip", data, sha256=hashlib.sha256(b"other").hexdigest())
    with pytest.raises(ChecksumError, match="SHA-256"):
        fetch_models(["vosk-model-test-0.1"], tmp_path / "models", catalogue=catalogue)
    assert list((tmp_path / "models").iterdir()) == []


def test_publisher_md5_and_size_pins_without_sha256(
    served: tuple[Path, str], tmp_path: Path
) -> None:
    root, base = served
    data = _model_zip(root / "model.zip")
    md5 = hashlib.md5(data).hexdigest()
    good = _entry(f"{base}/model.zip", data, sha256=None, md5=md5, size=len(data))
    [folder] = fetch_models(["vosk-model-test-0.1"], tmp_path / "a", catalogue=good)
    assert hashlib.sha256(data).hexdigest() in (folder / "SHA256SUMS").read_text()
    with pytest.raises(ChecksumError, match="no SHA-256 pin"):
        fetch_models(["vosk-model-test-0.1"], tmp_path / "b", catalogue=good, require_sha256=True)
    short = _entry(f"{base}/model.zip", data, sha256=None, md5=md5, size=len(data) + 1)
    with pytest.raises(ChecksumError, match="bytes, expected"):
        fetch_models(["vosk-model-test-0.1"], tmp_path / "c", catalogue=short)


def test_archive_escaping_its_folder_is_refused(served: tuple[Path, str], tmp_path: Path) -> None:
    root, base = served
    data = _model_zip(root / "model.zip", extra="../../escaped.txt")
    with pytest.raises(FetchError, match="escapes the folder"):
        fetch_models(
            ["vosk-model-test-0.1"], tmp_path / "m", catalogue=_entry(f"{base}/model.zip", data)
        )
    assert not (tmp_path / "escaped.txt").exists()


def test_unknown_model_and_http_errors_are_clear(served: tuple[Path, str], tmp_path: Path) -> None:
    _root, base = served
    with pytest.raises(FetchError, match="unknown model"):
        fetch_models(["vosk-model-urdu"], tmp_path)
    catalogue = _entry(f"{base}/missing.zip", b"")
    with pytest.raises(FetchError, match="404"):
        fetch_models(["vosk-model-test-0.1"], tmp_path / "m", catalogue=catalogue)


def test_catalogue_names_the_deployment_models() -> None:
    assert {"vosk-model-small-en-in-0.4", "vosk-model-small-hi-0.22"} <= set(CATALOGUE)
    multilingual = {f"faster-whisper-{size}" for size in ("small", "medium", "large-v3-turbo")}
    assert multilingual <= set(CATALOGUE)
    for name in multilingual:
        source = CATALOGUE[name]
        assert source.engine == "whisper" and source.language == "und" and source.unpack == "none"
        assert {"config.json", "model.bin", "tokenizer.json"} <= {f.filename for f in source.files}
    for source in CATALOGUE.values():
        for remote in source.files:
            assert remote.url.startswith("https://")
            assert remote.sha256 or remote.md5 or source.engine == "whisper"
