"""Plain data the routing package hands out, and its errors.

Plain dataclasses (no ORM, no pydantic) so `dispatch` can copy them into its own schemas.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LatLon = tuple[float, float]


class RoutingError(Exception):
    """Base class: anything routing cannot answer, with a message a dispatcher can read."""


class OutsideMapError(RoutingError):
    """A point is not on (or near enough to) the loaded road network."""


class MapImportError(RoutingError):
    """An OSM file could not be read or held no drivable roads."""


class MapLoadError(RoutingError):
    """A compiled map file is missing, truncated or of an unknown format."""


class NoMapLoadedError(RoutingError):
    """The service has no road graph yet."""


@dataclass(frozen=True, slots=True)
class UnitPosition:
    """Where a unit is; lat/lon None means no GPS fix yet (it is skipped and reported)."""

    unit_id: str
    lat: float | None
    lon: float | None


@dataclass(frozen=True, slots=True)
class Snap:
    """A point placed on the nearest directed edge, `fraction` of the way from u to v."""

    edge_id: str
    u: int
    v: int
    fraction: float
    lat: float
    lon: float
    offset_m: float  # straight-line distance from the asked point to the road
    reverse_edge_id: str | None = None  # the same road driven v→u, if it is two-way


@dataclass(frozen=True, slots=True)
class Route:
    """A travel time, a road distance and the polyline to draw (lat, lon pairs)."""

    eta_s: float
    distance_m: float
    geometry: list[LatLon]
    edge_ids: list[str] = field(default_factory=list)  # edges driven, wholly or in part


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One candidate unit for an incident, ranked by ETA."""

    unit_id: str
    eta_s: float
    distance_m: float
    route: list[LatLon]
    edge_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class NearestUnitsResult:
    """Recommendations plus the units left out and why (no fix, off the map, unreachable)."""

    recommendations: list[Recommendation]
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Street:
    """A named street with one representative point, for the intake gazetteer."""

    name: str
    lat: float
    lon: float
    length_m: float


@dataclass(frozen=True, slots=True)
class Poi:
    """A point of interest from the extract (police station, hospital, fire station)."""

    kind: str
    name: str
    lat: float
    lon: float
    osm_id: str
