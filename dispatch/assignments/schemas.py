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
    at: datetime | None = Field(default=None, description=(
        "when the step happened by the handset's clock, for a step queued offline (omit it "
        "for a live tap: the server's time of receipt is used). Refused (422) if more than "
        "HANDSET_CLOCK_SKEW_S ahead of the server, more than HANDSET_MAX_DELAY_S before "
        "receipt, or before the step it follows"))


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
