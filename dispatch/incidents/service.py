"""Incident lifecycle: create (from a call or by hand), edit, close with a disposition, reopen.

Every change writes the audit log and, for status, the status history. Milestones are
recorded once each, at the time of the event that proves them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit.service import record_change, record_status
from dispatch.calls.models import Call
from dispatch.errors import Conflict, Forbidden, Invalid, NotFound
from dispatch.events.outbox import emit
from dispatch.events.streams import INCIDENTS
from dispatch.geo import haversine_m
from dispatch.incidents.models import Incident, IncidentMilestone
from dispatch.stations.service import station_for_point
from dispatch.vocabulary import DISPOSITIONS, MILESTONES

EDITABLE = ("incident_type", "priority", "summary", "lat", "lon", "location_text",
            "location_source", "location_confirmed")
LOCATION_FIELDS = ("lat", "lon", "location_text", "location_source")


def snapshot(incident: Incident) -> dict[str, Any]:
    return {field: getattr(incident, field) for field in (*EDITABLE, "status", "disposition",
                                                          "station_id")}


def record_milestone(session: Session, *, incident_id: int, milestone: str,
                     at: datetime, received_at: datetime | None = None
                     ) -> IncidentMilestone | None:
    """Record a milestone the first time it is reached; later repeats are ignored.

    `at` is when it happened as reported; `received_at` when the server learned it, given only
    for a handset's report (the server's own stamps, like AMI's ring, are both at once).
    """
    if milestone not in MILESTONES:
        raise Invalid(f"unknown milestone '{milestone}'")
    existing = session.scalar(select(IncidentMilestone).where(
        IncidentMilestone.incident_id == incident_id, IncidentMilestone.milestone == milestone))
    if existing is not None:
        return None
    received = received_at or at
    row = IncidentMilestone(incident_id=incident_id, milestone=milestone, reached_at=at,
                            received_at=received)
    session.add(row)
    emit(session, INCIDENTS, "incident.milestone",
         {"incident_id": incident_id, "milestone": milestone, "at": at.isoformat(),
          "received_at": received.isoformat()})
    return row


def milestones(session: Session, *, incident_id: int) -> list[IncidentMilestone]:
    return list(session.scalars(select(IncidentMilestone)
                                .where(IncidentMilestone.incident_id == incident_id)
                                .order_by(IncidentMilestone.reached_at)))


def get_incident(session: Session, *, incident_id: int,
                 station_scope: int | None = None) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found")
    if station_scope is not None and incident.station_id != station_scope:
        raise Forbidden(f"incident {incident_id} belongs to another station")
    return incident


def list_incidents(session: Session, *, station_scope: int | None = None,
                   status: str | None = None, limit: int = 200) -> list[Incident]:
    query = select(Incident).order_by(Incident.id.desc()).limit(limit)
    if station_scope is not None:
        query = query.where(Incident.station_id == station_scope)
    if status == "active":
        query = query.where(Incident.status != "closed")
    elif status is not None:
        query = query.where(Incident.status == status)
    return list(session.scalars(query))


def _link_call(session: Session, incident: Incident, call_id: int, actor: str) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"call {call_id} not found")
    if call.incident_id not in (None, incident.id):
        raise Conflict(f"call {call_id} already belongs to incident {call.incident_id}")
    call.incident_id = incident.id
    record_change(session, actor=actor, action="incident.link_call", entity_type="incident",
                  entity_id=incident.id, after={"call_id": call_id})
    # The response clock starts at the first ring, not when the incident was typed.
    if call.ringing_at:
        _earliest_milestone(session, incident.id, "call_received", call.ringing_at)
    if call.answered_at:
        _earliest_milestone(session, incident.id, "call_answered", call.answered_at)
    return call


def _earliest_milestone(session: Session, incident_id: int, milestone: str,
                        at: datetime) -> None:
    existing = session.scalar(select(IncidentMilestone).where(
        IncidentMilestone.incident_id == incident_id, IncidentMilestone.milestone == milestone))
    if existing is None:
        record_milestone(session, incident_id=incident_id, milestone=milestone, at=at)
    elif at < existing.reached_at:
        existing.reached_at = at


def create_incident(session: Session, *, incident_type: str, priority: str, actor: str,
                    call_id: int | None = None, summary: str | None = None,
                    lat: float | None = None, lon: float | None = None,
                    location_text: str | None = None, location_source: str | None = None,
                    location_confirmed: bool = False,
                    now: datetime | None = None) -> Incident:
    if (lat is None) != (lon is None):
        raise Invalid("give both lat and lon, or neither")
    at = now or datetime.now(UTC)
    station = station_for_point(session, lat=lat, lon=lon) if lat is not None else None
    incident = Incident(incident_type=incident_type, priority=priority, status="open",
                        summary=summary, lat=lat, lon=lon, location_text=location_text,
                        location_source=location_source, location_confirmed=location_confirmed,
                        station_id=station.id if station else None, created_by=actor,
                        created_at=at)
    session.add(incident)
    session.flush()
    record_change(session, actor=actor, action="incident.create", entity_type="incident",
                  entity_id=incident.id, after=snapshot(incident))
    record_status(session, entity_type="incident", entity_id=incident.id, from_status=None,
                  to_status="open", actor=actor)
    if call_id is not None:
        _link_call(session, incident, call_id, actor)
    else:
        record_milestone(session, incident_id=incident.id, milestone="call_received", at=at)
    record_milestone(session, incident_id=incident.id, milestone="incident_created", at=at)
    emit(session, INCIDENTS, "incident.created", incident_event(incident))
    return incident


def update_incident(session: Session, *, incident: Incident, changes: dict[str, Any],
                    actor: str, automatic: bool = False,
                    now: datetime | None = None) -> Incident:
    """Apply an edit, a close or a reopen.

    `automatic=True` marks a change made by the system (AML fix, triage): it never overwrites a
    location a call-taker confirmed.
    """
    changes = {k: v for k, v in changes.items() if v is not None}
    before = snapshot(incident)
    at = now or datetime.now(UTC)
    if automatic and incident.location_confirmed and any(f in changes for f in LOCATION_FIELDS):
        raise Conflict("the location was confirmed by a call-taker; it is not changed "
                       "automatically")
    link_call_id = changes.pop("link_call_id", None)
    status = changes.pop("status", None)
    disposition = changes.pop("disposition", None)
    if incident.status == "closed" and changes and status != "open":
        raise Conflict(f"incident {incident.id} is closed; reopen it before editing")
    for field, value in changes.items():
        if field not in EDITABLE:
            raise Invalid(f"field '{field}' cannot be edited")
        setattr(incident, field, value)
    if ("lat" in changes) != ("lon" in changes):
        raise Invalid("give both lat and lon when moving an incident")
    if "lat" in changes:
        station = station_for_point(session, lat=incident.lat, lon=incident.lon)  # type: ignore[arg-type]
        incident.station_id = station.id if station else incident.station_id
    if link_call_id is not None:
        _link_call(session, incident, link_call_id, actor)
    if status == "closed":
        _close(session, incident, disposition, actor, at)
    elif status == "open":
        _reopen(session, incident, actor)
    elif disposition is not None:
        raise Invalid("a disposition is given when closing: send status=closed with it")
    record_change(session, actor=actor, action="incident.update", entity_type="incident",
                  entity_id=incident.id, before=before, after=snapshot(incident))
    emit(session, INCIDENTS, "incident.updated", incident_event(incident))
    return incident


def _close(session: Session, incident: Incident, disposition: str | None, actor: str,
           at: datetime) -> None:
    if incident.status == "closed":
        raise Conflict(f"incident {incident.id} is already closed")
    if disposition is None:
        raise Invalid(f"closing needs a disposition: one of {', '.join(DISPOSITIONS)}")
    from dispatch.assignments.service import active_assignments

    if active_assignments(session, incident_id=incident.id):
        raise Conflict(f"incident {incident.id} still has units assigned; clear them first")
    set_status(session, incident=incident, status="closed", actor=actor)
    incident.disposition, incident.closed_at = disposition, at
    record_milestone(session, incident_id=incident.id, milestone="incident_closed", at=at)


def _reopen(session: Session, incident: Incident, actor: str) -> None:
    if incident.status != "closed":
        raise Conflict(f"incident {incident.id} is not closed")
    set_status(session, incident=incident, status="open", actor=actor)
    incident.disposition, incident.closed_at = None, None


def set_status(session: Session, *, incident: Incident, status: str, actor: str) -> None:
    if incident.status == status:
        return
    record_status(session, entity_type="incident", entity_id=incident.id,
                  from_status=incident.status, to_status=status, actor=actor)
    incident.status = status
    emit(session, INCIDENTS, "incident.status", incident_event(incident))


def incident_event(incident: Incident) -> dict[str, Any]:
    return {"id": incident.id, "incident_type": incident.incident_type,
            "priority": incident.priority, "status": incident.status,
            "station_id": incident.station_id, "lat": incident.lat, "lon": incident.lon,
            "location_text": incident.location_text}


def call_ids(session: Session, *, incident_id: int) -> list[int]:
    return list(session.scalars(select(Call.id).where(Call.incident_id == incident_id)))


DUPLICATE_RADIUS_M = 300.0
DUPLICATE_WINDOW = timedelta(minutes=15)


def duplicate_candidates(session: Session, *, incident: Incident,
                         radius_m: float = DUPLICATE_RADIUS_M,
                         window: timedelta = DUPLICATE_WINDOW) -> list[tuple[Incident, float]]:
    """Open incidents that are probably the same event: same type, near, within minutes.

    Several callers report one crash; the call-taker is offered the merge, never forced.
    """
    if incident.lat is None or incident.lon is None:
        return []
    query = select(Incident).where(
        Incident.id != incident.id, Incident.incident_type == incident.incident_type,
        Incident.status != "closed", Incident.lat.is_not(None),
        Incident.created_at >= incident.created_at - window,
        Incident.created_at <= incident.created_at + window)
    found = []
    for other in session.scalars(query):
        distance = haversine_m(incident.lat, incident.lon, other.lat, other.lon)  # type: ignore[arg-type]
        if distance <= radius_m:
            found.append((other, distance))
    return sorted(found, key=lambda pair: pair[1])


def merge_into(session: Session, *, duplicate: Incident, target: Incident,
               actor: str) -> Incident:
    """Close `duplicate` as a duplicate of `target`, moving its calls over."""
    if duplicate.id == target.id:
        raise Invalid("an incident cannot be merged into itself")
    if target.status == "closed":
        raise Conflict(f"incident {target.id} is closed; reopen it or merge the other way")
    for call in session.scalars(select(Call).where(Call.incident_id == duplicate.id)):
        call.incident_id = None
        session.flush()
        _link_call(session, target, call.id, actor)
    update_incident(session, incident=duplicate, actor=actor,
                    changes={"status": "closed", "disposition": "duplicate"})
    record_change(session, actor=actor, action="incident.merge", entity_type="incident",
                  entity_id=duplicate.id, after={"merged_into": target.id})
    return target
