"""Builders for a small city used by the foundation tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dispatch.stations.models import Station
from dispatch.stations.service import create_station
from dispatch.users.service import create_user
from dispatch.vocabulary import ROLES

# Two real Lahore stations' areas, simplified to boxes around Mall Road and Model Town.
CIVIL_LINES_BOX = {"type": "Polygon", "coordinates": [[
    [74.30, 31.55], [74.33, 31.55], [74.33, 31.58], [74.30, 31.58], [74.30, 31.55]]]}
MODEL_TOWN_BOX = {"type": "Polygon", "coordinates": [[
    [74.30, 31.47], [74.34, 31.47], [74.34, 31.50], [74.30, 31.50], [74.30, 31.47]]]}
CHARING_CROSS = (31.5580 - 0.001, 74.3240)  # inside the Civil Lines box
MODEL_TOWN_PARK = (31.4840, 74.3250)


def make_stations(session: Session) -> tuple[Station, Station]:
    civil = create_station(session, code="LHR-CL", name="Civil Lines", lat=31.5650, lon=74.3150,
                           jurisdiction=CIVIL_LINES_BOX)
    model = create_station(session, code="LHR-MT", name="Model Town", lat=31.4830, lon=74.3220,
                           jurisdiction=MODEL_TOWN_BOX)
    return civil, model


def make_stations_and_role_users(session: Session, password: str) -> tuple[Station, Station]:
    """The two stations and one user per role, named after the role (the SHO is Civil Lines')."""
    civil, model = make_stations(session)
    for role in ROLES:
        create_user(session, username=role, password=password, role=role,
                    station_id=civil.id if role == "sho" else None)
    return civil, model
