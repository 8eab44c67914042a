from __future__ import annotations

from fastapi import APIRouter, Depends

from dispatch.auth.deps import ALL_STAFF, CurrentUser, DbSession, require_roles
from dispatch.stations import service
from dispatch.stations.schemas import StationCreate, StationRead

router = APIRouter(prefix="/stations", tags=["stations"])


@router.get("", response_model=list[StationRead])
def list_stations(db: DbSession,
                  _: CurrentUser = Depends(require_roles(*ALL_STAFF))) -> list[StationRead]:
    return [StationRead.model_validate(s) for s in service.list_stations(db)]


@router.post("", response_model=StationRead, status_code=201)
def create_station(body: StationCreate, db: DbSession,
                   user: CurrentUser = Depends(require_roles("admin"))) -> StationRead:
    station = service.create_station(db, actor=user.username, **body.model_dump())
    return StationRead.model_validate(station)
