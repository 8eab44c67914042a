"""Load-generating clients for the API benchmarks: cheap enough not to starve the server.

The server and the load share two cores, so every client here spends as little CPU per
request as it can: raw HTTP/1.1 keep-alive for the ping flood, websockets for the live feeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import websockets

PASSWORD = "bench-password-1"
LAHORE = (31.5204, 74.3587)
_TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None when nothing was measured."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


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


class KeepAliveClient:
    """A minimal HTTP/1.1 keep-alive client for the ping flood.

    httpx spends ~1 ms of CPU per request, which on a 2-core machine starved the server it was
    measuring; this one writes the request bytes and reads one Content-Length response, so
    nearly all the CPU is left to the server.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post_json(self, path: str, bearer: str, body: bytes) -> int:
        """POST and read the answer; a kept-alive connection the server has meanwhile closed
        (uvicorn drops idle ones after 5 s) is re-opened and the request sent once more, as
        HTTP clients do when no byte of the answer has arrived."""
        reused = self.writer is not None and not self.writer.is_closing()
        try:
            return await self._exchange(path, bearer, body)
        except asyncio.IncompleteReadError as exc:
            self.close()
            if not reused or exc.partial:
                raise
        return await self._exchange(path, bearer, body)

    async def _exchange(self, path: str, bearer: str, body: bytes) -> int:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Bearer {bearer}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        try:
            self.writer.write(head + body)
            header = await self.reader.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            length = 0
            for line in header.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                elif name.strip().lower() == b"connection" and value.strip() == b"close":
                    self.writer.close()
            await self.reader.readexactly(length)
            return status
        except _TRANSPORT_ERRORS:
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.writer = None


def ping_body(unit_id: int, step: int) -> bytes:
    return json.dumps({"lat": LAHORE[0] + (unit_id % 50) * 1e-3 + step * 1e-5,
                       "lon": LAHORE[1] + (unit_id // 50) * 1e-3, "accuracy_m": 8,
                       "ts": datetime.now(UTC).isoformat()}).encode()


async def ping_at_rate(base_url: str, bearer: str, unit_ids: list[int], *, rate: float,
                       duration_s: float, max_connections: int = 256,
                       warmup_s: float = 1.0) -> dict[str, Any]:
    """Open loop: handsets ping on a fixed schedule whatever the server's pace.

    Latency runs from each ping's *scheduled* time, so a server that falls behind shows it in
    the percentiles (no coordinated omission); a ping that finds every connection busy opens
    another, up to `max_connections`, as a fleet of real handsets would. The first `warmup_s`
    run at the same rate but are not counted: they open the connections the rate needs.
    """
    host, port = base_url.removeprefix("http://").split(":")
    idle: list[KeepAliveClient] = []
    opened = 0
    latencies: list[float] = []
    errors = 0
    error_kinds: dict[str, int] = {}
    total = int(rate * (duration_s + warmup_s))
    counted_from = int(rate * warmup_s)
    start = time.perf_counter()
    slots = asyncio.Semaphore(max_connections)

    async def one(index: int, due: float) -> None:
        nonlocal opened, errors
        async with slots:
            if idle:
                client = idle.pop()
            else:
                client, opened = KeepAliveClient(host, int(port)), opened + 1
            unit_id = unit_ids[index % len(unit_ids)]
            try:
                status = await client.post_json(f"/api/v1/units/{unit_id}/position", bearer,
                                                ping_body(unit_id, index))
                kind = "" if status == 200 else f"HTTP {status}"
            except _TRANSPORT_ERRORS as exc:
                kind = type(exc).__name__
            idle.append(client)
        if not kind and index >= counted_from:
            latencies.append((time.perf_counter() - due) * 1000)
        elif kind:  # refused or broken, warm-up included
            errors += 1
            error_kinds[kind] = error_kinds.get(kind, 0) + 1

    tasks = []
    for index in range(total):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start - warmup_s
    for client in idle:
        client.close()
    return {"offered_per_s": rate, "pings": len(latencies), "ping_errors": errors,
            "error_kinds": error_kinds,
            "achieved_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": _round(percentile(latencies, 50)),
            "p99_ms": _round(percentile(latencies, 99)), "connections": opened}


def ping_at_rate_in_process(base_url: str, bearer: str, unit_ids: list[int], rate: float,
                            duration_s: float) -> dict[str, Any]:
    """`ping_at_rate` in a process of its own (see `pinger`), its heap frozen so that the
    measuring client's own garbage collection never shows as server latency."""
    gc.collect()
    gc.freeze()
    return asyncio.run(ping_at_rate(base_url, bearer, unit_ids, rate=rate,
                                    duration_s=duration_s))


async def ping_at_rate_apart(pool: Any, base_url: str, bearer: str, unit_ids: list[int], *,
                             rate: float, duration_s: float) -> dict[str, Any]:
    """Run the ping schedule in the pinger process, so that decoding the dashboards' feeds in
    this one never delays a ping or its timing."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, ping_at_rate_in_process, base_url, bearer,
                                      unit_ids, rate, duration_s)


def pinger() -> Any:
    """A one-process pool for `ping_at_rate_apart`."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))


class ConsoleWatch:
    """A call-taker's `/ws/console`, read for as long as the run lasts (as a real console is:
    a socket nobody reads fills the server's queue and is closed as too slow)."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.started: dict[str, float] = {}
        self.popped: dict[str, float] = {}
        self.changed = asyncio.Event()
        self.close_code: int | None = None
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.socket:
                if "call.updated" not in raw:
                    continue  # position batches are most of the feed; skip parsing them
                data = json.loads(raw).get("data") or {}
                linkedid = data.get("linkedid")
                if linkedid in self.started and linkedid not in self.popped:
                    self.popped[linkedid] = (time.perf_counter() - self.started[linkedid]) * 1000
                    self.changed.set()
        self.close_code = self.socket.close_code

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        await self.socket.close()


async def place_calls(emulator: Any, console: ConsoleWatch, *, calls: int, per_s: float,
                      deadline: float, call_s: float = 1.0) -> dict[str, Any]:
    """Ring `calls` calls on the Asterisk emulator; time each until the console shows it.

    The clock starts as the emulator emits the call's first AMI events (Newchannel) and stops
    at the `call.updated` on `/ws/console`: gateway → h15:calls → persister → PostgreSQL →
    stream → hub → socket, the path a real call takes.
    """
    audio = bytes(int(16_000 * call_s))  # 8 kHz 16-bit silence: rings, answers, streams, ends
    mine: list[str] = []
    for i in range(calls):
        if time.monotonic() > deadline:
            break
        moment = time.perf_counter()
        linkedid = await emulator.place_call(f"0300{i:07d}", pcm=audio)
        console.started[linkedid] = moment
        mine.append(linkedid)
        await asyncio.sleep(1 / per_s)
    while not all(c in console.popped for c in mine) and time.monotonic() < deadline \
            and console.close_code is None:
        console.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(console.changed.wait(), 0.5)
    pops = [console.popped[c] for c in mine if c in console.popped]
    result = {"calls": len(mine), "calls_popped": len(pops), "calls_lost": len(mine) - len(pops),
              "call_pop_p50_ms": _round(percentile(pops, 50)),
              "call_pop_p99_ms": _round(percentile(pops, 99))}
    if console.close_code is not None:
        result["console_closed"] = console.close_code
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
