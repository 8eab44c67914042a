from __future__ import annotations

from fastapi import APIRouter, Depends

from dispatch.assignments import service
from dispatch.assignments.schemas import AssignmentRead, AssignmentStatusChange
from dispatch.auth.deps import CurrentUser, DbSession, StationScope, get_context, require_roles
from dispatch.clock import ClockBounds, server_now
from dispatch.context import AppContext
from dispatch.ids import Id

router = APIRouter(prefix="/assignments", tags=["assignments"])


@router.post("/{assignment_id}/status", response_model=AssignmentRead)
def change_status(assignment_id: Id, body: AssignmentStatusChange, db: DbSession,
                  scope: StationScope,
                  user: CurrentUser = Depends(require_roles("sho", "dispatcher", "supervisor")),
                  ctx: AppContext = Depends(get_context)) -> AssignmentRead:
    """One step of the response, as the handset reports it.

    The server stores its own time of receipt with every step. A given `at` (the handset's
    time of a queued step) is kept beside it only if it is at most `HANDSET_CLOCK_SKEW_S`
    (30 s) ahead of the server, at most `HANDSET_MAX_DELAY_S` (15 min) before receipt, and not
    before the step it follows; otherwise 422 naming `at` and the reason.
    """
    received = server_now()
    assignment = service.get_assignment(db, assignment_id=assignment_id, station_scope=scope)
    return AssignmentRead.model_validate(
        service.change_status(db, assignment=assignment, status=body.status,
                              actor=user.username, at=body.at, received=received,
                              bounds=ClockBounds.from_settings(ctx.settings)))
