"""`helpline15 demo` as a new user runs it: within a minute or so the API shows calls with
transcripts, incidents, units on the move and alerts of every tier."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_data
from tests.foundation.test_serve_cli import free_port

TIERS = {"advisory", "warning", "critical", "emergency"}


@pytest.mark.slow
def test_demo_shows_the_whole_flow(tmp_path: Path) -> None:
    require_data("osm/islamabad_rawalpindi.osm.pbf")
    require_data("speech/samples/en1_tel8k.wav")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    proc = subprocess.Popen([sys.executable, "-m", "dispatch.cli", "demo", "--port", str(port),
                             "--speed", "3"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/api/v1"
    seen: dict[str, object] = {}
    try:
        token = None
        deadline = time.monotonic() + 240  # the first run compiles the map (~20 s here)
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(2)
            try:
                if token is None:
                    reply = httpx.post(f"{base}/auth/token",
                                       data={"username": "supervisor", "password": "demo"})
                    token = reply.json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                calls = httpx.get(f"{base}/calls", headers=headers).json()
                incidents = httpx.get(f"{base}/incidents", headers=headers).json()
                units = httpx.get(f"{base}/units", headers=headers).json()
                alerts = httpx.get(f"{base}/alerts", headers=headers).json()
            except (httpx.TransportError, KeyError, ValueError):
                continue
            seen["transcripts"] = [s["text"] for c in calls for s in c["segments"]]
            seen["incidents"] = len(incidents)
            seen["moving"] = [u["call_sign"] for u in units if u["status"] == "en_route"
                              and u["last_position_at"]]
            seen["tiers"] = {a["tier"] for a in alerts}
            if seen["transcripts"] and seen["incidents"] and seen["moving"] and \
                    seen["tiers"] == TIERS:
                break
        output = ""
    finally:
        proc.terminate()
        try:
            output = proc.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0]
    assert "supervisor console" in output, output[-3000:]
    assert any("accident" in t.lower() for t in seen.get("transcripts", [])), seen
    assert seen.get("incidents"), seen
    assert seen.get("moving"), seen
    assert seen.get("tiers") == TIERS, seen
