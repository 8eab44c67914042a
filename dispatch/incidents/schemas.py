from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dispatch.vocabulary import DISPOSITIONS, INCIDENT_TYPES, PRIORITIES


def _one_of(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if value is not None and value not in allowed:
        raise ValueError(f"unknown {what} '{value}'; expected one of: {', '.join(allowed)}")
    return value


class IncidentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident_type: str
    priority: str
    call_id: int | None = None
    summary: str | None = Field(default=None, max_length=4000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    location_text: str | None = Field(default=None, max_length=300)
    location_source: str | None = Field(default=None, max_length=32)
    location_confirmed: bool = False

    @field_validator("incident_type")
    @classmethod
    def _type(cls, v: str) -> str:
        return _one_of(v, INCIDENT_TYPES, "incident type") or v

    @field_validator("priority")
    @classmethod
    def _priority(cls, v: str) -> str:
        return _one_of(v, PRIORITIES, "priority") or v


class IncidentPatch(BaseModel):
    """Edit, close (status=closed + disposition) or reopen (status=open)."""

    model_config = ConfigDict(extra="forbid")

    incident_type: str | None = None
    priority: str | None = None
    summary: str | None = Field(default=None, max_length=4000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    location_text: str | None = Field(default=None, max_length=300)
    location_source: str | None = Field(default=None, max_length=32)
    location_confirmed: bool | None = None
    status: str | None = None
    disposition: str | None = None
    link_call_id: int | None = None

    @field_validator("incident_type")
    @classmethod
    def _type(cls, v: str | None) -> str | None:
        return _one_of(v, INCIDENT_TYPES, "incident type")

    @field_validator("priority")
    @classmethod
    def _priority(cls, v: str | None) -> str | None:
        return _one_of(v, PRIORITIES, "priority")

    @field_validator("status")
    @classmethod
    def _status(cls, v: str | None) -> str | None:
        return _one_of(v, ("open", "closed"), "status to set")

    @field_validator("disposition")
    @classmethod
    def _disposition(cls, v: str | None) -> str | None:
        return _one_of(v, DISPOSITIONS, "disposition")


class MilestoneRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    milestone: str
    reached_at: datetime = Field(description="when it happened, as reported (a handset's "
                                 "time for unit steps)")
    received_at: datetime = Field(description="when the server recorded it: the time KPIs "
                                  "and alert clocks use")


class IncidentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_type: str
    priority: str
    status: str
    summary: str | None
    lat: float | None
    lon: float | None
    location_text: str | None
    location_source: str | None
    location_confirmed: bool
    station_id: int | None
    disposition: str | None
    created_by: str | None
    created_at: datetime
    closed_at: datetime | None
    milestones: list[MilestoneRead] = []
    call_ids: list[int] = []


class DuplicateRead(BaseModel):
    incident: IncidentRead
    distance_m: float


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: int
