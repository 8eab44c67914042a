"""The `helpline15` command line. Library commands are mounted from their packages."""

from __future__ import annotations

import importlib
import json
import sys

import typer
from rich.console import Console

from dispatch.settings import SettingsError, load_settings

app = typer.Typer(help="Helpline 15: emergency dispatch for police helplines.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
console = Console(stderr=True)

BENCHES = ("routing", "asr", "vision", "telephony", "api", "alerts", "triage")


def fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def settings_or_exit(**overrides: object):  # type: ignore[no-untyped-def]
    try:
        settings = load_settings(**overrides)
        settings.signing_key()
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


@user_app.command("add")
def user_add(
    name: str,
    role: str = typer.Option(..., help="call_taker, dispatcher, sho, supervisor or admin"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
    station: str | None = typer.Option(None, help="station code or id (required for an SHO)"),
) -> None:
    """Create a user."""
    from sqlalchemy import select

    from dispatch.context import AppContext
    from dispatch.database.core import session_scope
    from dispatch.errors import DomainError
    from dispatch.stations.models import Station
    from dispatch.users.service import create_user

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
def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000)) -> None:
    """The API and web consoles (uvicorn) against DATABASE_URL and REDIS_URL."""
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
    uvicorn.run(create_app(settings, background=True), host=host, port=port, log_level="info")


def _head_revision(config) -> str | None:  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config).get_current_head()


@app.command()
def demo(port: int = typer.Option(8000), calls: int = typer.Option(0, help="scripted calls"),
         speed: float = typer.Option(1.0, help="clock speed-up")) -> None:
    """The embedded default: one process, SQLite, in-process Redis, demo users and fleet."""
    from dispatch.demo import run_demo

    run_demo(port=port, calls=calls, speed=speed)


@app.command()
def worker(queues: list[str] = typer.Argument(None, help="vision, asr, default")) -> None:
    """An RQ worker on REDIS_URL."""
    from rq import Worker

    from dispatch.events.redis_client import make_redis

    settings = settings_or_exit()
    if settings.is_embedded:
        fail("REDIS_URL is not set: RQ workers need a real Redis (redis://host:port/db)")
    names = queues or ["default"]
    unknown = set(names) - {"vision", "asr", "default"}
    if unknown:
        fail(f"unknown queue(s) {', '.join(sorted(unknown))}; queues: vision, asr, default")
    Worker(names, connection=make_redis(settings.redis_url)).work(with_scheduler=False)


@app.command()
def scheduler() -> None:
    """The alert timer loop: rebuilds timers from the database, then follows incidents."""
    import asyncio
    import signal

    from dispatch.alerts.scheduling import AlertScheduling
    from dispatch.context import AppContext
    from dispatch.events.redis_client import make_async_redis

    settings = settings_or_exit()
    ctx = AppContext.from_settings(settings)

    async def main_loop() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        client = make_async_redis(settings.redis_url)
        try:
            await AlertScheduling(ctx, client).run(stop)
        finally:
            await client.aclose()

    console.print("alert scheduler running")
    asyncio.run(main_loop())
    ctx.close()


@app.command()
def bench(name: str = typer.Argument(..., help=", ".join(BENCHES)),
          json_out: bool = typer.Option(False, "--json", help="one JSON object"),
          quick: bool = typer.Option(False, help="a seconds-long smoke run")) -> None:
    """Print benchmark figures."""
    if name not in BENCHES:
        fail(f"unknown bench '{name}'; benches: {', '.join(BENCHES)}")
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError:
        fail(f"bench '{name}' is not built yet")
    figures = module.run(quick=quick)
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

