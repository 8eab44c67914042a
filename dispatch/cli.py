"""The `helpline15` command line. Library commands are mounted from their packages."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from dispatch.settings import SettingsError, load_settings

app = typer.Typer(help="Helpline 15: emergency dispatch for police helplines.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
data_app = typer.Typer(help="Maps and speech models for deployments.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(data_app, name="data")
speech_app = typer.Typer(help="Speech recognition, as live calls use it.", no_args_is_help=True)
app.add_typer(speech_app, name="speech")
console = Console(stderr=True)

BENCHES = ("routing", "asr", "vision", "telephony", "api", "alerts", "triage", "tiles")


def fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def settings_or_exit(**overrides: object):  # type: ignore[no-untyped-def]
    """Validated settings; secrets are redacted from every log line of this process."""
    from dispatch.security import install_log_redaction

    try:
        settings = load_settings(**overrides)
        settings.signing_key()
        install_log_redaction([settings.secret_key, settings.ami_secret,
                               settings.metrics_token])
        return settings
    except SettingsError as exc:
        fail(str(exc))


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations to DATABASE_URL."""
    from dispatch.database.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url, revision)
    console.print(f"database at revision {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(...)) -> None:
    """Roll migrations back to REVISION ('base' empties the schema)."""
    from dispatch.database.migrate import downgrade

    downgrade(load_settings().database_url, revision)
    console.print(f"database at revision {revision}")


PASSWORD_ENV = "H15_PASSWORD"


def read_password(*, given: str | None, file: Path | None, env_name: str | None) -> str:
    """The new user's password from one source; never from the command line if avoidable.

    A password in argv is visible to every local user (`ps`) and lands in shell history, so
    `--password` only warns and is kept for scripts written against it.
    """
    import os

    chosen = [n for n, v in (("--password", given), ("--password-file", file),
                             ("--password-env", env_name)) if v is not None]
    if len(chosen) > 1:
        fail(f"give the password one way, not {' and '.join(chosen)}")
    if given is not None:
        console.print("[yellow]warning:[/] --password is deprecated: it shows the password in "
                      "the process list and shell history; use the prompt, --password-file "
                      f"or --password-env (or set {PASSWORD_ENV})")
        return given
    if file is not None:
        try:
            text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"cannot read --password-file {file}: {exc.strerror}")
        return text.splitlines()[0] if text.strip() else ""
    if env_name is not None:
        if env_name not in os.environ:
            fail(f"--password-env: the variable {env_name} is not set")
        return os.environ[env_name]
    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV]
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def user_add(
    name: str,
    role: str = typer.Option(..., help="call_taker, dispatcher, sho, supervisor or admin"),
    password: str | None = typer.Option(
        None, help="deprecated (visible in the process list): prefer the prompt, "
                   "--password-file or --password-env"),
    password_file: Path | None = typer.Option(
        None, help="read the password from the first line of this file ('-': stdin)"),
    password_env: str | None = typer.Option(
        None, help=f"read the password from this environment variable (default {PASSWORD_ENV})"),
    station: str | None = typer.Option(None, help="station code or id (required for an SHO)"),
) -> None:
    """Create a user. The password is asked for (hidden, twice) unless a file or variable
    holds it."""
    from sqlalchemy import select

    from dispatch.context import AppContext
    from dispatch.database.core import session_scope
    from dispatch.errors import DomainError
    from dispatch.stations.models import Station
    from dispatch.users.service import create_user

    password = read_password(given=password, file=password_file, env_name=password_env)
    if len(password) < 4:  # as POST /users
        fail("the password must be at least 4 characters long")
    ctx = AppContext.from_settings(load_settings())
    try:
        with session_scope(ctx.sessions) as session:
            station_id = None
            if station is not None:
                found = session.scalar(select(Station).where(
                    (Station.code == station) | (Station.id == _int_or_none(station))))
                if found is None:
                    fail(f"no station '{station}'")
                station_id = found.id  # type: ignore[union-attr]
            user = create_user(session, username=name, password=password, role=role,
                               station_id=station_id, actor="cli")
            console.print(f"created user {user.username} ({user.role})")
    except DomainError as exc:
        fail(exc.message)
    finally:
        ctx.close()


