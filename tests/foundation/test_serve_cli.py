"""`helpline15 db upgrade`, `user add` and `serve` as a user runs them, on the real servers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from dispatch.vocabulary import ROLES
from tests.conftest import PG_ADMIN_URL
from tests.foundation.conftest import SECRET

CLI = [sys.executable, "-m", "dispatch.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    name = f"h15t_serve_cli_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    env = {**os.environ, "DATABASE_URL": f"{base}/{name}", "REDIS_URL": redis_url,
           "SECRET_KEY": SECRET}
    run = {"env": env, "cwd": tmp_path, "capture_output": True, "text": True, "timeout": 120}

    refused = subprocess.run([*CLI, "serve"], **run)  # schema not migrated yet
    assert refused.returncode != 0 and "helpline15 db upgrade" in refused.stderr

    assert subprocess.run([*CLI, "db", "upgrade"], **run).returncode == 0
    station = subprocess.run([sys.executable, "-c", (
        "from dispatch.context import AppContext; from dispatch.settings import load_settings;"
        "from dispatch.database.core import session_scope;"
        "from dispatch.stations.service import create_station;"
        "ctx = AppContext.from_settings(load_settings());"
        "s = session_scope(ctx.sessions).__enter__();"
        "create_station(s, code='LHR-CL', name='Civil Lines', lat=31.565, lon=74.315);"
        "s.commit()")], **run)
    assert station.returncode == 0, station.stderr
    for role in ROLES:
        extra = ["--station", "LHR-CL"] if role == "sho" else []
        added = subprocess.run([*CLI, "user", "add", f"{role}1", "--role", role,
                                "--password", "pw-" + role, *extra], **run)
        assert added.returncode == 0, added.stderr
    no_station = subprocess.run([*CLI, "user", "add", "sho9", "--role", "sho", "--password",
                                 "x1234"], **run)
    assert no_station.returncode == 2 and "station" in no_station.stderr

    port = free_port()
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            proc.kill()
            pytest.fail(f"serve did not start: {proc.stdout.read() if proc.stdout else ''}")
        yield url, env
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_serve_answers_health_docs_and_logins(served: tuple[str, dict[str, str]]) -> None:
    url, _ = served
    assert httpx.get(f"{url}/api/v1/health").json()["status"] == "ok"
    docs = httpx.get(f"{url}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    schema = httpx.get(f"{url}/openapi.json").json()
    assert "/api/v1/incidents" in schema["paths"]
    tokens = {}
    for role in ROLES:
        response = httpx.post(f"{url}/api/v1/auth/token",
                              data={"username": f"{role}1", "password": "pw-" + role})
        assert response.status_code == 200, response.text
        assert response.json()["role"] == role
        tokens[role] = response.json()["access_token"]
    refused = httpx.get(f"{url}/api/v1/alerts")
    assert refused.status_code == 401 and "Bearer" in refused.json()["detail"]
    wrong_role = httpx.get(f"{url}/api/v1/alerts",
                           headers={"Authorization": f"Bearer {tokens['call_taker']}"})
    assert wrong_role.status_code == 403
    assert "role 'call_taker' may not" in wrong_role.json()["detail"]
    allowed = httpx.get(f"{url}/api/v1/alerts",
                        headers={"Authorization": f"Bearer {tokens['supervisor']}"})
    assert allowed.status_code == 200 and allowed.json() == []


def test_serve_refuses_to_start_without_secret_key(redis_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DATABASE_URL="postgresql+psycopg://127.0.0.1:5432/test", REDIS_URL=redis_url)
    result = subprocess.run([*CLI, "serve"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr


def test_console_script_is_installed() -> None:
    assert shutil.which("helpline15", path=str(Path(sys.executable).parent)) is not None
