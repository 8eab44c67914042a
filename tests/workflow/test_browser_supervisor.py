"""The supervisor sees alerts by tier and acknowledges them; the station filter narrows the map."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.alerts.service import raise_alert
from dispatch.database.core import session_scope
from dispatch.events.outbox import publish_pending
from dispatch.stations.service import create_station
from dispatch.units.service import create_unit
from tests.workflow.conftest import City, LiveServer, screenshot

pytestmark = pytest.mark.slow

MODEL_TOWN_BOX = {"type": "Polygon", "coordinates": [[
    [74.30, 31.47], [74.34, 31.47], [74.34, 31.50], [74.30, 31.50], [74.30, 31.47]]]}


def test_alert_feed_acknowledge_and_station_filter(open_console, live_server: LiveServer,
                                                   city: City) -> None:
    ctx = live_server.ctx
    with session_scope(ctx.sessions) as session:
        model = create_station(session, code="LHR-MT", name="Model Town", lat=31.4830,
                               lon=74.3220, jurisdiction=MODEL_TOWN_BOX)
        other_unit = create_unit(session, call_sign="MT-1", station_id=model.id,
                                 kind="patrol_car").id
    with live_server.api("disp") as api:
        incident = api.post("/incidents", json={"incident_type": "firing_shooting",
                                                "priority": "P1", "lat": 31.5570,
                                                "lon": 74.3240}).json()
    page = open_console(live_server, "/console/supervisor", "sup")
    page.wait_for_selector(f"path.incident-marker.incident-{incident['id']}.priority-P1",
                           state="attached")
    assert page.locator("#alerts li.alert").count() == 0

    # The scheduler raises a warning and an emergency; both appear live, coloured by tier.
    with session_scope(ctx.sessions) as session:
        due = datetime.now(UTC) - timedelta(seconds=30)
        for tier in ("warning", "emergency"):
            raise_alert(session, incident_id=incident["id"], milestone="unit_dispatched",
                        tier=tier, due_at=due, recipients=["duty_supervisor"], late=True)
    publish_pending(session, ctx.events)
    page.wait_for_selector("#alerts li.alert.tier-warning.open")
    page.wait_for_selector("#alerts li.alert.tier-emergency.open")
    assert page.inner_text("#kpis").count("\n") > 0
    screenshot(page, "supervisor-alerts")

    page.click("#alerts li.alert.tier-emergency button.ack")
    page.wait_for_selector("#alerts li.alert.tier-emergency.acknowledged")
    with live_server.api("sup") as api:
        states = {a["tier"]: (a["state"], a["acknowledged_by"]) for a in api.get("/alerts").json()}
    assert states == {"emergency": ("acknowledged", "sup"), "warning": ("open", None)}

    # Filtering by station hides the other station's units.
    row = f"#units tr[data-unit-id='{other_unit}']"
    page.reload()
    page.wait_for_selector("#conn.live")
    page.wait_for_selector(row, state="visible")
    page.select_option("#station-filter", str(city.station_id))
    page.wait_for_selector(row, state="hidden")
    assert page.is_visible(f"#units tr[data-unit-id='{city.near_unit_id}']")
    page.select_option("#station-filter", "")
    page.wait_for_selector(row, state="visible")
