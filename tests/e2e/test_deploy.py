"""The deployment files describe every process, with supervision and health checks."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO_ROOT

COMPOSE = REPO_ROOT / "docker" / "compose.yaml"
PROCESSES = {"api", "gateway", "worker-vision", "worker-asr", "scheduler", "migrate"}
SERVERS = {"postgres", "redis", "asterisk"}


def test_compose_runs_every_process_supervised_and_checked() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert set(services) >= PROCESSES | SERVERS
    for name in PROCESSES - {"migrate"}:
        service = services[name]
        assert service["restart"] == "unless-stopped", name
        assert service["command"][0] == "helpline15", name
    for name in ("api", "postgres", "redis"):
        assert "healthcheck" in services[name], name
    assert services["api"]["depends_on"]["migrate"]["condition"] == \
        "service_completed_successfully"
    env = services["api"]["environment"]
    assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["REDIS_URL"].startswith("redis://")
    for config in ("manager.conf", "extensions.conf"):
        assert (REPO_ROOT / "docker" / "asterisk" / config).is_file()
    # Every command the compose file runs is a real sub-command of this build.
    from typer.main import get_command

    from dispatch.cli import app

    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    for name in PROCESSES:
        assert services[name]["command"][1] in commands, name


def test_docker_compose_validates_the_file() -> None:
    docker = shutil.which("docker")
    has_compose = docker and subprocess.run([docker, "compose", "version"],
                                            capture_output=True).returncode == 0
    if not has_compose:
        pytest.skip("no Docker client with the compose plugin on this machine")
    result = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "-q"],
                            capture_output=True, text=True,
                            env={**os.environ, "POSTGRES_PASSWORD": "check-only"})
    assert result.returncode == 0, result.stderr
