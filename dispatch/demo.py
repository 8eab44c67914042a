"""The embedded demo: one process, a SQLite file, the in-process Redis substitute, demo users.

In demo mode only, one user per role exists with the role's name as user name and password
`demo` (INTERFACE.md). The full scripted city (calls through the Asterisk emulator, moving
units, alerts) grows here as the other parts land.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.settings import Settings, load_settings
from dispatch.stations.models import Station
from dispatch.stations.service import create_station
from dispatch.units.service import create_unit
from dispatch.users.models import User
from dispatch.users.service import create_user
from dispatch.vocabulary import ROLES

DEMO_PASSWORD = "demo"
DEMO_DB = Path("var/demo/helpline15-demo.db")
# Islamabad, Blue Area: the demo city's centre until the map-derived stations arrive.
DEMO_STATION = {"code": "ISB-KOHSAR", "name": "Kohsar Police Station", "lat": 33.7215,
                "lon": 73.0560}
DEMO_UNITS = (("KHS-1", "patrol_car"), ("KHS-2", "motorcycle"), ("KHS-3", "response_van"))


def demo_settings(db_path: Path = DEMO_DB) -> Settings:
    return load_settings(database_url=f"sqlite:///{db_path}", redis_url="memory://",
                         demo_mode=True)


def seed_demo(session: Session) -> None:
    """Create the demo station, fleet and one user per role (idempotent)."""
    station = session.scalar(select(Station).where(Station.code == DEMO_STATION["code"]))
    if station is None:
        station = create_station(session, actor="demo", **DEMO_STATION)  # type: ignore[arg-type]
        for call_sign, kind in DEMO_UNITS:
            create_unit(session, call_sign=call_sign, station_id=station.id, kind=kind,
                        actor="demo")
    for role in ROLES:
        if session.scalar(select(User).where(User.username == role)) is None:
            create_user(session, username=role, password=DEMO_PASSWORD, role=role,
                        station_id=station.id if role == "sho" else None, actor="demo")


def run_demo(*, port: int = 8000, calls: int = 0, speed: float = 1.0) -> None:
    import uvicorn

    from dispatch.api import create_app
    from dispatch.context import AppContext
    from dispatch.database.core import session_scope
    from dispatch.database.migrate import upgrade

    console = Console()
    DEMO_DB.parent.mkdir(parents=True, exist_ok=True)
    DEMO_DB.unlink(missing_ok=True)  # every demo starts from a clean city
    settings = demo_settings()
    upgrade(settings.database_url)
    ctx = AppContext.from_settings(settings)
    with session_scope(ctx.sessions) as session:
        seed_demo(session)
    base = f"http://127.0.0.1:{port}"
    console.print("[bold]Helpline 15 demo[/] (embedded: SQLite + in-process Redis)")
    console.print(f"  API and OpenAPI page: {base}/docs")
    console.print(f"  Health:               {base}/health")
    console.print(f"  Logins (password '{DEMO_PASSWORD}'): {', '.join(ROLES)}")
    if calls or speed != 1.0:
        console.print("  note: scripted calls and --speed arrive with the full demo city")
    uvicorn.run(create_app(context=ctx, background=True), host="127.0.0.1", port=port,
                log_level="warning")