def _int_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@app.command()
def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          workers: int = typer.Option(1, min=1, max=64,
                                      help="uvicorn worker processes (one per core)"),
          access_log: bool = typer.Option(False, help="log every request (costly under load)"),
          ) -> None:
    """The API and web consoles (uvicorn) against DATABASE_URL and REDIS_URL.

    Each worker is a full replica: it serves HTTP and WebSockets, and shares the background
    work (event persister, congestion refresh) with the others through Redis consumer groups.
    """
    import uvicorn

    from dispatch.api import create_app
    from dispatch.database.migrate import current_revision, upgrade

    settings = settings_or_exit()
    if settings.is_embedded:
        upgrade(settings.database_url)
    else:
        from dispatch.database.migrate import alembic_config

        head = _head_revision(alembic_config(settings.database_url))
        if current_revision(settings.database_url) != head:
            fail("the database schema is not up to date: run 'helpline15 db upgrade'")
    if (settings.is_embedded or settings.is_embedded_database) and workers > 1:
        fail("the embedded database and Redis live in one process: use --workers 1, or set "
             "DATABASE_URL and REDIS_URL")
    if workers == 1:
        uvicorn.run(create_app(settings, background=True), host=host, port=port,
                    log_level="info", access_log=access_log)
    else:  # workers are separate processes: each builds its app from the same environment
        uvicorn.run("dispatch.api:served_app", factory=True, workers=workers, host=host,
                    port=port, log_level="info", access_log=access_log)


def _head_revision(config) -> str | None:  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config).get_current_head()


@app.command()
def demo(port: int = typer.Option(8000), calls: int = typer.Option(0, help="scripted calls"),
         speed: float = typer.Option(1.0, help="clock speed-up"),
         city: str = typer.Option("auto", help="auto, helsinki, islamabad_rawalpindi or lahore "
                                               "(downloaded and cut on first use)")) -> None:
    """The embedded default: one process, SQLite, in-process Redis, demo users and fleet."""
    from dispatch.demo import run_demo

    raise typer.Exit(run_demo(port=port, calls=calls, speed=speed, city=city))


@app.command()
def worker(queues: list[str] = typer.Argument(None, help="vision, asr, default"),
           burst: bool = typer.Option(False, help="exit when the queues are empty")) -> None:
    """An RQ worker on REDIS_URL; run as many as you like, on any machine reaching Redis."""
    settings = settings_or_exit()
    if settings.is_embedded:
        fail("REDIS_URL is not set: RQ workers need a real Redis (redis://host:port/db)")
    names = tuple(queues or ["default"])
    unknown = set(names) - {"vision", "asr", "default"}
    if unknown:
        fail(f"unknown queue(s) {', '.join(sorted(unknown))}; queues: vision, asr, default")
    if "asr" in names:
        import telephony.speech.jobs  # noqa: F401  (preloaded for the forked work-horses)
    from vision_feed.worker import run_worker

    run_worker(settings.redis_url, queues=names, burst=burst)


def _run_until_signal(factory) -> None:  # type: ignore[no-untyped-def]
    """Run an async main(stop) until SIGINT or SIGTERM."""
    import asyncio
    import signal

    async def main_loop() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await factory(stop)

    asyncio.run(main_loop())


@app.command()
def gateway(speech: bool = typer.Option(True, help="transcribe calls live")) -> None:
    """The telephony gateway: AMI connection, AudioSocket server, speech recognition."""
    import logging

    from dispatch.events.redis_client import make_async_redis
    from dispatch.runtime import run_gateway_process

    # an operator follows calls in this log: link, login, resync, each call's steps
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings_or_exit()

    async def main_loop(stop) -> None:  # type: ignore[no-untyped-def]
        client = make_async_redis(settings.redis_url)
        try:
            await run_gateway_process(settings, client, stop, with_speech=speech)
        except SettingsError as exc:
            fail(str(exc))
        finally:
            await client.aclose()

    console.print(f"gateway: AMI {settings.ami_host}:{settings.ami_port}, "
                  f"AudioSocket {settings.audiosocket_bind}")
    _run_until_signal(main_loop)


