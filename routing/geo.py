"""Small geometry helpers: distances and a local metric projection for snapping.

A local equirectangular projection (metres around the map's centre) is accurate to well under
a metre over a city and keeps shapely's nearest-line search in plain metres.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_M = 6_371_009.0  # the same mean radius osmnx uses for edge lengths


def haversine_m(lat1, lon1, lat2, lon2):  # noqa: ANN001, ANN201 - scalars or numpy arrays
    """Great-circle distance in metres (vectorised)."""
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(a, dtype=np.float64)) for a in (lat1, lon1, lat2, lon2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class LocalProjection:
    """lat/lon ↔ metres on a plane tangent at the map's centre."""

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0 = lat0
        self.lon0 = lon0
        self.k_lat = np.pi / 180 * EARTH_RADIUS_M
        self.k_lon = self.k_lat * np.cos(np.radians(lat0))

    def to_xy(self, lat, lon):  # noqa: ANN001, ANN201
        x = (np.asarray(lon, dtype=np.float64) - self.lon0) * self.k_lon
        y = (np.asarray(lat, dtype=np.float64) - self.lat0) * self.k_lat
        return x, y

    def to_latlon(self, x, y):  # noqa: ANN001, ANN201
        lat = np.asarray(y, dtype=np.float64) / self.k_lat + self.lat0
        lon = np.asarray(x, dtype=np.float64) / self.k_lon + self.lon0
        return lat, lon


def slice_polyline(
    x: np.ndarray, y: np.ndarray, start: float, end: float
) -> tuple[np.ndarray, np.ndarray]:
    """The part of a polyline between two fractions of its length (start ≤ end), endpoints kept."""
    seg = np.hypot(np.diff(x), np.diff(y))
    cum = np.concatenate(([0.0], np.cumsum(seg)))
    total = cum[-1]
    if total <= 0:
        return x[:1].copy(), y[:1].copy()
    a, b = start * total, end * total
    inner = (cum > a) & (cum < b)
    xs = np.concatenate(([np.interp(a, cum, x)], x[inner], [np.interp(b, cum, x)]))
    ys = np.concatenate(([np.interp(a, cum, y)], y[inner], [np.interp(b, cum, y)]))
    return xs, ys
