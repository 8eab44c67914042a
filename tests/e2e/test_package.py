"""The software as users install it: the built wheel (and the Docker image, where a Docker daemon
runs) triages with the same model as the checkout and serves the API and the consoles.

Nothing here reads the checkout at run time: the wheel is built from a copy of the project's
files and installed, without its dependencies, into a fresh virtual environment, run from an
empty folder. A file the server needs but the wheel leaves out (a config TOML, a migration, a
console script, the triage corpus) fails these tests; the triage corpus once lived under
`tests/` and the image silently fell back to keywords.

The fresh environment takes its third-party packages from the checkout's environment, read
only (one `.pth` line; that folder's own `.pth` hooks, among them the checkout's editable
install, are not run): installing ~2 GB of dependencies per run would take many minutes and
test pip rather than our package. `pip check` still verifies that every dependency the wheel
declares is satisfied there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

TEXTS = [
    "there is a fire in my house please come quickly",
    "two men on a motorcycle snatched my phone near the market",
    "mera bhai bemar hai ambulance bhejo",
]
PORT = 18231  # in this test's own range
RUN_TIMEOUT_S = 600


def project_files() -> list[str]:
    """What a clone holds: tracked and new files, without ignored ones (`.venv`, `var`)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"],
                            cwd=REPO_ROOT, capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name]


def clean_env(**extra: str) -> dict[str, str]:
    """No settings from the developer's environment: the defaults as a user gets them."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PIP_FIND_LINKS", "PIP_INDEX_URL",
            "PIP_NO_INDEX", "PIP_CONFIG_FILE")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, **extra}


def triage(command: list[str], cwd: Path, env: dict[str, str]) -> list[dict]:
    result = subprocess.run([*command, "triage", "-", "--json"], input="\n".join(TEXTS) + "\n",
                            cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def essentials(results: list[dict]) -> list[tuple]:
    return [(r["model"], r["incident_type"], r["priority"], round(r["confidence"], 3))
            for r in results]


@pytest.fixture(scope="module")
def checkout_triage(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    results = triage([sys.executable, "-m", "dispatch.cli"], REPO_ROOT, clean_env(
        PYTHONPATH=str(REPO_ROOT)))
    assert len(results) == len(TEXTS)
    assert all(r["model"] != "keywords-only" for r in results), results
    return results


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment holding the wheel built from a copy of the project."""
    root = tmp_path_factory.mktemp("package")
    source, wheels, venv = root / "source", root / "wheels", root / "venv"
    for name in project_files():
        path = REPO_ROOT / name
        if path.is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name)
    # Built as a user builds it: in an isolated build environment with the build-system
    # requirements of pyproject.toml.
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(wheels), str(source)],
                           capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("helpline15-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=RUN_TIMEOUT_S)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig"
                                ".get_paths()['purelib'])"], capture_output=True, text=True,
                               check=True).stdout.strip())
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                           "--no-deps", "--no-index", "-q", str(wheel)],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    shutil.rmtree(source)  # nothing may be read from the copy the wheel was built from
    yield venv


