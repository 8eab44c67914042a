from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from dispatch.vocabulary import UNIT_KINDS


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_sign: str = Field(min_length=1, max_length=32)
    station_id: int
    kind: str = Field(description=f"one of: {', '.join(UNIT_KINDS)}")


class PositionPing(BaseModel):
    """A GPS fix from the SHO handset; `ts` is when the handset took it (may be queued)."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    ts: datetime = Field(description=(
        "when the handset took the fix, with a timezone. Refused (422) if more than "
        "HANDSET_CLOCK_SKEW_S (30 s) in the future or HANDSET_MAX_DELAY_S (15 min) in the past "
        "by the server's clock"))


class UnitStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str


class UnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_sign: str
    station_id: int
    kind: str
    status: str
    last_lat: float | None
    last_lon: float | None
    last_accuracy_m: float | None
    last_position_at: datetime | None


class PingResult(BaseModel):
    unit_id: int
    accepted: bool
    reason: str | None = None
