"""A real server (uvicorn on a free port, real PostgreSQL + Redis) and Debian's Chromium.

The consoles are tested the way people use them: a browser talking HTTP and WebSocket to a
running server, with the event persister working in the background as in production.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from dispatch.api import create_app
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.settings import Settings
from dispatch.stations.service import create_station
from dispatch.units.service import create_unit, get_unit, record_position
from dispatch.users.service import create_user
from tests.conftest import REPO_ROOT, TEST_SECRET, require_data

SECRET = TEST_SECRET
PASSWORD = "pw-console-1234"
CHROMIUM = os.environ.get("H15_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
MAP_CACHE = REPO_ROOT / "var" / "test-maps"  # shared with the foundation tests' cache
# Civil Lines, Lahore, simplified to a box around Mall Road.
CIVIL_LINES_BOX = {"type": "Polygon", "coordinates": [[
    [74.30, 31.55], [74.33, 31.55], [74.33, 31.58], [74.30, 31.58], [74.30, 31.55]]]}
CHARING_CROSS = (31.5570, 74.3240)


@dataclass
class City:
    station_id: int
    near_unit_id: int  # CL-1, parked at the station, nearest to Charing Cross
    far_unit_id: int  # CL-2, further north-west


@dataclass
class LiveServer:
    url: str
    ctx: AppContext  # the test's own context on the same database and Redis
    app: Any = None  # the running app (its own context holds the road map, when loaded)

    def token(self, username: str) -> str:
        response = httpx.post(f"{self.url}/api/v1/auth/token",
                              data={"username": username, "password": PASSWORD})
        response.raise_for_status()
        return response.json()["access_token"]

    def api(self, username: str) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/api/v1", timeout=10,
                            headers={"Authorization": f"Bearer {self.token(username)}"})


@pytest.fixture
def city(ctx: AppContext) -> City:
    with session_scope(ctx.sessions) as session:
        station = create_station(session, code="LHR-CL", name="Civil Lines", lat=31.5650,
                                 lon=74.3150, jurisdiction=CIVIL_LINES_BOX)
        for name, role, station_id in (("ct", "call_taker", None), ("disp", "dispatcher", None),
                                       ("sup", "supervisor", None), ("sho", "sho", station.id)):
            create_user(session, username=name, password=PASSWORD, role=role,
                        station_id=station_id)
        near = create_unit(session, call_sign="CL-1", station_id=station.id, kind="patrol_car")
        far = create_unit(session, call_sign="CL-2", station_id=station.id, kind="patrol_car")
        session.flush()
        ids = (station.id, near.id, far.id)
    with session_scope(ctx.sessions) as session:
        stamp = _utc_now()
        record_position(session, unit=get_unit(session, unit_id=ids[1]), lat=31.5600,
                        lon=74.3200, accuracy_m=10, ts=stamp)
        record_position(session, unit=get_unit(session, unit_id=ids[2]), lat=31.5750,
                        lon=74.3050, accuracy_m=10, ts=stamp)
    return City(*ids)


def _utc_now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(settings: Settings, ctx: AppContext, map_file: Path | None = None
            ) -> Iterator[LiveServer]:
    """uvicorn in a thread, with the persister folding gateway events into the database."""
    port = _free_port()
    app = create_app(settings, background=True)
    if map_file is not None:
        from dispatch.maps.service import load_map

        load_map(app.state.ctx, map_file)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ws="websockets", lifespan="on"))
    thread = threading.Thread(target=server.run, name="h15-test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", ctx=ctx, app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def live_server(settings: Settings, city: City, ctx: AppContext) -> Iterator[LiveServer]:
    with serving(settings, ctx) as server:
        yield server


@pytest.fixture(scope="session")
def twin_cities_map() -> Path:
    """The real Islamabad-Rawalpindi road graph, compiled once and cached under var/."""
    from routing.compile import compile_map

    return compile_map(require_data("osm/islamabad_rawalpindi.osm.pbf"), MAP_CACHE, name="twin")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Per module, not per session: sync Playwright keeps an event loop running in the main
    thread while it is open, which breaks any pytest-asyncio test that runs after it."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: run `make browser-deps`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_console(browser) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    """Open a console in its own browser context (own sessionStorage) and log in."""
    contexts = []
    page_errors: list[str] = []  # uncaught exceptions in the pages: always a bug

    def open_(server: LiveServer, path: str, username: str, *, phone: bool = False,  # type: ignore[no-untyped-def]
              init_script: str | None = None, where: tuple[float, float] = (31.5600, 74.3200)):
        options: dict = {"viewport": {"width": 412, "height": 900} if phone
                         else {"width": 1400, "height": 1000}}
        if phone:
            options |= {"is_mobile": True, "has_touch": True, "permissions": ["geolocation"],
                        "geolocation": {"latitude": where[0], "longitude": where[1],
                                        "accuracy": 12}}
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and print("browser:", msg.text))
        page.on("pageerror", lambda error: page_errors.append(f"{path}: {error}"))
        if init_script:
            page.add_init_script(init_script)
        page.goto(f"{server.url}{path}")
        page.fill("#login-user", username)
        page.fill("#login-password", PASSWORD)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("body[data-ready='true'] #conn.live", timeout=15_000)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not page_errors, f"uncaught errors in the consoles: {page_errors}"


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
