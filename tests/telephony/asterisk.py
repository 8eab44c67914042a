"""A real Asterisk 22 for the tests: the lab bundle in ``../shared/asterisk`` (beside the data).

Tests run the project's own ``docker/asterisk/extensions.conf`` and ``queues.conf`` with
test-only contexts appended: stand-in callers, call-takers and SHO phones made of Local
channels that answer and play a clip. Calls are placed with AMI ``Originate`` of
``Local/15@<context>``, as the bundle's README describes. Under ``CI=true`` a missing bundle
fails the test; elsewhere it is a skip that says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, data_dir

DOCKER_ASTERISK = REPO_ROOT / "docker" / "asterisk"
SAMPLES = "speech/samples"


def bundle_dir() -> Path:
    """The Asterisk bundle: a sibling of the shared data folder."""
    bundle = data_dir().parent / "asterisk"
    if not (bundle / "start").exists():
        message = f"real Asterisk bundle missing: {bundle}/start (it lives beside H15_DATA_DIR)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return bundle


def clip(name: str) -> Path:
    """A spoken clip from ``speech/samples`` without its extension (Playback adds ``.wav``)."""
    from tests.conftest import require_data

    return require_data(f"{SAMPLES}/{name}.wav").with_suffix("")


_next_port = 0


def free_port() -> int:
    """A free TCP port: from ``H15_TEST_PORTS`` (``LOW-HIGH``) when set, else the OS's choice."""
    global _next_port
    span = os.environ.get("H15_TEST_PORTS")
    if not span:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]
    low, high = (int(p) for p in span.split("-"))
    for _ in range(high - low + 1):
        port = low + _next_port % (high - low + 1)
        _next_port += 1
        with socket.socket() as probe, contextlib.suppress(OSError):
            probe.bind(("127.0.0.1", port))
            return port
    raise RuntimeError(f"no free port in H15_TEST_PORTS={span}")


def stand_in_contexts(*, taker_clip: Path | None = None, sho_clip: Path | None = None,
                      caller_clips: tuple[Path, ...] = ()) -> str:
    """Dialplan appended in tests only: stand-in phones made of Local channels."""
    taker = f" same => n,Playback({taker_clip})\n" if taker_clip else ""
    sho = f" same => n,Playback({sho_clip})\n" if sho_clip else ""
    talk = "".join(f" same => n,Playback({c})\n" for c in caller_clips)
    return f"""
; ---- test-only contexts (tests/telephony/asterisk.py) ----
[h15test-calltaker]
exten => taker,1,Answer()
{taker} same => n,Wait(60)
 same => n,Hangup()
exten => late,1,Wait(2)                 ; the caller hears music on hold meanwhile
 same => n,Answer()
{taker} same => n,Wait(60)
 same => n,Hangup()
exten => leaver,1,Answer()
{taker} same => n,Hangup()

[h15test-sho]
exten => sho,1,Answer()
{sho} same => n,Wait(60)
 same => n,Hangup()
exten => noanswer,1,Wait(60)
 same => n,Hangup()

[h15test-caller]
exten => talk,1,Answer()
{talk} same => n,Wait(8)
 same => n,Hangup()
exten => dtmf,1,Playback(prompt_accident_report_8k_mono_s16)
 same => n,SendDTMF(15#,250)
 same => n,Wait(1)
 same => n,Hangup()
"""


def queues_with_members(*members: str) -> str:
    """The project's queues.conf with the given member interfaces added to ``calltakers``."""
    text = (DOCKER_ASTERISK / "queues.conf").read_text()
    return text + "".join(f"member => {m}\n" for m in members)


@dataclass
class RealAsterisk:
    """One running Asterisk from the bundle, in its own work dir."""

    bundle: Path
    ami_port: int
    audiosocket: str
    workdir: Path | None = None
    pid: int | None = None
    files: list[Path] = field(default_factory=list)

    def start(self, *, dialplan: str, queues: str) -> RealAsterisk:
        conf = Path(tempfile.mkdtemp(prefix="h15conf-"))
        self.files.append(conf)
        (conf / "extensions.conf").write_text(dialplan)
        (conf / "queues.conf").write_text(queues)
        proc = subprocess.run(
            [str(self.bundle / "start"), "--dialplan", str(conf / "extensions.conf"),
             "--queues", str(conf / "queues.conf"), "--ami-port", str(self.ami_port),
             "--audiosocket", self.audiosocket],
            capture_output=True, text=True, timeout=60, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"Asterisk did not start: {proc.stderr[-2000:]}")
        values = dict(part.split("=", 1) for part in proc.stdout.split())
        self.workdir, self.pid = Path(values["WORKDIR"]), int(values["PID"])
        return self

    def cli(self, command: str) -> str:
        assert self.workdir is not None
        return subprocess.run([str(self.bundle / "cli"), str(self.workdir), command],
                              capture_output=True, text=True, timeout=20, check=False).stdout

    def log(self) -> str:
        assert self.workdir is not None
        path = self.workdir / "log" / "full"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.workdir is not None:
            subprocess.run([str(self.bundle / "stop"), str(self.workdir)], capture_output=True,
                           timeout=30, check=False)

    def kill(self) -> None:
        """SIGKILL this Asterisk only (its own PID)."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def cleanup(self) -> None:
        self.stop()
        for path in self.files + ([self.workdir] if self.workdir else []):
            shutil.rmtree(path, ignore_errors=True)


def production_dialplan(**clips) -> str:  # type: ignore[no-untyped-def]
    """The project's extensions.conf plus the test-only contexts."""
    return (DOCKER_ASTERISK / "extensions.conf").read_text() + stand_in_contexts(**clips)


async def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll an (async or plain) predicate until it returns something truthy."""
    async def poll():  # type: ignore[no-untyped-def]
        while True:
            value = predicate()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            await asyncio.sleep(interval)

    return await asyncio.wait_for(poll(), timeout)
