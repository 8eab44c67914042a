from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int
    milestone: str
    tier: str
    state: str
    due_at: datetime
    raised_at: datetime
    late: bool
    recipients: list
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class AlertDeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    target: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    updated_at: datetime
