"""The supervisor's boards in Debian's Chromium: the queue (P1 first, then oldest) with running
clocks against their targets, each station's units by status, and the camera layer with each
camera's reading. Screenshot:
test-artifacts/screenshots/boards-supervisor.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.incidents.models import Incident, IncidentMilestone
from dispatch.incidents.service import create_incident
from dispatch.settings import Settings
from dispatch.stations.service import create_station
from dispatch.units.service import create_unit
from dispatch.users.service import create_user
from tests.vision.test_publish import window
from tests.workflow.conftest import PASSWORD, LiveServer, screenshot, serving
from vision_feed.publish import congestion_payload, publish_congestion

pytestmark = pytest.mark.slow
CAMERAS = """
[[cameras]]
id = "cam-jinnah-avenue"
source = "rtsp://cameras.invalid/jinnah"
position = [33.7205, 73.0560]
heading_deg = 90.0
edges = ["11-12"]
ttl_s = 60

[[cameras]]
id = "cam-never-heard"
source = "rtsp://cameras.invalid/new"
position = [33.7230, 73.0450]
heading_deg = 0.0
edges = ["31-32"]
"""
BOX = {"type": "Polygon", "coordinates": [[[73.00, 33.70], [73.10, 33.70], [73.10, 33.75],
                                            [73.00, 33.75], [73.00, 33.70]]]}


@pytest.fixture
def floor_server(settings: Settings, ctx: AppContext, tmp_path: Path
                 ) -> Iterator[tuple[LiveServer, dict]]:
    now = datetime.now(UTC)
    registry = tmp_path / "cameras.toml"
    registry.write_text(CAMERAS, encoding="utf-8")
    settings = settings.model_copy(update={"cameras_path": str(registry)})
    publish_congestion(ctx.redis, congestion_payload("cam-jinnah-avenue", ["11-12"], window()),
                       ttl_s=60)
    ids = {}
    with session_scope(ctx.sessions) as session:
        station = create_station(session, code="ISB-KOH", name="Kohsar", lat=33.72, lon=73.05,
                                 jurisdiction=BOX)
        session.flush()
        create_user(session, username="sup", password=PASSWORD, role="supervisor")
        create_user(session, username="disp", password=PASSWORD, role="dispatcher")
        for sign, status in (("KOH-1", "available"), ("KOH-2", "en_route"),
                             ("KOH-3", "available")):
            create_unit(session, call_sign=sign, station_id=station.id,
                        kind="patrol_car").status = status
        for kind, priority, minutes in (("noise_nuisance", "P3", 20), ("fire", "P1", 2),
                                        ("burglary", "P2", 9)):
            at = now - timedelta(minutes=minutes)
            incident = create_incident(session, incident_type=kind, priority=priority,
                                       actor="test", lat=33.72, lon=73.05, now=at)
            session.flush()
            for row in session.scalars(select(IncidentMilestone).where(
                    IncidentMilestone.incident_id == incident.id)):
                row.reached_at = row.received_at = at
            session.get(Incident, incident.id).created_at = at
            ids[kind] = incident.id
    with serving(settings, ctx) as server:
        yield server, ids


def test_supervisor_sees_the_queue_with_clocks_and_units_by_station(open_console,
                                                                    floor_server) -> None:
    server, ids = floor_server
    page = open_console(server, "/console/supervisor", "sup")
    page.wait_for_selector("#queue-board tr.queue-row", timeout=20_000)
    rows = page.query_selector_all("#queue-board tr.queue-row")
    assert [int(r.get_attribute("data-incident-id")) for r in rows] == [
        ids["fire"], ids["burglary"], ids["noise_nuisance"]]
    fire = rows[0].query_selector("td.clock").inner_text()
    elapsed, target = re.search(r"(\d+:\d\d) / (\d+:\d\d)", fire).groups()
    assert target == "1:00"  # P1: a unit within 60 s of the incident (config/alerts.toml)
    assert rows[0].get_attribute("data-level") == "critical"  # two minutes: past 150 %
    with server.api("sup") as api:  # every row coloured at the tier the server's policy says
        tiers = {e["id"]: e["clock"]["tier"] or "ok" for e in api.get("/boards/queue").json()[
            "incidents"]}
    assert {int(r.get_attribute("data-incident-id")): r.get_attribute("data-level")
            for r in page.query_selector_all("#queue-board tr.queue-row")} == tiers
    first = page.inner_text("#queue-board tr.queue-row td.clock")
    page.wait_for_timeout(2200)  # the clock runs between polls
    assert page.inner_text("#queue-board tr.queue-row td.clock") != first
    board = page.wait_for_selector("#unit-board .station-board")
    assert "ISB-KOH" in board.inner_text()
    assert board.query_selector(".count[data-status='available']").get_attribute("data-n") == "2"
    assert board.query_selector(".count[data-status='en_route']").get_attribute("data-n") == "1"
    assert len(board.query_selector_all("li.unit")) == 3
    # The station's jurisdiction (from the database) outlined on the map.
    page.wait_for_selector("#map[data-jurisdictions='1']", state="attached")
    assert page.query_selector("path.jurisdiction") is not None
    # The camera layer: a jammed camera drawn in its reading's colour, a silent one hollow.
    page.wait_for_selector("#map[data-cameras='2']", state="attached", timeout=20_000)
    assert page.query_selector("path.camera.jammed:not(.stale)") is not None
    assert page.query_selector("path.camera.unreliable.stale") is not None
    screenshot(page, "boards-supervisor")


def test_the_dispatchers_console_shows_the_queue_too(open_console, floor_server) -> None:
    server, ids = floor_server
    page = open_console(server, "/console/call-taker", "disp")
    page.wait_for_selector("#queue-board tr.queue-row", timeout=20_000)
    rows = page.query_selector_all("#queue-board tr.queue-row")
    assert [int(r.get_attribute("data-incident-id")) for r in rows] == [
        ids["fire"], ids["burglary"], ids["noise_nuisance"]]
    assert page.query_selector("#unit-board") is None
    screenshot(page, "boards-call-taker")
