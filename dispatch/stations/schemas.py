from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class StationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    name_ur: str | None = None
    district: str | None = None
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    jurisdiction: dict[str, Any] | None = None
    dial: str | None = Field(default=None, max_length=160, pattern=r"^[A-Za-z0-9]+/\S+$",
                             description="dial string of the phone, e.g. PJSIP/sho-civil-lines")


class StationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_ur: str | None
    district: str | None
    lat: float
    lon: float
    jurisdiction: dict[str, Any] | None
    dial: str | None = None
