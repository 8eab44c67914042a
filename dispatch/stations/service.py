"""Stations and jurisdiction: which station answers for a point."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit.service import record_change
from dispatch.errors import Conflict, Invalid, NotFound
from dispatch.geo import haversine_m, polygon_contains, validate_polygon
from dispatch.stations.models import Station


def create_station(session: Session, *, code: str, name: str, lat: float, lon: float,
                   jurisdiction: dict[str, Any] | None = None, name_ur: str | None = None,
                   district: str | None = None, dial: str | None = None,
                   actor: str = "system") -> Station:
    if jurisdiction is not None:
        try:
            validate_polygon(jurisdiction)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
    if session.scalar(select(Station).where(Station.code == code)) is not None:
        raise Conflict(f"station code '{code}' already exists")
    station = Station(code=code, name=name, name_ur=name_ur, district=district, lat=lat,
                      lon=lon, jurisdiction=jurisdiction, dial=dial)
    session.add(station)
    session.flush()
    record_change(session, actor=actor, action="station.create", entity_type="station",
                  entity_id=station.id, after={"code": code, "name": name})
    return station


def get_station(session: Session, *, station_id: int) -> Station:
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound(f"station {station_id} not found")
    return station


def list_stations(session: Session) -> list[Station]:
    return list(session.scalars(select(Station).order_by(Station.code)))


def covering_station(stations: list[Station], *, lat: float, lon: float) -> Station | None:
    """The first of `stations` whose drawn jurisdiction covers the point (a station without
    one, SQL NULL or JSON null alike, covers nothing)."""
    return next((station for station in stations
                 if station.jurisdiction and polygon_contains(station.jurisdiction, lat, lon)),
                None)


def stations_for_point(session: Session, *, lat: float, lon: float) -> list[Station]:
    """Every station, the responsible one first: the one whose jurisdiction covers the point,
    then the rest nearest first (whom a call-taker tries next when an SHO does not answer)."""
    stations = list_stations(session)
    covering = covering_station(stations, lat=lat, lon=lon)
    rest = sorted((s for s in stations if s is not covering),
                  key=lambda s: haversine_m(lat, lon, s.lat, s.lon))
    return [covering, *rest] if covering is not None else rest


def station_for_point(session: Session, *, lat: float, lon: float) -> Station | None:
    """The station whose jurisdiction covers the point; else the nearest station, if any.

    Falling back to the nearest keeps an incident just outside every drawn boundary from
    going unowned: someone must always be responsible.
    """
    return next(iter(stations_for_point(session, lat=lat, lon=lon)), None)
