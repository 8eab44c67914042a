from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class CameraReading(BaseModel):
    """The camera's last published congestion reading (null fields: not measured yet)."""

    level: float | None = Field(None, description="0 free .. 1 standing queue")
    label: str | None = Field(None, description="free, slow, jammed or unreliable")
    factor: float | None = Field(None, description="travel-time multiplier on its edges")
    occupancy: float | None = Field(None, description="share of the lane covered, 0..1")
    speed: float | None = Field(None, description="km/h, where the camera is calibrated")
    speed_ratio: float | None = Field(None, description="speed / this camera's free flow")
    confidence: float | None = None
    reliable: bool | None = None
    reason: str | None = Field(None, description="why a reading is unreliable (dark, frozen…)")
    updated_at: datetime | None = None


class CameraRead(BaseModel):
    id: str
    lat: float
    lon: float
    heading_deg: float
    station_id: int | None = Field(None, description="the station whose area holds it")
    edges: list[str] = Field(description="road edges it watches, '{u}-{v}' OSM node ids")
    reading: CameraReading | None = Field(None, description="null: never heard from")
    age_s: float | None = Field(None, description="seconds since the reading")
    fresh: bool = Field(description="the reading is younger than its lifetime (ttl_s), so "
                                    "routing uses it; false: the camera went silent")
