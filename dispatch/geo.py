"""Small geometry helpers shared by the domain (distances, point-in-jurisdiction)."""

from __future__ import annotations

import math
from typing import Any

from shapely.geometry import Point, shape

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def valid_lat_lon(lat: float, lon: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0 and not (lat == 0 and lon == 0)


def polygon_contains(geojson: dict[str, Any], lat: float, lon: float) -> bool:
    return bool(shape(geojson).covers(Point(lon, lat)))


def validate_polygon(geojson: dict[str, Any]) -> None:
    """Raise ValueError with the reason when a jurisdiction is not a usable polygon."""
    if geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise ValueError("jurisdiction must be a GeoJSON Polygon or MultiPolygon")
    try:
        geometry = shape(geojson)
    except Exception as exc:  # shapely raises several types for bad coordinates
        raise ValueError(f"jurisdiction is not valid GeoJSON: {exc}") from None
    if geometry.is_empty or not geometry.is_valid:
        raise ValueError("jurisdiction polygon is empty or self-intersecting")
