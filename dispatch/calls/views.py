from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query

from dispatch.auth.deps import CurrentUser, DbSession, get_context, require_roles
from dispatch.calls import service
from dispatch.calls.conference import request_conference
from dispatch.calls.schemas import CallRead, ConferenceCreate, ConferenceRequested
from dispatch.context import AppContext
from dispatch.ids import Id

router = APIRouter(prefix="/calls", tags=["calls"])
CALL_READERS = ("call_taker", "dispatcher", "supervisor")


@router.get("", response_model=list[CallRead])
def list_calls(
    db: DbSession,
    state: Literal["active", "ringing", "answered", "ended"] | None = None,
    limit: int = Query(100, ge=1, le=500),
    _: CurrentUser = Depends(require_roles(*CALL_READERS)),
) -> list[CallRead]:
    return [CallRead.model_validate(c) for c in service.list_calls(db, state=state, limit=limit)]


@router.get("/{call_id}", response_model=CallRead)
def get_call(call_id: Id, db: DbSession,
             _: CurrentUser = Depends(require_roles(*CALL_READERS))) -> CallRead:
    return CallRead.model_validate(service.get_call(db, call_id=call_id))


@router.post("/{call_id}/conference", response_model=ConferenceRequested, status_code=202)
def conference(call_id: Id, body: ConferenceCreate, db: DbSession,
               user: CurrentUser = Depends(require_roles("call_taker", "dispatcher")),
               ctx: AppContext = Depends(get_context)) -> ConferenceRequested:
    """Punjab Emergency I: bring the SHO's phone into the live call (caller, SHO and
    call-taker in one conference; the call-taker may leave). 409 when the call has ended or
    the station has no dial string; an SHO who does not answer within `SHO_ANSWER_TIMEOUT_S`
    is reported as a `call.conference` event with status `unanswered`."""
    return ConferenceRequested.model_validate(request_conference(
        db, call_id=call_id, actor=user.username, unit_id=body.unit_id,
        station_id=body.station_id, number=body.number,
        answer_timeout_s=ctx.settings.sho_answer_timeout_s,
        outbound_dial=ctx.settings.outbound_dial))
