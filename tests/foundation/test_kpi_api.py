"""GET /kpi and the CSV export, checked against hand-computed figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from dispatch.assignments.service import assign_unit
from dispatch.calls.service import apply_call_event
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.incidents.service import create_incident
from dispatch.units.service import create_unit
from dispatch.users.service import create_user
from tests.foundation.helpers import CHARING_CROSS, make_stations

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
# (answered after ring, dispatched after ring) in seconds, for three P1 calls.
CALLS = [(5, 90), (10, 120), (30, 200)]


def test_kpis_match_hand_computed_values(client: TestClient, ctx: AppContext) -> None:
    with session_scope(ctx.sessions) as session:
        civil, _ = make_stations(session)
        create_user(session, username="sup", password="pw-1234", role="supervisor")
        for n, (answered, dispatched) in enumerate(CALLS):
            ring = T0 + timedelta(minutes=10 * n)
            call = apply_call_event(session, event_type="call.ringing", data={
                "linkedid": f"k.{n}", "caller_number": "0300", "at": ring.isoformat()})
            apply_call_event(session, event_type="call.answered", data={
                "linkedid": f"k.{n}", "at": (ring + timedelta(seconds=answered)).isoformat()})
            incident = create_incident(session, incident_type="robbery_snatching",
                                       priority="P1", actor="ct", call_id=call.id,
                                       lat=CHARING_CROSS[0], lon=CHARING_CROSS[1],
                                       now=ring + timedelta(seconds=60))
            unit = create_unit(session, call_sign=f"CL-{n}", station_id=civil.id,
                               kind="patrol_car")
            assign_unit(session, incident=incident, unit_id=unit.id, actor="d",
                        now=ring + timedelta(seconds=dispatched))
    token = client.post("/api/v1/auth/token", data={"username": "sup", "password": "pw-1234"}
                        ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/kpi", headers=headers, params={
        "from": (T0 - timedelta(hours=1)).isoformat(), "to": (T0 + timedelta(hours=1)).isoformat()
    }).json()
    rows = {(r["priority"], r["interval"]): r for r in body["rows"]}
    answer = rows[("P1", "answer_time")]
    assert (answer["count"], answer["p50_s"], answer["max_s"]) == (3, 10.0, 30.0)
    # answer -> dispatch: 85, 110, 170 s; p90 by linear interpolation: 110 + 0.8 * 60 = 158.
    to_dispatch = rows[("P1", "answer_to_dispatch")]
    assert (to_dispatch["p50_s"], to_dispatch["p90_s"]) == (110.0, 158.0)
    compliance = {(c["standard"], c["threshold_s"]): c for c in body["compliance"]}
    nena_15 = next(c for (std, t), c in compliance.items() if "NENA" in std and t == 15)
    assert (nena_15["within"], nena_15["count"], nena_15["compliant"]) == (2, 3, False)
    nfpa = next(c for (std, _), c in compliance.items() if "1221" in std)
    assert (nfpa["within"], nfpa["count"]) == (0, 3)
    # Nothing in a window with no incidents.
    empty = client.get("/api/v1/kpi", headers=headers,
                       params={"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"})
    assert empty.json()["rows"] == []
    bad = client.get("/api/v1/kpi", headers=headers,
                     params={"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"})
    assert bad.status_code == 422
    csv = client.get("/api/v1/kpi/export.csv", headers=headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "answer_time" in csv.text and "NENA" in csv.text