def test_the_wheel_runs_from_its_own_files(installed: Path) -> None:
    where = subprocess.run([str(installed / "bin" / "python"), "-c", (
        "import dispatch, config, dispatch.intake.corpus as c, dispatch.settings as s;"
        "print(dispatch.__file__); print(s.CONFIG_DIR); print(c.CORPUS_DIR)")],
        cwd=installed, env=clean_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert where.returncode == 0, where.stderr[-3000:]
    for line in where.stdout.split():
        assert Path(line).resolve().is_relative_to(installed.resolve()), line
        assert Path(line).exists(), line
    check = subprocess.run([sys.executable, "-m", "pip", "--python",
                            str(installed / "bin" / "python"), "check"],
                           capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_wheel_triages_with_the_checkouts_model(installed: Path, checkout_triage: list,
                                                     tmp_path: Path) -> None:
    results = triage([str(installed / "bin" / "helpline15")], tmp_path, clean_env())
    assert essentials(results) == essentials(checkout_triage)


def test_the_wheel_serves_the_api_and_the_consoles(installed: Path, tmp_path: Path) -> None:
    """`serve` with the defaults a user gets: migrates its SQLite file, answers /health, logs
    in a user made with `user add`, and serves the consoles' pages and scripts."""
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'h15.db'}", REDIS_URL="memory://",
                    NEW_PASSWORD="package-test-pw")
    cli = str(installed / "bin" / "helpline15")
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True,
           "timeout": RUN_TIMEOUT_S}
    upgraded = subprocess.run([cli, "db", "upgrade"], **run)
    assert upgraded.returncode == 0, upgraded.stderr[-3000:]
    added = subprocess.run([cli, "user", "add", "boss", "--role", "supervisor",
                            "--password-env", "NEW_PASSWORD"], **run)
    assert added.returncode == 0, added.stderr[-3000:]
    with served(cli, tmp_path, env) as url:
        assert httpx.get(f"{url}/health").json()["status"] == "ok"
        token = httpx.post(f"{url}/api/v1/auth/token", data={
            "username": "boss", "password": "package-test-pw"}).json()["access_token"]
        units = httpx.get(f"{url}/api/v1/units", headers={"Authorization": f"Bearer {token}"})
        assert units.status_code == 200 and units.json() == []
        page = httpx.get(f"{url}/console/supervisor")
        assert page.status_code == 200 and "<script" in page.text
        for asset in ("common.js", "supervisor.js", "console.css"):
            assert httpx.get(f"{url}/console/static/{asset}").status_code == 200, asset


class served:
    """`helpline15 serve` in the background until /health answers; stopped on exit."""

    def __init__(self, cli: str, cwd: Path, env: dict[str, str], port: int = PORT) -> None:
        self.command = [cli, "serve", "--port", str(port)]
        self.cwd, self.env, self.url = cwd, env, f"http://127.0.0.1:{port}"
        self.log = cwd / "serve.log"

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(self.command, cwd=self.cwd, env=self.env,
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self.url
            except httpx.TransportError:
                time.sleep(0.5)
        self.__exit__()
        pytest.fail(f"serve did not answer /health: {self.log.read_text()[-3000:]}")

    def __exit__(self, *_: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def docker_daemon() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run([docker, "info"], capture_output=True, timeout=60)
    return docker if probe.returncode == 0 else None


def test_the_image_triages_and_serves(checkout_triage: list) -> None:
    docker = docker_daemon()
    if docker is None:
        pytest.skip("no Docker daemon reachable (`docker info` fails): the image cannot be "
                    "built here; the wheel tests above check the same package contents")
    tag = f"helpline15:test-{uuid.uuid4().hex[:8]}"
    name = f"h15-test-{uuid.uuid4().hex[:8]}"
    build = subprocess.run([docker, "build", "-q", "-f", "docker/Dockerfile", "-t", tag, "."],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600)
    assert build.returncode == 0, build.stderr[-3000:]
    try:
        ran = subprocess.run([docker, "run", "--rm", "-i", tag, "helpline15", "triage", "-",
                              "--json"], input="\n".join(TEXTS) + "\n", capture_output=True,
                             text=True, timeout=RUN_TIMEOUT_S)
        assert ran.returncode == 0, ran.stderr[-3000:]
        results = [json.loads(line) for line in ran.stdout.splitlines() if line.strip()]
        assert essentials(results) == essentials(checkout_triage)
        started = subprocess.run([docker, "run", "-d", "--name", name, "-p",
                                  f"127.0.0.1:{PORT + 1}:8000", "-e",
                                  "DATABASE_URL=sqlite:////app/var/h15.db", "-e",
                                  "REDIS_URL=memory://", tag], capture_output=True, text=True,
                                 timeout=RUN_TIMEOUT_S)
        assert started.returncode == 0, started.stderr
        deadline, health = time.monotonic() + RUN_TIMEOUT_S, None
        while time.monotonic() < deadline and health is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{PORT + 1}/health", timeout=2)
            except httpx.TransportError:
                time.sleep(1)
        logs = subprocess.run([docker, "logs", name], capture_output=True, text=True).stderr
        assert health is not None and health.json()["status"] == "ok", logs[-3000:]
    finally:
        subprocess.run([docker, "rm", "-f", name], capture_output=True)
        subprocess.run([docker, "rmi", "-f", tag], capture_output=True)
