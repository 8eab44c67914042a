"""Incidents: what happened, how urgent, where, and the milestones of the response."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.database.core import Base, UTCDateTime, utcnow


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_type: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    location_text: Mapped[str | None] = mapped_column(String(300), nullable=True)
    location_source: Mapped[str | None] = mapped_column(String(32), nullable=True)
    location_confirmed: Mapped[bool] = mapped_column(default=False)
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("stations.id"), index=True, nullable=True
    )
    disposition: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class IncidentMilestone(Base):
    """When each response milestone was reached; one row per incident and milestone."""

    __tablename__ = "incident_milestones"
    __table_args__ = (
        UniqueConstraint("incident_id", "milestone", name="uq_incident_milestones_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    milestone: Mapped[str] = mapped_column(String(32))
    # When it happened as reported (a handset's time for unit steps), and when the server
    # recorded it: the time KPIs and alert clocks trust (see dispatch/clock.py).
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow,
                                                  server_default=text("CURRENT_TIMESTAMP"))
