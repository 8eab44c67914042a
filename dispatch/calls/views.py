from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query

from dispatch.auth.deps import CurrentUser, DbSession, require_roles
from dispatch.calls import service
from dispatch.calls.schemas import CallRead
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
