"""Sending units to incidents and following each step the SHO reports from the handset."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.assignments.models import Assignment
from dispatch.audit.service import record_change, record_status
from dispatch.clock import DEFAULT_BOUNDS, ClockBounds, check_reported_time, server_now
from dispatch.errors import Conflict, Forbidden, Invalid, NotFound
from dispatch.events.outbox import emit
from dispatch.events.streams import INCIDENTS
from dispatch.incidents.models import Incident
from dispatch.incidents.service import record_milestone, set_status
from dispatch.units import service as units
from dispatch.units.models import Unit

# assignment status -> (allowed previous statuses, unit status, milestone, timestamp field)
STEPS: dict[str, tuple[frozenset[str], str, str | None, str]] = {
    "acknowledged": (frozenset({"dispatched"}), "acknowledged", "unit_acknowledged",
                     "acknowledged_at"),
    "en_route": (frozenset({"dispatched", "acknowledged"}), "en_route", "unit_en_route",
                 "en_route_at"),
    "on_scene": (frozenset({"en_route"}), "on_scene", "unit_on_scene", "on_scene_at"),
    "cleared": (frozenset({"on_scene"}), "cleared", None, "cleared_at"),
}
ACTIVE = ("dispatched", "acknowledged", "en_route", "on_scene")
# The timestamp field of each status a step can follow ("not before the step it follows").
STAMPS = {"dispatched": "dispatched_at", "acknowledged": "acknowledged_at",
          "en_route": "en_route_at", "on_scene": "on_scene_at"}


def active_assignments(session: Session, *, incident_id: int) -> list[Assignment]:
    return list(session.scalars(select(Assignment).where(
        Assignment.incident_id == incident_id, Assignment.status.in_(ACTIVE))))


def list_for_incident(session: Session, *, incident_id: int) -> list[Assignment]:
    return list(session.scalars(select(Assignment).where(Assignment.incident_id == incident_id)
                                .order_by(Assignment.id)))


def assign_unit(session: Session, *, incident: Incident, unit_id: int, actor: str,
                now: datetime | None = None) -> Assignment:
    if incident.status == "closed":
        raise Conflict(f"incident {incident.id} is closed")
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    if unit.status != "available":
        raise Conflict(f"unit {unit.call_sign} is '{unit.status}', not available")
    at = now or datetime.now(UTC)
    assignment = Assignment(incident_id=incident.id, unit_id=unit.id, status="dispatched",
                            assigned_by=actor, dispatched_at=at)
    session.add(assignment)
    session.flush()
    units.change_status(session, unit=unit, status="dispatched", actor=actor)
    record_status(session, entity_type="assignment", entity_id=assignment.id,
                  from_status=None, to_status="dispatched", actor=actor)
    record_change(session, actor=actor, action="assignment.create", entity_type="assignment",
                  entity_id=assignment.id, after={"incident_id": incident.id,
                                                  "unit_id": unit.id})
    set_status(session, incident=incident, status="dispatched", actor=actor)
    record_milestone(session, incident_id=incident.id, milestone="unit_dispatched", at=at)
    emit(session, INCIDENTS, "assignment.created", assignment_event(assignment, unit, incident))
    return assignment


def get_assignment(session: Session, *, assignment_id: int,
                   station_scope: int | None = None) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(f"assignment {assignment_id} not found")
    if station_scope is not None:
        unit = session.get(Unit, assignment.unit_id)
        if unit is None or unit.station_id != station_scope:
            raise Forbidden(f"assignment {assignment_id} is for another station's unit")
    return assignment


def change_status(session: Session, *, assignment: Assignment, status: str, actor: str,
                  at: datetime | None = None, received: datetime | None = None,
                  bounds: ClockBounds = DEFAULT_BOUNDS) -> Assignment:
    """Move an assignment one step; the unit and the incident follow, milestones are stamped.

    `at` is the handset's time of the step (queued offline actions), kept only within
    `bounds` of `received` (the server's time of receipt, default now) and not before the step
    it follows; both times are recorded.
    """
    received = received or server_now()
    unit = session.get(Unit, assignment.unit_id)
    incident = session.get(Incident, assignment.incident_id)
    assert unit is not None and incident is not None  # foreign keys guarantee both
    if status == "cancelled":
        return _cancel(session, assignment, unit, actor, received)
    if status not in STEPS:
        raise Invalid(f"unknown assignment status '{status}'; use acknowledged, en_route, "
                      "on_scene, cleared or cancelled")
    allowed_from, unit_status, milestone, stamp = STEPS[status]
    if assignment.status == status:
        return assignment  # a handset retry of a step already taken
    if assignment.status not in allowed_from:
        raise Conflict(f"assignment {assignment.id} is '{assignment.status}'; it cannot go to "
                       f"'{status}' (allowed from: {', '.join(sorted(allowed_from))})")
    when = received if at is None else check_reported_time(
        at, field="at", received=received, bounds=bounds,
        not_before=getattr(assignment, STAMPS[assignment.status]),
        previous_step=assignment.status)
    if status == "en_route" and assignment.status == "dispatched":
        # Driving off implies the assignment was seen: stamp the acknowledgement too.
        change_status(session, assignment=assignment, status="acknowledged", actor=actor,
                      at=at, received=received, bounds=bounds)
    previous = assignment.status
    assignment.status = status
    setattr(assignment, stamp, when)
    record_status(session, entity_type="assignment", entity_id=assignment.id,
                  from_status=previous, to_status=status, actor=actor, at=when,
                  received_at=received)
    units.change_status(session, unit=unit, status=unit_status, actor=actor)
    if milestone:
        record_milestone(session, incident_id=incident.id, milestone=milestone, at=when,
                         received_at=received)
    if status == "on_scene":
        set_status(session, incident=incident, status="on_scene", actor=actor)
    if status == "cleared":
        units.change_status(session, unit=unit, status="available", actor=actor)
    emit(session, INCIDENTS, "assignment.status", assignment_event(assignment, unit, incident))
    return assignment


def _cancel(session: Session, assignment: Assignment, unit: Unit, actor: str,
            received: datetime) -> Assignment:
    if assignment.status not in ("dispatched", "acknowledged", "en_route"):
        raise Conflict(f"assignment {assignment.id} is '{assignment.status}'; only a unit not "
                       "yet on scene can be stood down")
    previous = assignment.status
    assignment.status = "cancelled"
    record_status(session, entity_type="assignment", entity_id=assignment.id,
                  from_status=previous, to_status="cancelled", actor=actor, received_at=received)
    units.change_status(session, unit=unit, status="available", actor=actor)
    return assignment


def assignment_event(assignment: Assignment, unit: Unit, incident: Incident) -> dict:
    return {"assignment_id": assignment.id, "incident_id": incident.id, "unit_id": unit.id,
            "call_sign": unit.call_sign, "station_id": unit.station_id,
            "status": assignment.status, "incident_type": incident.incident_type,
            "priority": incident.priority, "lat": incident.lat, "lon": incident.lon,
            "location_text": incident.location_text}
