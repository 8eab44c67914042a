"""Dispatch rules: duplicate suggestions and merging, every invalid assignment transition,
and re-assigning a unit that never acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from dispatch.assignments import service as assignments
from dispatch.calls.service import apply_call_event
from dispatch.errors import Conflict, Invalid
from dispatch.incidents import service as incidents
from dispatch.units.service import create_unit
from tests.foundation.helpers import CHARING_CROSS, make_stations

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
STEPS = ("acknowledged", "en_route", "on_scene", "cleared", "cancelled")
ALLOWED = {"dispatched": {"acknowledged", "en_route", "cancelled"},
           "acknowledged": {"en_route", "cancelled"},
           "en_route": {"on_scene", "cancelled"},
           "on_scene": {"cleared"}, "cleared": set(), "cancelled": set()}


def accident(session: Session, dlat: float = 0.0, minutes: float = 0.0,
             kind: str = "road_traffic_accident"):  # type: ignore[no-untyped-def]
    return incidents.create_incident(session, incident_type=kind, priority="P2", actor="ct",
                                     lat=CHARING_CROSS[0] + dlat, lon=CHARING_CROSS[1],
                                     now=T0 + timedelta(minutes=minutes))


def test_duplicates_are_suggested_and_merged(session: Session) -> None:
    make_stations(session)
    first = accident(session)
    near = accident(session, dlat=0.001, minutes=4)  # ~110 m, 4 min later
    accident(session, dlat=0.02, minutes=2)  # 2 km away: another crash
    accident(session, dlat=0.0005, minutes=40)  # same spot, 40 min later
    accident(session, dlat=0.0005, minutes=1, kind="fire")  # same spot, other type
    found = incidents.duplicate_candidates(session, incident=near)
    assert [(i.id, round(d, -1)) for i, d in found] == [(first.id, 110.0)]
    call = apply_call_event(session, event_type="call.ringing",
                            data={"linkedid": "d.1", "caller_number": "0300", "at":
                                  T0.isoformat()})
    incidents.update_incident(session, incident=near, actor="ct",
                              changes={"link_call_id": call.id})
    incidents.merge_into(session, duplicate=near, target=first, actor="ct")
    assert (near.status, near.disposition) == ("closed", "duplicate")
    assert call.incident_id == first.id
    with pytest.raises(Invalid):
        incidents.merge_into(session, duplicate=first, target=first, actor="ct")


@pytest.mark.parametrize("start", sorted(ALLOWED))
def test_every_invalid_assignment_transition_is_refused(session: Session, start: str) -> None:
    civil, _ = make_stations(session)
    unit = create_unit(session, call_sign="CL-1", station_id=civil.id, kind="patrol_car")
    assignment = assignments.assign_unit(session, incident=accident(session), unit_id=unit.id,
                                         actor="d")
    path = {"dispatched": [], "acknowledged": ["acknowledged"],
            "en_route": ["en_route"], "on_scene": ["en_route", "on_scene"],
            "cleared": ["en_route", "on_scene", "cleared"], "cancelled": ["cancelled"]}[start]
    for step in path:
        assignments.change_status(session, assignment=assignment, status=step, actor="sho")
    assert assignment.status == start
    for target in STEPS:
        if target in ALLOWED[start] or target == start:
            continue
        with pytest.raises(Conflict):
            assignments.change_status(session, assignment=assignment, status=target,
                                      actor="sho")
        assert assignment.status == start
    with pytest.raises(Invalid):
        assignments.change_status(session, assignment=assignment, status="teleported",
                                  actor="sho")


def test_unacknowledged_assignment_can_be_reassigned(session: Session) -> None:
    civil, _ = make_stations(session)
    silent = create_unit(session, call_sign="CL-1", station_id=civil.id, kind="patrol_car")
    backup = create_unit(session, call_sign="CL-2", station_id=civil.id, kind="motorcycle")
    incident = accident(session)
    first = assignments.assign_unit(session, incident=incident, unit_id=silent.id, actor="d")
    assignments.change_status(session, assignment=first, status="cancelled", actor="d")
    assert (first.status, silent.status) == ("cancelled", "available")
    second = assignments.assign_unit(session, incident=incident, unit_id=backup.id, actor="d")
    assert second.status == "dispatched" and backup.status == "dispatched"
    assert [a.id for a in assignments.active_assignments(session, incident_id=incident.id)] \
        == [second.id]
