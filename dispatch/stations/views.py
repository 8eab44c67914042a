from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from dispatch.auth.deps import ALL_STAFF, CurrentUser, DbSession, require_roles
from dispatch.errors import Invalid
from dispatch.stations import service
from dispatch.stations.schemas import StationCreate, StationRead

router = APIRouter(prefix="/stations", tags=["stations"])


@router.get("", response_model=list[StationRead])
def list_stations(db: DbSession,
                  _: CurrentUser = Depends(require_roles(*ALL_STAFF)),
                  lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
                  lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
                  ) -> list[StationRead]:
    """By code; with `lat` and `lon`, the station responsible for that point first (its
    jurisdiction covers it), then the others nearest first."""
    if (lat is None) != (lon is None):
        raise Invalid("give both lat and lon, or neither")
    stations = (service.list_stations(db) if lat is None or lon is None
                else service.stations_for_point(db, lat=lat, lon=lon))
    return [StationRead.model_validate(s) for s in stations]


@router.post("", response_model=StationRead, status_code=201)
def create_station(body: StationCreate, db: DbSession,
                   user: CurrentUser = Depends(require_roles("admin"))) -> StationRead:
    station = service.create_station(db, actor=user.username, **body.model_dump())
    return StationRead.model_validate(station)
