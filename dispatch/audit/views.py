from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from dispatch.audit import service
from dispatch.audit.schemas import AuditEntryRead
from dispatch.auth.deps import CurrentUser, DbSession, require_roles

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditEntryRead])
def list_audit(
    db: DbSession,
    entity_type: str | None = None,
    entity_id: str | None = None,
    limit: int = Query(200,
    ge=1,
    le=1000),
    _: CurrentUser = Depends(require_roles("supervisor")),
) -> list[AuditEntryRead]:
    entries = service.list_entries(db, entity_type=entity_type, entity_id=entity_id, limit=limit)
    return [AuditEntryRead.model_validate(e) for e in entries]
