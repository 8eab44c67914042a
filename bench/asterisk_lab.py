"""The real Asterisk 22 lab bundle (``../shared/asterisk``, beside the shared data), started with
the project's own dialplan for the real-Asterisk tests and ``bench telephony``.

The bundle's ``start`` script writes a work dir, waits until Asterisk is fully booted and AMI
answers, and prints ``AMI=... PID=... WORKDIR=...``; ``stop WORKDIR`` ends that Asterisk only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKER_ASTERISK = REPO_ROOT / "docker" / "asterisk"

_next_port = 0


def data_dir() -> Path:
    return Path(os.environ.get("H15_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))


def bundle_dir() -> Path | None:
    """The bundle beside the shared data folder, or None if it is not there."""
    bundle = data_dir().parent / "asterisk"
    return bundle if (bundle / "start").exists() else None


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


def queues_with_members(*members: str) -> str:
    """The project's queues.conf with the given member interfaces added to ``calltakers``."""
    text = (DOCKER_ASTERISK / "queues.conf").read_text()
    return text + "".join(f"member => {m}\n" for m in members)
