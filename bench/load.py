"""Peak-hour load on loopback against a real `helpline15 serve` on PostgreSQL and Redis.

A plain asyncio client plays the control room's busiest hour against `serve --workers 2`:

* handsets: N SHO handsets each post a GPS ping (`POST /units/{id}/position`) every
  `--ping-interval-s`, on schedule (open loop), from a process of their own;
* calls: the Asterisk emulator rings calls that stream audio to the real `helpline15 gateway`
  (AMI + AudioSocket), hundreds at once; each call pop is timed from the emulator's first AMI
  event to the `call.updated` message on a call-taker's `/ws/console`;
* supervisors: dashboards connected on `/ws/supervisor`, counting what they receive.

Everything is bounded in count and time. Run: `python -m bench.load [--handsets 1000]`.
The stack uses its own PostgreSQL database (dropped afterwards) and a dedicated Redis database
(`H15_BENCH_API_REDIS_URL`, default db 13, flushed first).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from bench.clients import (
    LAHORE,
    PASSWORD,
    ConsoleWatch,
    open_socket,
    ping_at_rate_apart,
    pinger,
    place_calls,
    token,
)

PG_ADMIN_URL = os.environ.get("H15_TEST_PG_ADMIN_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("H15_BENCH_API_REDIS_URL", "redis://127.0.0.1:6379/13")
SECRET = "bench-load-secret-key-long-enough-0123456789abcdef"
AMI_SECRET = "bench-ami-secret"
CLI = [sys.executable, "-m", "dispatch.cli"]
__all__ = ["LAHORE", "PASSWORD", "ServedStack", "open_socket", "token"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServedStack:
    """A fresh database with a city, and a `helpline15 serve` process that can be restarted."""

    redis_url: str = REDIS_URL
    units: int = 100
    workers: int = 1
    db_name: str = field(default_factory=lambda: f"h15t_load_{uuid.uuid4().hex[:8]}")
    port: int = field(default_factory=free_port)
    unit_ids: list[int] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    gateway: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def database_url(self) -> str:
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{base}/{self.db_name}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
                "SECRET_KEY": SECRET}

    def create(self) -> ServedStack:
        from dispatch.context import AppContext
        from dispatch.database.core import session_scope
        from dispatch.settings import load_settings
        from dispatch.stations.service import create_station
        from dispatch.units.service import create_unit
        from dispatch.users.service import create_user

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.db_name}"')
        redis.Redis.from_url(self.redis_url).flushdb()
        subprocess.run([*CLI, "db", "upgrade"], env=self.env(), check=True, timeout=180,
                       capture_output=True)
        ctx = AppContext.from_settings(load_settings(
            database_url=self.database_url, redis_url=self.redis_url, secret_key=SECRET))
        try:
            with session_scope(ctx.sessions) as session:
                (lat, lon), d = LAHORE, 0.2
                area = {"type": "Polygon", "coordinates": [[
                    [lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d],
                    [lon - d, lat + d], [lon - d, lat - d]]]}
                station = create_station(session, code="LHR-CIV", name="Civil Lines",
                                         lat=lat, lon=lon, jurisdiction=area)
                for name, role in (("ct", "call_taker"), ("sup", "supervisor"),
                                   ("sho", "sho"), ("disp", "dispatcher")):
                    create_user(session, username=name, password=PASSWORD, role=role,
                                station_id=station.id if role == "sho" else None)
                units = [create_unit(session, call_sign=f"LHR-{i:04d}", station_id=station.id,
                                     kind="motorcycle" if i % 3 else "patrol_car")
                         for i in range(self.units)]
                session.flush()
                self.unit_ids = [u.id for u in units]
        finally:
            ctx.close()
        return self

    def start(self, timeout: float = 60) -> None:
        self.log_path = self.log_path or Path(f"/tmp/{self.db_name}-serve.log")
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([*CLI, "serve", "--port", str(self.port),
                                         "--workers", str(self.workers)],
                                        env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)  # a group: workers die with it
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited; see {self.log_path}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"serve did not answer within {timeout:.0f} s; see {self.log_path}")

    def start_gateway(self, *, ami_port: int, audio_port: int) -> None:
        """`helpline15 gateway` (without speech: this measures the event path, not ASR)."""
        env = {**self.env(), "AMI_HOST": "127.0.0.1", "AMI_PORT": str(ami_port),
               "AMI_USERNAME": "bench", "AMI_SECRET": AMI_SECRET,
               "AUDIOSOCKET_BIND": f"127.0.0.1:{audio_port}"}
        log = (self.log_path or Path(f"/tmp/{self.db_name}-serve.log")).open("ab")
        self.gateway = subprocess.Popen([*CLI, "gateway", "--no-speech"], env=env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def stop_gateway(self) -> None:
        if self.gateway is not None and self.gateway.poll() is None:
            self.gateway.terminate()
            try:
                self.gateway.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.gateway.kill()
                self.gateway.wait(timeout=5)
        self.gateway = None

    def stop(self) -> None:
        self.stop_gateway()
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def destroy(self) -> None:
        self.stop()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)


async def watch_supervisors(stack: ServedStack, bearer: str, count: int,
                            stop: asyncio.Event) -> dict[str, int]:
    sockets = [await open_socket(stack.ws_url, "supervisor", bearer) for _ in range(count)]
    received = [0] * count

    async def read(i: int) -> None:
        with contextlib.suppress(Exception):
            async for _ in sockets[i]:
                received[i] += 1

    readers = [asyncio.create_task(read(i)) for i in range(count)]
    await stop.wait()
    for ws in sockets:
        await ws.close()
    for reader in readers:
        reader.cancel()
    return {"supervisors": count, "supervisor_messages_min": min(received, default=0)}


@contextlib.asynccontextmanager
async def telephony(stack: ServedStack, timeout_s: float = 60) -> AsyncIterator[Any]:
    """The Asterisk emulator in this process, and `helpline15 gateway` logged in to it."""
    from telephony.emulator.emulator import AsteriskEmulator

    audio_port = free_port()
    emulator = AsteriskEmulator(ami_port=0, audiosocket_addr=f"127.0.0.1:{audio_port}",
                                username="bench", secret=AMI_SECRET)
    await emulator.start()
    stack.start_gateway(ami_port=emulator.ami_port, audio_port=audio_port)
    try:
        deadline = time.monotonic() + timeout_s
        while not any(s.logged_in for s in emulator.ami.sessions):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not log in to AMI; see {stack.log_path}")
            await asyncio.sleep(0.1)
        yield emulator
    finally:
        stack.stop_gateway()
        await emulator.stop()


async def peak_hour(stack: ServedStack, *, ping_interval_s: float = 2.0, calls: int = 300,
                    calls_per_s: float = 10.0, call_s: float = 25.0, supervisors: int = 5,
                    time_limit_s: float = 180.0) -> dict[str, Any]:
    """Every handset pings each `ping_interval_s` while calls ring through the emulator, each
    streaming `call_s` of audio (so about calls_per_s × call_s overlap), and dashboards watch."""
    deadline = time.monotonic() + time_limit_s
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as client:
        sho, ct, sup = [await token(client, name) for name in ("sho", "ct", "sup")]
    stop = asyncio.Event()
    watchers = asyncio.create_task(watch_supervisors(stack, sup, supervisors, stop))
    console = ConsoleWatch(await open_socket(stack.ws_url, "console", ct))
    pool = pinger()
    concurrent: list[int] = []
    try:
        async with telephony(stack) as emulator:
            async def sample() -> None:
                while True:
                    concurrent.append(len(emulator.calls))
                    await asyncio.sleep(0.5)

            sampler = asyncio.create_task(sample())
            rate = len(stack.unit_ids) / ping_interval_s
            pings, pops = await asyncio.gather(
                ping_at_rate_apart(pool, stack.base_url, sho, stack.unit_ids, rate=rate,
                                   duration_s=calls / calls_per_s + call_s),
                place_calls(emulator, console, calls=calls, per_s=calls_per_s,
                            call_s=call_s, deadline=deadline))
            sampler.cancel()
    finally:
        pool.shutdown()
        await console.close()
        stop.set()
    watched = await watchers
    return {"handsets": len(stack.unit_ids), "ping_interval_s": ping_interval_s,
            "pings_per_s": pings["achieved_per_s"], "pings": pings["pings"],
            "ping_errors": pings["ping_errors"], "ping_p50_ms": pings["p50_ms"],
            "ping_p99_ms": pings["p99_ms"], "concurrent_calls_max": max(concurrent, default=0),
            **pops, **watched}


def run_load(*, handsets: int = 1000, ping_interval_s: float = 2.0, calls: int = 300,
             calls_per_s: float = 10.0, call_s: float = 25.0, supervisors: int = 5,
             redis_url: str = REDIS_URL, time_limit_s: float = 180.0,
             workers: int = 2) -> dict[str, Any]:
    stack = ServedStack(redis_url=redis_url, units=handsets, workers=workers).create()
    try:
        stack.start()
        return asyncio.run(peak_hour(stack, ping_interval_s=ping_interval_s, calls=calls,
                                     calls_per_s=calls_per_s, call_s=call_s,
                                     supervisors=supervisors, time_limit_s=time_limit_s))
    finally:
        stack.destroy()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handsets", type=int, default=1000)
    parser.add_argument("--ping-interval-s", type=float, default=2.0)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--calls-per-s", type=float, default=10.0)
    parser.add_argument("--call-s", type=float, default=25.0,
                        help="how long each call streams audio (sets how many overlap)")
    parser.add_argument("--supervisors", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(run_load(handsets=args.handsets, ping_interval_s=args.ping_interval_s,
                              calls=args.calls, calls_per_s=args.calls_per_s,
                              call_s=args.call_s, supervisors=args.supervisors,
                              workers=args.workers), indent=2))
