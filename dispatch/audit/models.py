"""Append-only records: who changed what (audit log) and every status transition.

Rows are never updated or deleted: the ORM refuses it here, and PostgreSQL refuses it with a
trigger installed by the migration, so even raw SQL cannot rewrite history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, event, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from dispatch.database.core import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    before: Mapped[dict | None] = mapped_column(nullable=True)
    after: Mapped[dict | None] = mapped_column(nullable=True)


class StatusChange(Base):
    """One transition. `at` is when it happened: the handset's time for a step it reported
    (checked by `dispatch.clock`), else the server's; `received_at` is always the server's."""

    __tablename__ = "status_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow,
                                                  server_default=text("CURRENT_TIMESTAMP"))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(index=True)
    from_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_status: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))


APPEND_ONLY = (AuditEntry, StatusChange)


class AppendOnlyViolation(RuntimeError):
    """Someone tried to rewrite the audit trail."""


@event.listens_for(Session, "before_flush")
def _refuse_rewrites(session: Session, _context: object, _instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, APPEND_ONLY) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyViolation(f"{type(obj).__tablename__} is append-only")
