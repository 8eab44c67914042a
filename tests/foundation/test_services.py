"""Each domain's rules, on the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.alerts import service as alerts
from dispatch.assignments import service as assignments
from dispatch.audit.models import AppendOnlyViolation, AuditEntry, StatusChange
from dispatch.audit.service import status_history
from dispatch.calls import service as calls
from dispatch.errors import Conflict, Forbidden, Invalid, NotFound
from dispatch.incidents import service as incidents
from dispatch.stations.service import create_station, station_for_point
from dispatch.units import service as units
from dispatch.users.service import authenticate, create_user
from dispatch.vocabulary import UNIT_STATUSES
from tests.foundation.helpers import CHARING_CROSS, MODEL_TOWN_PARK, make_stations

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_station_for_point_uses_jurisdiction_then_nearest(session: Session) -> None:
    civil, model = make_stations(session)
    assert station_for_point(session, lat=CHARING_CROSS[0], lon=CHARING_CROSS[1]) is civil
    assert station_for_point(session, lat=MODEL_TOWN_PARK[0], lon=MODEL_TOWN_PARK[1]) is model
    # Outside every box: the nearest station still owns it (Kot Lakhpat is nearer Model Town).
    assert station_for_point(session, lat=31.4600, lon=74.3400) is model


def test_station_rejects_broken_jurisdiction(session: Session) -> None:
    with pytest.raises(Invalid, match="Polygon"):
        create_station(session, code="X", name="X", lat=31.5, lon=74.3,
                       jurisdiction={"type": "Point", "coordinates": [74.3, 31.5]})


def test_users_roles_and_passwords(session: Session) -> None:
    civil, _ = make_stations(session)
    with pytest.raises(Invalid, match="station"):
        create_user(session, username="sho1", password="pw1234", role="sho")
    with pytest.raises(Invalid, match="unknown role"):
        create_user(session, username="x", password="pw1234", role="commissioner")
    user = create_user(session, username="sho1", password="pw1234", role="sho",
                       station_id=civil.id)
    assert user.password_hash.startswith("$argon2id$")
    assert authenticate(session, username="sho1", password="pw1234") is user
    assert authenticate(session, username="sho1", password="wrong") is None
    assert authenticate(session, username="ghost", password="pw1234") is None
    with pytest.raises(Conflict):
        create_user(session, username="sho1", password="pw1234", role="dispatcher")


@pytest.mark.parametrize("start", UNIT_STATUSES)
def test_unit_state_machine_refuses_every_invalid_transition(session: Session,
                                                             start: str) -> None:
    civil, _ = make_stations(session)
    unit = units.create_unit(session, call_sign="CL-1", station_id=civil.id, kind="patrol_car")
    unit.status = start
    for target in UNIT_STATUSES:
        if target == start:
            continue
        if target in units.TRANSITIONS[start]:
            continue
        with pytest.raises(Conflict, match=f"from '{start}' to '{target}'"):
            units.change_status(session, unit=unit, status=target, actor="t")
        assert unit.status == start
    with pytest.raises(Invalid, match="unknown unit status"):
        units.change_status(session, unit=unit, status="flying", actor="t")


def test_unit_position_keeps_newest_fix(session: Session) -> None:
    civil, _ = make_stations(session)
    unit = units.create_unit(session, call_sign="CL-1", station_id=civil.id, kind="motorcycle")
    ok, _ = units.record_position(session, unit=unit, lat=31.56, lon=74.32, accuracy_m=8,
                                  ts=T0, now=T0)
    assert ok
    # A queued older ping replayed after a dead zone must not move the unit back.
    ok, reason = units.record_position(session, unit=unit, lat=31.50, lon=74.30, accuracy_m=8,
                                       ts=T0 - timedelta(seconds=30), now=T0)
    assert not ok and "older" in (reason or "")
    assert (unit.last_lat, unit.last_lon) == (31.56, 74.32)
    with pytest.raises(Invalid, match="future"):
        units.record_position(session, unit=unit, lat=31.5, lon=74.3, accuracy_m=5,
                              ts=T0 + timedelta(hours=1), now=T0)


def test_unit_scoping_for_sho(session: Session) -> None:
    civil, model = make_stations(session)
    unit = units.create_unit(session, call_sign="MT-1", station_id=model.id, kind="patrol_car")
    assert units.get_unit(session, unit_id=unit.id, station_scope=model.id) is unit
    with pytest.raises(Forbidden):
        units.get_unit(session, unit_id=unit.id, station_scope=civil.id)
    assert units.list_units(session, station_scope=civil.id) == []
    with pytest.raises(Invalid, match="kind"):
        units.create_unit(session, call_sign="X", station_id=civil.id, kind="helicopter")


def ring(session: Session, linkedid: str = "1763800000.1", number: str = "03001234567"):
    return calls.apply_call_event(session, event_type="call.ringing", data={
        "linkedid": linkedid, "caller_number": number, "channel": "PJSIP/trunk-0001",
        "at": T0.isoformat()})


def test_call_events_are_idempotent_and_never_go_backwards(session: Session) -> None:
    call = ring(session)
    for _ in range(2):  # a re-delivered event changes nothing
        calls.apply_call_event(session, event_type="call.answered", data={
            "linkedid": call.linkedid, "at": (T0 + timedelta(seconds=4)).isoformat()})
    calls.apply_call_event(session, event_type="call.ended", data={
        "linkedid": call.linkedid, "at": (T0 + timedelta(seconds=60)).isoformat(),
        "cause": 16, "cause_text": "Normal Clearing"})
    # A late ringing event (out of order) neither reopens the call nor moves the first ring.
    calls.apply_call_event(session, event_type="call.ringing", data={
        "linkedid": call.linkedid, "at": (T0 + timedelta(seconds=1)).isoformat()})
    assert call.state == "ended"
    assert call.ringing_at == T0
    assert call.answered_at == T0 + timedelta(seconds=4)
    assert (call.hangup_cause, call.hangup_cause_text) == (16, "Normal Clearing")
    assert len(list(session.scalars(select(calls.Call)))) == 1
    with pytest.raises(Invalid):
        calls.apply_call_event(session, event_type="call.ringing", data={"caller_number": "1"})


def test_transcript_final_replaces_partial_and_waits_for_link(session: Session) -> None:
    with pytest.raises(NotFound):
        calls.add_transcript(session, audiosocket_uuid="u-1", seq=0, kind="partial", text="x")
    call = ring(session)
    calls.apply_call_event(session, event_type="call.audiosocket_linked",
                           data={"linkedid": call.linkedid, "audiosocket_uuid": "u-1"})
    calls.add_transcript(session, audiosocket_uuid="u-1", seq=0, kind="partial",
                         text="there is a road")
    calls.add_transcript(session, audiosocket_uuid="u-1", seq=0, kind="final",
                         text="there is a road accident on mall road", start_s=0.4, end_s=3.9)
    calls.add_transcript(session, audiosocket_uuid="u-1", seq=0, kind="partial",
                         text="there is")  # a stale partial after the final changes nothing
    session.refresh(call)
    assert [(s.kind, s.text) for s in call.segments] == [
        ("final", "there is a road accident on mall road")]


def test_incident_from_call_starts_clock_at_first_ring(session: Session) -> None:
    civil, _ = make_stations(session)
    call = ring(session)
    calls.apply_call_event(session, event_type="call.answered", data={
        "linkedid": call.linkedid, "at": (T0 + timedelta(seconds=5)).isoformat()})
    incident = incidents.create_incident(
        session, incident_type="road_traffic_accident", priority="P1", actor="ct1",
        call_id=call.id, lat=CHARING_CROSS[0], lon=CHARING_CROSS[1],
        location_text="Mall Road near Charing Cross", location_source="transcript",
        now=T0 + timedelta(seconds=40))
    assert incident.station_id == civil.id
    reached = {m.milestone: m.reached_at for m in incidents.milestones(
        session, incident_id=incident.id)}
    assert reached == {"call_received": T0, "call_answered": T0 + timedelta(seconds=5),
                       "incident_created": T0 + timedelta(seconds=40)}
    other = incidents.create_incident(session, incident_type="fire", priority="P1", actor="ct1")
    with pytest.raises(Conflict, match="already belongs"):
        incidents.update_incident(session, incident=other, actor="ct1",
                                  changes={"link_call_id": call.id})


def test_incident_close_reopen_and_confirmed_location(session: Session) -> None:
    make_stations(session)
    incident = incidents.create_incident(
        session, incident_type="robbery_snatching", priority="P2", actor="ct1",
        lat=CHARING_CROSS[0], lon=CHARING_CROSS[1], location_confirmed=True)
    with pytest.raises(Conflict, match="confirmed"):
        incidents.update_incident(session, incident=incident, actor="aml", automatic=True,
                                  changes={"lat": 31.5, "lon": 74.3})
    with pytest.raises(Invalid, match="disposition"):
        incidents.update_incident(session, incident=incident, actor="d1",
                                  changes={"status": "closed"})
    incidents.update_incident(session, incident=incident, actor="d1",
                              changes={"status": "closed", "disposition": "false_alarm"})
    assert incident.status == "closed" and incident.closed_at is not None
    with pytest.raises(Conflict, match="closed"):
        incidents.update_incident(session, incident=incident, actor="d1",
                                  changes={"priority": "P1"})
    incidents.update_incident(session, incident=incident, actor="sup", changes={"status": "open"})
    assert (incident.status, incident.disposition) == ("open", None)
    history = [(c.from_status, c.to_status) for c in status_history(
        session, entity_type="incident", entity_id=incident.id)]
    assert history == [(None, "open"), ("open", "closed"), ("closed", "open")]


def test_assignment_lifecycle_moves_unit_incident_and_milestones(session: Session) -> None:
    civil, model = make_stations(session)
    unit = units.create_unit(session, call_sign="CL-1", station_id=civil.id, kind="patrol_car")
    incident = incidents.create_incident(session, incident_type="assault_fight", priority="P2",
                                         actor="ct1", lat=CHARING_CROSS[0], lon=CHARING_CROSS[1],
                                         now=T0)
    assignment = assignments.assign_unit(session, incident=incident, unit_id=unit.id,
                                         actor="d1", now=T0 + timedelta(seconds=30))
    assert (unit.status, incident.status) == ("dispatched", "dispatched")
    with pytest.raises(Conflict, match="not available"):
        assignments.assign_unit(session, incident=incident, unit_id=unit.id, actor="d1")
    with pytest.raises(Conflict, match="cannot go to 'on_scene'"):
        assignments.change_status(session, assignment=assignment, status="on_scene", actor="s")
    with pytest.raises(Forbidden):
        assignments.get_assignment(session, assignment_id=assignment.id, station_scope=model.id)
    steps = [("acknowledged", 40), ("en_route", 50), ("on_scene", 400)]
    for status, seconds in steps:  # each reported 5 s after it happened
        assignments.change_status(session, assignment=assignment, status=status, actor="sho1",
                                  at=T0 + timedelta(seconds=seconds),
                                  received=T0 + timedelta(seconds=seconds + 5))
    # A handset retrying a step it already took is harmless.
    assignments.change_status(session, assignment=assignment, status="on_scene", actor="sho1")
    assert (unit.status, incident.status) == ("on_scene", "on_scene")
    with pytest.raises(Conflict, match="still has units"):
        incidents.update_incident(session, incident=incident, actor="d1",
                                  changes={"status": "closed", "disposition": "arrest_made"})
    assignments.change_status(session, assignment=assignment, status="cleared", actor="sho1",
                              at=T0 + timedelta(seconds=900), received=T0 + timedelta(seconds=900))
    assert unit.status == "available"
    reached = {m.milestone: (m.reached_at - T0).total_seconds()
               for m in incidents.milestones(session, incident_id=incident.id)}
    assert reached == {"call_received": 0, "incident_created": 0, "unit_dispatched": 30,
                       "unit_acknowledged": 40, "unit_en_route": 50, "unit_on_scene": 400}
    received = {m.milestone: (m.received_at - T0).total_seconds()
                for m in incidents.milestones(session, incident_id=incident.id)}
    assert received == {"call_received": 0, "incident_created": 0, "unit_dispatched": 30,
                        "unit_acknowledged": 45, "unit_en_route": 55, "unit_on_scene": 405}
    incidents.update_incident(session, incident=incident, actor="d1",
                              changes={"status": "closed", "disposition": "arrest_made"})
    assert incident.status == "closed"


def test_alerts_raise_once_and_acknowledge(session: Session) -> None:
    incident = incidents.create_incident(session, incident_type="firing_shooting",
                                         priority="P1", actor="ct1")
    first = alerts.raise_alert(session, incident_id=incident.id, milestone="unit_dispatched",
                               tier="warning", due_at=T0, recipients=["sho", "duty_supervisor"])
    again = alerts.raise_alert(session, incident_id=incident.id, milestone="unit_dispatched",
                               tier="warning", due_at=T0, recipients=["sho"])
    assert first is not None and again is None
    alerts.acknowledge(session, alert_id=first.id, actor="sup1")
    with pytest.raises(Conflict, match="already"):
        alerts.acknowledge(session, alert_id=first.id, actor="sup1")


def test_audit_log_records_every_change_and_cannot_be_rewritten(session: Session) -> None:
    civil, _ = make_stations(session)
    unit = units.create_unit(session, call_sign="CL-1", station_id=civil.id, kind="patrol_car")
    incident = incidents.create_incident(session, incident_type="burglary", priority="P3",
                                         actor="ct1", lat=CHARING_CROSS[0], lon=CHARING_CROSS[1])
    incidents.update_incident(session, incident=incident, actor="ct2",
                              changes={"priority": "P2"})
    assignments.assign_unit(session, incident=incident, unit_id=unit.id, actor="d1")
    session.flush()
    actions = [(e.actor, e.action) for e in session.scalars(
        select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == [("system", "station.create"), ("system", "station.create"),
                       ("system", "unit.create"), ("ct1", "incident.create"),
                       ("ct2", "incident.update"), ("d1", "unit.status"),
                       ("d1", "assignment.create")]
    update = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "incident.update")).one()
    assert (update.before["priority"], update.after["priority"]) == ("P3", "P2")
    session.commit()
    entry = session.scalars(select(AuditEntry)).first()
    entry.actor = "mallory"  # type: ignore[union-attr]
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()
    change = session.scalars(select(StatusChange)).first()
    session.delete(change)
    with pytest.raises(AppendOnlyViolation):
        session.flush()
