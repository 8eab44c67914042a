from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dispatch.settings import Role


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=4, max_length=256)
    role: Role
    station_id: int | None = None
    dial: str | None = Field(default=None, max_length=160, pattern=r"^[A-Za-z0-9]+/\S+$",
                             description="dial string of the phone, e.g. PJSIP/sho-civil-lines")


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: str
    station_id: int | None
    active: bool
    dial: str | None = None


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    role: str
    station_id: int | None
    expires_at: str