@data_app.command("fetch")
def data_fetch(
    city: str = typer.Option("lahore", help="city cut from Geofabrik's Pakistan extract"),
    models: list[str] = typer.Option(None, "--model", help="speech models to download"),
    dest: str | None = typer.Option(None, help="where maps/ and models/ go (default: "
                                              "MAP_DIR, and models/ under H15_HOME)"),
    skip_map: bool = typer.Option(False, help="models only"),
) -> None:
    """Download the city's OSM extract and the speech models from their publishers, verified."""
    import httpx

    from routing.fetch import fetch_city
    from routing.types import RoutingError
    from telephony.speech.fetch import CATALOGUE, fetch_models

    settings = load_settings()
    maps = Path(dest) / "maps" if dest else Path(settings.map_dir)
    model_dir = Path(dest or settings.home) / "models"
    try:
        if not skip_map:
            path = fetch_city(city, maps)
            console.print(f"map: {path}  (next: helpline15 map import {path})")
        for model_path in fetch_models(models or list(CATALOGUE), model_dir):
            console.print(f"model: {model_path}")
    except (RoutingError, OSError, RuntimeError, httpx.HTTPError) as exc:
        fail(f"fetch failed: {type(exc).__name__}: {exc}", code=1)


@app.command()
def scheduler() -> None:
    """The alert timer loop: rebuilds timers from the database, then follows incidents."""
    from dispatch.alerts.scheduling import AlertScheduling
    from dispatch.context import AppContext
    from dispatch.events.redis_client import make_async_redis

    settings = settings_or_exit()
    ctx = AppContext.from_settings(settings)

    async def main_loop(stop) -> None:  # type: ignore[no-untyped-def]
        client = make_async_redis(settings.redis_url)
        try:
            await AlertScheduling(ctx, client).run(stop)
        finally:
            await client.aclose()

    console.print("alert scheduler running")
    _run_until_signal(main_loop)
    ctx.close()


@speech_app.command("transcribe")
def speech_transcribe(
    file: Path = typer.Argument(..., help="a 16-bit mono WAV (8 kHz telephone or any rate)"),
    language: str = typer.Option("auto", help="ur, en, pa (ASR_LANGUAGES) or auto: detect"),
    json_out: bool = typer.Option(False, "--json", help="{language, text, segments, rtf}"),
) -> None:
    """One audio file through exactly the engine, language choice and guards of a live call."""
    from dispatch.runtime import speech_config
    from telephony.speech.cli import transcribe_command

    settings = settings_or_exit()
    try:
        config = speech_config(settings)
    except SettingsError as exc:
        fail(str(exc))
    transcribe_command(config, file, language, json_out)


@app.command()
def bench(name: str = typer.Argument(..., help=", ".join(BENCHES)),
          json_out: bool = typer.Option(False, "--json", help="one JSON object"),
          quick: bool = typer.Option(False, help="a seconds-long smoke run"),
          engine: str | None = typer.Option(None, help="asr: measure this engine/model "
                                            "instead of the default (e.g. vosk, whisper-tiny.en)"),
          ) -> None:
    """Print benchmark figures."""
    if name not in BENCHES:
        fail(f"unknown bench '{name}'; benches: {', '.join(BENCHES)}")
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError:
        fail(f"bench '{name}' is not built yet")
    figures = module.run(quick=quick, **({"engine": engine} if engine else {}))
    if json_out:
        sys.stdout.write(json.dumps(figures) + "\n")
    else:
        for key, value in figures.items():
            console.print(f"{key:>28}: {value}")


def _mount_optional(module: str, attr: str, name: str) -> None:
    """Mount a library's sub-command group if that library is present in this build."""
    group = _optional(module, attr)
    if group is not None:
        app.add_typer(group, name=name)


def _command_optional(module: str, attr: str, name: str) -> None:
    function = _optional(module, attr)
    if function is not None:
        app.command(name)(function)


def _optional(module: str, attr: str):  # type: ignore[no-untyped-def]
    """The attribute, or None when that module is absent; any other import error surfaces."""
    try:
        return getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


_mount_optional("routing.cli", "map_app", "map")
_mount_optional("vision_feed.cli", "vision_app", "vision")
_command_optional("telephony.cli", "emulate_asterisk", "emulate-asterisk")
_command_optional("dispatch.intake.cli", "triage_command", "triage")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

