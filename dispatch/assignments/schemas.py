from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AssignmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_id: int


class AssignmentStatusChange(BaseModel):
    """A step reported by the handset; `at` is when it happened (queued offline actions)."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="acknowledged, en_route, on_scene, cleared or cancelled")
    at: datetime | None = None


class AssignmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int
    unit_id: int
    status: str
    assigned_by: str | None
    dispatched_at: datetime
    acknowledged_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    cleared_at: datetime | None
