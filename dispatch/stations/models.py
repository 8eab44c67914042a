"""Police stations and the area each answers for (a GeoJSON polygon)."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.database.core import Base


class Station(Base):
    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_ur: Mapped[str | None] = mapped_column(String(200), nullable=True)
    district: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # How the station's SHO phone is dialled into a live call (PJSIP/... in production).
    dial: Mapped[str | None] = mapped_column(String(160), nullable=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    # GeoJSON Polygon or MultiPolygon geometry; null until a jurisdiction is drawn.
    jurisdiction: Mapped[dict | None] = mapped_column(nullable=True)
