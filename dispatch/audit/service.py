"""Writing the audit trail: one entry per state change, with who did it and what changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit.models import AuditEntry, StatusChange
from dispatch.database.core import utcnow


def record_change(session: Session, *, actor: str, action: str, entity_type: str,
                  entity_id: int | str, before: dict[str, Any] | None = None,
                  after: dict[str, Any] | None = None) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, entity_type=entity_type,
                       entity_id=str(entity_id), before=before, after=after)
    session.add(entry)
    return entry


def record_status(session: Session, *, entity_type: str, entity_id: int,
                  from_status: str | None, to_status: str, actor: str,
                  at: datetime | None = None, received_at: datetime | None = None
                  ) -> StatusChange:
    """`at`: when it happened, if a handset said so; `received_at`: the server's time (now)."""
    received = received_at or utcnow()
    change = StatusChange(entity_type=entity_type, entity_id=entity_id,
                          from_status=from_status, to_status=to_status, actor=actor,
                          at=at or received, received_at=received)
    session.add(change)
    return change


def list_entries(session: Session, *, entity_type: str | None = None,
                 entity_id: int | str | None = None, limit: int = 200) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity_type:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == str(entity_id))
    return list(session.scalars(query))


def status_history(session: Session, *, entity_type: str, entity_id: int) -> list[StatusChange]:
    query = (select(StatusChange)
             .where(StatusChange.entity_type == entity_type, StatusChange.entity_id == entity_id)
             .order_by(StatusChange.id))
    return list(session.scalars(query))
