"""A handset's own times are kept beside the server's, only within bounds; KPIs and alert clocks
use a time no handset can move. On the real PostgreSQL and Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerts.policy import load_policy
from dispatch.alerts.scheduling import timers_for
from dispatch.api import create_app
from dispatch.assignments.service import assign_unit
from dispatch.audit.models import StatusChange
from dispatch.clock import ClockBounds, check_reported_time
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.errors import Invalid
from dispatch.incidents.models import Incident, IncidentMilestone
from dispatch.incidents.service import create_incident
from dispatch.units.fastpath import ANSWERED, PingFastPath
from dispatch.units.service import create_unit
from tests.foundation.helpers import CHARING_CROSS, make_stations_and_role_users

PASSWORD = "correct horse battery"


@pytest.fixture
def city(ctx: AppContext) -> dict[str, int]:
    """A P1 incident whose unit was dispatched ten minutes ago (by the server's clock)."""
    dispatched = datetime.now(UTC) - timedelta(minutes=10)
    with session_scope(ctx.sessions) as session:
        civil, _ = make_stations_and_role_users(session, PASSWORD)
        unit = create_unit(session, call_sign="CL-1", station_id=civil.id, kind="patrol_car")
        incident = create_incident(session, incident_type="robbery_snatching", priority="P1",
                                   actor="ct", lat=CHARING_CROSS[0], lon=CHARING_CROSS[1],
                                   now=dispatched - timedelta(seconds=60))
        assignment = assign_unit(session, incident=incident, unit_id=unit.id, actor="d",
                                 now=dispatched)
        return {"unit": unit.id, "incident": incident.id, "assignment": assignment.id}


def login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token",
                           data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def step(client: TestClient, city: dict, status: str, at: datetime | None = None):  # type: ignore[no-untyped-def]
    body = {"status": status} | ({"at": at.isoformat()} if at else {})
    return client.post(f"/api/v1/assignments/{city['assignment']}/status",
                       headers=login(client, "sho"), json=body)


def dispatched_at(ctx: AppContext, city: dict) -> datetime:
    with ctx.sessions() as session:
        return session.scalars(select(IncidentMilestone.reached_at).where(
            IncidentMilestone.incident_id == city["incident"],
            IncidentMilestone.milestone == "unit_dispatched")).one()


def test_a_step_stamped_a_day_before_dispatch_is_refused_naming_at(
        client: TestClient, ctx: AppContext, city: dict) -> None:
    response = step(client, city, "acknowledged", dispatched_at(ctx, city) - timedelta(days=1))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("'at' ") and "before the server received it" in detail
    # Within the queue delay but before the step it follows: refused for that reason.
    early = step(client, city, "acknowledged", dispatched_at(ctx, city) - timedelta(seconds=5))
    assert early.status_code == 422
    assert "'at'" in early.json()["detail"] and "before the dispatched step" in \
        early.json()["detail"]
    with ctx.sessions() as session:  # nothing was stored
        assert session.scalars(select(StatusChange).where(
            StatusChange.to_status == "acknowledged")).all() == []


def test_a_step_stamped_an_hour_ahead_is_refused(client: TestClient, city: dict) -> None:
    response = step(client, city, "acknowledged", datetime.now(UTC) + timedelta(hours=1))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("'at' ") and "in the future" in detail and "skew 30 s" in detail


def test_an_offline_queued_step_is_kept_with_both_times(
        client: TestClient, ctx: AppContext, city: dict) -> None:
    tapped = dispatched_at(ctx, city) + timedelta(minutes=2)  # 8 min ago, sent only now
    before = datetime.now(UTC)
    response = step(client, city, "acknowledged", tapped)
    after = datetime.now(UTC)
    assert response.status_code == 200, response.text
    assert datetime.fromisoformat(response.json()["acknowledged_at"]) == tapped
    with ctx.sessions() as session:
        history = session.scalars(select(StatusChange).where(
            StatusChange.entity_type == "assignment",
            StatusChange.to_status == "acknowledged")).one()
        assert history.at == tapped and before <= history.received_at <= after
    milestones = client.get(f"/api/v1/incidents/{city['incident']}",
                            headers=login(client, "dispatcher")).json()["milestones"]
    ack = next(m for m in milestones if m["milestone"] == "unit_acknowledged")
    assert datetime.fromisoformat(ack["reached_at"]) == tapped
    assert before <= datetime.fromisoformat(ack["received_at"]) <= after
    # A live tap without `at` is stamped with the server's time.
    live = step(client, city, "en_route")
    assert live.status_code == 200
    assert before <= datetime.fromisoformat(live.json()["en_route_at"]) <= datetime.now(UTC)


def test_kpis_say_their_time_basis_and_a_handset_cannot_improve_them(
        client: TestClient, ctx: AppContext, city: dict) -> None:
    tapped = dispatched_at(ctx, city) + timedelta(seconds=20)
    assert step(client, city, "acknowledged", tapped).status_code == 200
    supervisor = login(client, "supervisor")

    def acknowledge_time(**params: str) -> tuple[str, float]:
        body = client.get("/api/v1/kpi", headers=supervisor, params=params).json()
        row = next(r for r in body["rows"] if r["interval"] == "acknowledge_time")
        return body["time_basis"], row["max_s"]

    basis, received = acknowledge_time()
    assert basis == "received" and received >= 600  # the report came ten minutes late
    assert acknowledge_time(basis="reported") == ("reported", 20.0)  # the handset's claim
    csv = client.get("/api/v1/kpi/export.csv", headers=supervisor).text
    assert csv.splitlines()[-1].startswith("time_basis,received,")


def test_alert_clocks_start_no_later_than_the_report(ctx: AppContext, city: dict) -> None:
    """The next step's clock runs from the earlier of the handset's time and the receipt: a
    queued step starts it early, a forward-dated one cannot push it past the report."""
    policy = load_policy()
    with session_scope(ctx.sessions) as session:
        incident = session.get(Incident, city["incident"])
        row = session.scalars(select(IncidentMilestone).where(
            IncidentMilestone.incident_id == city["incident"],
            IncidentMilestone.milestone == "unit_dispatched")).one()
        received = row.received_at
        early, ahead = received - timedelta(minutes=5), received + timedelta(seconds=25)
        for claimed, expected in ((early, early), (ahead, received)):
            row.reached_at = claimed
            session.flush()
            specs = timers_for(session, policy, incident)
            target = policy.target_s("P1", "unit_acknowledged")
            assert {s.milestone for s in specs} == {"unit_acknowledged"}
            warning = next(s for s in specs if s.tier.value == "warning")
            assert warning.due_at == expected + timedelta(seconds=target)


@pytest.mark.parametrize("offset", [timedelta(seconds=90), timedelta(minutes=20)])
def test_pings_out_of_bounds_are_refused_alike_on_the_fast_path_and_the_route(
        ctx: AppContext, city: dict, offset: timedelta) -> None:
    """90 s ahead (past the 30 s skew) and 20 min old (past the 15 min queue delay)."""
    answers = []
    for fast in (True, False):
        app = create_app(context=ctx)
        if not fast:
            app.user_middleware = [m for m in app.user_middleware if m.cls is not PingFastPath]
        with TestClient(app) as client:
            sho = login(client, "sho")
            url = f"/api/v1/units/{city['unit']}/position"
            now = {"lat": 31.56, "lon": 74.31, "ts": datetime.now(UTC).isoformat()}
            assert client.post(url, headers=sho, json=now).status_code == 200  # revocation read
            seen = ANSWERED._value.get()
            ts = datetime.now(UTC) + (offset if offset < timedelta(minutes=5) else -offset)
            response = client.post(url, headers=sho, json={**now, "ts": ts.isoformat()})
            assert ANSWERED._value.get() == seen + (1 if fast else 0)  # the path it took
            answers.append((response.status_code, response.json()["detail"].split(" (")[0]))
    assert answers[0] == answers[1] == (422, "'ts'")


def test_the_rule_itself() -> None:
    received = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    bounds = ClockBounds(skew=timedelta(seconds=30), max_delay=timedelta(minutes=15))
    ok = [received, received + timedelta(seconds=30), received - timedelta(minutes=15)]
    for at in ok:
        assert check_reported_time(at, field="at", received=received, bounds=bounds) == at
    bad = [(received + timedelta(seconds=31), "in the future"),
           (received - timedelta(minutes=15, seconds=1), "before the server received it"),
           (received.replace(tzinfo=None), "timezone")]
    for at, reason in bad:
        with pytest.raises(Invalid, match=reason):
            check_reported_time(at, field="at", received=received, bounds=bounds)
    with pytest.raises(Invalid, match="before the on_scene step"):
        check_reported_time(received, field="at", received=received, bounds=bounds,
                            not_before=received + timedelta(seconds=1), previous_step="on_scene")
