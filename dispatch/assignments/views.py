from __future__ import annotations

from fastapi import APIRouter, Depends

from dispatch.assignments import service
from dispatch.assignments.schemas import AssignmentRead, AssignmentStatusChange
from dispatch.auth.deps import CurrentUser, DbSession, StationScope, require_roles
from dispatch.ids import Id

router = APIRouter(prefix="/assignments", tags=["assignments"])


@router.post("/{assignment_id}/status", response_model=AssignmentRead)
def change_status(assignment_id: Id, body: AssignmentStatusChange, db: DbSession,
                  scope: StationScope,
                  user: CurrentUser = Depends(require_roles("sho", "dispatcher", "supervisor"))
                  ) -> AssignmentRead:
    assignment = service.get_assignment(db, assignment_id=assignment_id, station_scope=scope)
    return AssignmentRead.model_validate(
        service.change_status(db, assignment=assignment, status=body.status,
                              actor=user.username, at=body.at))
