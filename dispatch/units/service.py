"""Units: the status state machine, station scoping and GPS pings.

Allowed status transitions are explicit; anything else is refused with the reason, because a
unit shown "available" while it is on scene gets sent to a second incident.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit.service import record_change, record_status
from dispatch.clock import DEFAULT_BOUNDS, ClockBounds, check_reported_time, server_now
from dispatch.errors import Conflict, Forbidden, Invalid, NotFound
from dispatch.events.outbox import emit
from dispatch.events.streams import UNITS
from dispatch.stations.models import Station
from dispatch.units.models import Unit
from dispatch.units.positions import position_event
from dispatch.vocabulary import UNIT_KINDS, UNIT_STATUSES

TRANSITIONS: dict[str, frozenset[str]] = {
    "available": frozenset({"dispatched", "busy", "out_of_service"}),
    "dispatched": frozenset({"acknowledged", "available"}),
    "acknowledged": frozenset({"en_route", "available"}),
    "en_route": frozenset({"on_scene", "available"}),
    "on_scene": frozenset({"cleared"}),
    "cleared": frozenset({"available", "out_of_service"}),
    "busy": frozenset({"available", "out_of_service"}),
    "out_of_service": frozenset({"available"}),
}


def create_unit(session: Session, *, call_sign: str, station_id: int, kind: str,
                actor: str = "system") -> Unit:
    if kind not in UNIT_KINDS:
        raise Invalid(f"unknown unit kind '{kind}'; kinds: {', '.join(UNIT_KINDS)}")
    if session.get(Station, station_id) is None:
        raise NotFound(f"station {station_id} not found")
    if session.scalar(select(Unit).where(Unit.call_sign == call_sign)) is not None:
        raise Conflict(f"call sign '{call_sign}' already exists")
    unit = Unit(call_sign=call_sign, station_id=station_id, kind=kind, status="available")
    session.add(unit)
    session.flush()
    record_change(session, actor=actor, action="unit.create", entity_type="unit",
                  entity_id=unit.id, after={"call_sign": call_sign, "kind": kind,
                                            "station_id": station_id})
    record_status(session, entity_type="unit", entity_id=unit.id, from_status=None,
                  to_status="available", actor=actor)
    return unit


def get_unit(session: Session, *, unit_id: int, station_scope: int | None = None) -> Unit:
    """The unit; with a station scope (an SHO), only a unit of that station."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    if station_scope is not None and unit.station_id != station_scope:
        raise Forbidden(f"unit {unit_id} belongs to another station")
    return unit


def list_units(session: Session, *, station_scope: int | None = None,
               status: str | None = None) -> list[Unit]:
    query = select(Unit).order_by(Unit.call_sign)
    if station_scope is not None:
        query = query.where(Unit.station_id == station_scope)
    if status is not None:
        query = query.where(Unit.status == status)
    return list(session.scalars(query))


def change_status(session: Session, *, unit: Unit, status: str, actor: str) -> Unit:
    if status not in UNIT_STATUSES:
        raise Invalid(f"unknown unit status '{status}'; statuses: {', '.join(UNIT_STATUSES)}")
    if status == unit.status:
        return unit
    allowed = TRANSITIONS[unit.status]
    if status not in allowed:
        raise Conflict(
            f"unit {unit.call_sign} cannot go from '{unit.status}' to '{status}'; "
            f"allowed next: {', '.join(sorted(allowed))}"
        )
    previous = unit.status
    unit.status = status
    record_status(session, entity_type="unit", entity_id=unit.id, from_status=previous,
                  to_status=status, actor=actor)
    record_change(session, actor=actor, action="unit.status", entity_type="unit",
                  entity_id=unit.id, before={"status": previous}, after={"status": status})
    emit(session, UNITS, "unit.status", {"unit_id": unit.id, "call_sign": unit.call_sign,
                                         "station_id": unit.station_id, "status": status,
                                         "previous": previous})
    return unit


OLDER_FIX = "older than the last known position"


def record_position(session: Session, *, unit: Unit, lat: float, lon: float,
                    accuracy_m: float | None, ts: datetime, now: datetime | None = None,
                    bounds: ClockBounds = DEFAULT_BOUNDS) -> tuple[bool, str | None]:
    """Store a GPS fix unless it is older than the one we have (queued pings arrive late).

    Returns (accepted, reason). An older fix is not an error: the handset replays its queue
    after a dead zone, and the newest fix must win. This is the transactional path (demo
    simulation, and pings while Redis is unreachable); the API's usual path is
    `positions.LivePositions`, which applies the same rule in Redis.
    """
    check_reported_time(ts, field="ts", received=now or server_now(), bounds=bounds)
    if unit.last_position_at is not None and ts <= unit.last_position_at:
        return False, OLDER_FIX
    unit.last_lat, unit.last_lon, unit.last_accuracy_m = lat, lon, accuracy_m
    unit.last_position_at = ts
    emit(session, UNITS, "unit.position",
         position_event(unit_id=unit.id, station_id=unit.station_id, lat=lat, lon=lon,
                        accuracy_m=accuracy_m, ts=ts))
    return True, None
