from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from dispatch.auth.deps import (
    ALL_STAFF,
    CurrentUser,
    DbSession,
    StationScope,
    require_roles,
    require_roles_sessionless,
)
from dispatch.ids import Id
from dispatch.units import positions, service
from dispatch.units.schemas import PingResult, PositionPing, UnitCreate, UnitRead, UnitStatusChange

router = APIRouter(prefix="/units", tags=["units"])
PING_ROLES = ("sho",)  # and admin; the fast path (`fastpath.py`) allows the same


@router.get("", response_model=list[UnitRead])
def list_units(db: DbSession, scope: StationScope, status: str | None = None,
               _: CurrentUser = Depends(require_roles(*ALL_STAFF))) -> list[UnitRead]:
    units = service.list_units(db, station_scope=scope, status=status)
    return [UnitRead.model_validate(u) for u in units]


@router.post("", response_model=UnitRead, status_code=201)
def create_unit(body: UnitCreate, db: DbSession,
                user: CurrentUser = Depends(require_roles("supervisor"))) -> UnitRead:
    unit = service.create_unit(db, actor=user.username, **body.model_dump())
    return UnitRead.model_validate(unit)


@router.get("/{unit_id}", response_model=UnitRead)
def get_unit(unit_id: Id, db: DbSession, scope: StationScope,
             _: CurrentUser = Depends(require_roles(*ALL_STAFF))) -> UnitRead:
    return UnitRead.model_validate(service.get_unit(db, unit_id=unit_id, station_scope=scope))


@router.post("/{unit_id}/position", response_model=PingResult, responses={
    503: {"description": "Overloaded for a moment: the fix was not stored; re-send it after "
                         "`Retry-After` seconds"}})
async def ping(unit_id: Id, body: PositionPing, request: Request,
               user: CurrentUser = Depends(require_roles_sessionless(*PING_ROLES))) -> PingResult:
    """A GPS fix; an older fix than the unit's last is answered `accepted: false`, not an error.

    The hot path of the API (every handset, every few seconds), so it opens no database
    session: see `dispatch/units/positions.py`.
    """
    accepted, reason = await positions.accept_ping(
        request.app.state.ctx, request.app.state.live_positions, unit_id=unit_id,
        station_scope=user.station_scope, lat=body.lat, lon=body.lon,
        accuracy_m=body.accuracy_m, ts=body.ts)
    return PingResult(unit_id=unit_id, accepted=accepted, reason=reason)


@router.post("/{unit_id}/status", response_model=UnitRead)
def change_status(unit_id: Id, body: UnitStatusChange, db: DbSession, scope: StationScope,
                  user: CurrentUser = Depends(require_roles("sho", "dispatcher",
                                                            "supervisor"))) -> UnitRead:
    unit = service.get_unit(db, unit_id=unit_id, station_scope=scope)
    return UnitRead.model_validate(
        service.change_status(db, unit=unit, status=body.status, actor=user.username))
