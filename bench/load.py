"""Peak-hour load on loopback against a real `helpline15 serve` on PostgreSQL and Redis.

A plain asyncio client (httpx + websockets) plays the control room's busiest hour:

* handsets: N SHO handsets post GPS pings (`POST /units/{id}/position`), a bounded number in
  flight at once, as fast as the server takes them;
* calls: the telephony gateway's `call.ringing` events are appended to `h15:calls` exactly as the
  gateway writes them; the call pop is timed from that append to the `call.updated` message on a
  call-taker's `/ws/console` (persister → PostgreSQL → stream → hub → socket);
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
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
import redis.asyncio as aioredis
import websockets

from dispatch.events.streams import CALLS, encode

PG_ADMIN_URL = os.environ.get("H15_TEST_PG_ADMIN_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("H15_BENCH_API_REDIS_URL", "redis://127.0.0.1:6379/13")
SECRET = "bench-load-secret-key-long-enough-0123456789abcdef"
PASSWORD = "bench-password-1"
CLI = [sys.executable, "-m", "dispatch.cli"]
LAHORE = (31.5204, 74.3587)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None when nothing was measured."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class ServedStack:
    """A fresh database with a city, and a `helpline15 serve` process that can be restarted."""

    redis_url: str = REDIS_URL
    units: int = 100
    db_name: str = field(default_factory=lambda: f"h15t_load_{uuid.uuid4().hex[:8]}")
    port: int = field(default_factory=free_port)
    unit_ids: list[int] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
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
        self.process = subprocess.Popen([*CLI, "serve", "--port", str(self.port)],
                                        env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited; see {self.log_path}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"serve did not answer within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def destroy(self) -> None:
        self.stop()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)


async def token(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post("/api/v1/auth/token",
                                 data={"username": username, "password": PASSWORD})
    response.raise_for_status()
    return response.json()["access_token"]


async def open_socket(url: str, channel: str, bearer: str,
                      since: dict[str, str] | None = None) -> Any:
    ws = await websockets.connect(f"{url}/ws/{channel}", max_size=2**22)
    await ws.send(json.dumps({"token": bearer, "since": since or {}}))
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    if hello.get("type") != "hello":
        raise RuntimeError(f"unexpected first message {hello}")
    return ws


async def drive_pings(client: httpx.AsyncClient, bearer: str, unit_ids: list[int],
                      rounds: int, in_flight: int, deadline: float) -> dict[str, Any]:
    """Every handset pings `rounds` times; at most `in_flight` requests outstanding."""
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {bearer}"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for r in range(rounds):
        for unit_id in unit_ids:
            queue.put_nowait(unit_id * 1000 + r)

    async def worker() -> None:
        nonlocal errors
        while not queue.empty() and time.monotonic() < deadline:
            item = queue.get_nowait()
            unit_id, r = divmod(item, 1000)
            body = {"lat": LAHORE[0] + (unit_id % 50) * 1e-3 + r * 1e-5,
                    "lon": LAHORE[1] + (unit_id // 50) * 1e-3, "accuracy_m": 8,
                    "ts": datetime.now(UTC).isoformat()}
            started = time.perf_counter()
            try:
                response = await client.post(f"/api/v1/units/{unit_id}/position",
                                             headers=headers, json=body)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed = time.perf_counter() - started
    return {"pings": len(latencies), "ping_errors": errors, "ping_elapsed_s": elapsed,
            "latencies": latencies}


async def drive_calls(stack: ServedStack, bearer: str, calls: int, per_s: float,
                      deadline: float) -> dict[str, Any]:
    """Append `call.ringing` as the gateway does; time until the console shows the call."""
    ws = await open_socket(stack.ws_url, "console", bearer)
    sent: dict[str, float] = {}
    popped: dict[str, float] = {}
    done = asyncio.Event()

    async def listen() -> None:
        async for raw in ws:
            msg = json.loads(raw)
            linkedid = (msg.get("data") or {}).get("linkedid")
            if msg.get("type") == "call.updated" and linkedid in sent and linkedid not in popped:
                popped[linkedid] = (time.perf_counter() - sent[linkedid]) * 1000
                if len(popped) == calls:
                    done.set()

    listener = asyncio.create_task(listen())
    publisher = aioredis.Redis.from_url(stack.redis_url)
    try:
        for i in range(calls):
            if time.monotonic() > deadline:
                break
            linkedid = f"load-{uuid.uuid4().hex[:12]}"
            data = {"linkedid": linkedid, "channel": f"PJSIP/trunk-{i:08x}",
                    "caller_number": f"0300{i:07d}", "at": datetime.now(UTC).isoformat()}
            sent[linkedid] = time.perf_counter()
            await publisher.xadd(CALLS, encode("call.ringing", data))
            await asyncio.sleep(1 / per_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), max(1.0, deadline - time.monotonic()))
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
        await ws.close()
        await publisher.aclose()
    return {"calls": len(sent), "calls_popped": len(popped),
            "call_pop_ms": list(popped.values())}


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


async def peak_hour(stack: ServedStack, *, rounds: int = 3, in_flight: int = 32,
                    calls: int = 100, calls_per_s: float = 10.0, supervisors: int = 5,
                    time_limit_s: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + time_limit_s
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30,
                                 limits=httpx.Limits(max_connections=in_flight + 4)) as client:
        sho, ct, sup = [await token(client, name) for name in ("sho", "ct", "sup")]
        stop = asyncio.Event()
        watchers = asyncio.create_task(watch_supervisors(stack, sup, supervisors, stop))
        await asyncio.sleep(0.2)
        pings, pops = await asyncio.gather(
            drive_pings(client, sho, stack.unit_ids, rounds, in_flight, deadline),
            drive_calls(stack, ct, calls, calls_per_s, deadline))
        stop.set()
        watched = await watchers
    ping_ms, pop_ms = pings.pop("latencies"), pops.pop("call_pop_ms")
    return {
        "handsets": len(stack.unit_ids), **pings, **pops, **watched,
        "pings_per_s": round(len(ping_ms) / pings["ping_elapsed_s"], 1)
        if pings["ping_elapsed_s"] else 0.0,
        "ping_p50_ms": _round(percentile(ping_ms, 50)),
        "ping_p99_ms": _round(percentile(ping_ms, 99)),
        "call_pop_p50_ms": _round(percentile(pop_ms, 50)),
        "call_pop_p99_ms": _round(percentile(pop_ms, 99)),
        "calls_lost": pops["calls"] - pops["calls_popped"],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def run_load(*, handsets: int = 1000, rounds: int = 3, calls: int = 200,
             calls_per_s: float = 10.0, supervisors: int = 5, in_flight: int = 32,
             redis_url: str = REDIS_URL, time_limit_s: float = 180.0) -> dict[str, Any]:
    stack = ServedStack(redis_url=redis_url, units=handsets).create()
    try:
        stack.start()
        return asyncio.run(peak_hour(stack, rounds=rounds, in_flight=in_flight, calls=calls,
                                     calls_per_s=calls_per_s, supervisors=supervisors,
                                     time_limit_s=time_limit_s))
    finally:
        stack.destroy()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handsets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--calls-per-s", type=float, default=10.0)
    parser.add_argument("--supervisors", type=int, default=5)
    parser.add_argument("--in-flight", type=int, default=32)
    args = parser.parse_args()
    print(json.dumps(run_load(handsets=args.handsets, rounds=args.rounds, calls=args.calls,
                              calls_per_s=args.calls_per_s, supervisors=args.supervisors,
                              in_flight=args.in_flight), indent=2))
