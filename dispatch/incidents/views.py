from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from dispatch.assignments import service as assignments
from dispatch.assignments.auto import auto_dispatch
from dispatch.assignments.schemas import AssignmentCreate, AssignmentRead
from dispatch.auth.deps import (
    ALL_STAFF,
    CurrentUser,
    DbSession,
    StationScope,
    get_context,
    require_roles,
)
from dispatch.context import AppContext
from dispatch.ids import Id
from dispatch.incidents import service
from dispatch.incidents.models import Incident
from dispatch.incidents.schemas import (
    DuplicateRead,
    IncidentCreate,
    IncidentPatch,
    IncidentRead,
    MergeRequest,
    MilestoneRead,
)

router = APIRouter(prefix="/incidents", tags=["incidents"])
EDITORS = ("call_taker", "dispatcher", "supervisor")


def to_read(db: Session, incident: Incident) -> IncidentRead:
    read = IncidentRead.model_validate(incident)
    read.milestones = [MilestoneRead.model_validate(m)
                       for m in service.milestones(db, incident_id=incident.id)]
    read.call_ids = service.call_ids(db, incident_id=incident.id)
    return read


@router.post("", response_model=IncidentRead, status_code=201)
def create_incident(body: IncidentCreate, db: DbSession,
                    ctx: AppContext = Depends(get_context),
                    user: CurrentUser = Depends(require_roles(*EDITORS))) -> IncidentRead:
    incident = service.create_incident(db, actor=user.username, **body.model_dump())
    auto_dispatch(db, ctx=ctx, incident=incident)
    return to_read(db, incident)


@router.get("/{incident_id}/duplicates", response_model=list[DuplicateRead])
def duplicates(incident_id: Id, db: DbSession,
               _: CurrentUser = Depends(require_roles(*EDITORS))) -> list[DuplicateRead]:
    """Open incidents of the same type within a few hundred metres and minutes."""
    incident = service.get_incident(db, incident_id=incident_id)
    return [DuplicateRead(incident=to_read(db, other), distance_m=round(distance, 1))
            for other, distance in service.duplicate_candidates(db, incident=incident)]


@router.post("/{incident_id}/merge", response_model=IncidentRead)
def merge(incident_id: Id, body: MergeRequest, db: DbSession,
          user: CurrentUser = Depends(require_roles(*EDITORS))) -> IncidentRead:
    """Close this incident as a duplicate of `into`, moving its calls there."""
    duplicate = service.get_incident(db, incident_id=incident_id)
    target = service.get_incident(db, incident_id=body.into)
    return to_read(db, service.merge_into(db, duplicate=duplicate, target=target,
                                          actor=user.username))


@router.get("", response_model=list[IncidentRead])
def list_incidents(db: DbSession, scope: StationScope,
                   status: str | None = Query(None, pattern="^(active|open|dispatched|"
                                                            "on_scene|closed)$"),
                   limit: int = Query(200, ge=1, le=1000),
                   _: CurrentUser = Depends(require_roles(*ALL_STAFF))) -> list[IncidentRead]:
    found = service.list_incidents(db, station_scope=scope, status=status,
                                   limit=limit)
    return [to_read(db, i) for i in found]


@router.get("/{incident_id}", response_model=IncidentRead)
def get_incident(incident_id: Id, db: DbSession, scope: StationScope,
                 _: CurrentUser = Depends(require_roles(*ALL_STAFF))) -> IncidentRead:
    return to_read(db, service.get_incident(db, incident_id=incident_id, station_scope=scope))


@router.patch("/{incident_id}", response_model=IncidentRead)
def patch_incident(incident_id: Id, body: IncidentPatch, db: DbSession,
                   user: CurrentUser = Depends(require_roles(*EDITORS))) -> IncidentRead:
    incident = service.get_incident(db, incident_id=incident_id)
    service.update_incident(db, incident=incident, actor=user.username,
                            changes=body.model_dump(exclude_unset=True))
    return to_read(db, incident)


@router.post("/{incident_id}/assignments", response_model=AssignmentRead, status_code=201)
def assign(incident_id: Id, body: AssignmentCreate, db: DbSession,
           user: CurrentUser = Depends(require_roles("dispatcher", "supervisor"))
           ) -> AssignmentRead:
    incident = service.get_incident(db, incident_id=incident_id)
    return AssignmentRead.model_validate(
        assignments.assign_unit(db, incident=incident, unit_id=body.unit_id,
                                actor=user.username))


@router.get("/{incident_id}/assignments", response_model=list[AssignmentRead])
def list_assignments(incident_id: Id, db: DbSession, scope: StationScope,
                     _: CurrentUser = Depends(require_roles(*ALL_STAFF))
                     ) -> list[AssignmentRead]:
    service.get_incident(db, incident_id=incident_id, station_scope=scope)
    return [AssignmentRead.model_validate(a)
            for a in assignments.list_for_incident(db, incident_id=incident_id)]
