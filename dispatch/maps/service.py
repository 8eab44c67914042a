"""The road map in service, live congestion on it, and unit recommendations for incidents.

The map is held by `routing.MapService` in the process context; congestion is refreshed from
the vision feed's Redis keys every few seconds by a background thread, so a camera that stops
reporting expires back to free flow.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.context import AppContext
from dispatch.errors import DomainError, Invalid
from dispatch.incidents.models import Incident
from dispatch.units.models import Unit
from routing import MapService, RoadGraph, load_congestion
from routing.types import NoMapLoadedError, OutsideMapError, RoutingError, UnitPosition

log = logging.getLogger(__name__)
KEY = "maps"
# A unit of the station that owns the incident's area is preferred over a slightly nearer
# neighbour's: jurisdiction matters for FIRs and accountability, seconds less so.
HOME_STATION_PREFERENCE_S = 60.0


class MapUnavailable(DomainError):
    status_code = 503


def map_service(ctx: AppContext) -> MapService:
    return ctx.extras.setdefault(KEY, MapService())


def graph_or_error(ctx: AppContext) -> RoadGraph:
    try:
        return map_service(ctx).graph
    except NoMapLoadedError:
        raise MapUnavailable("no road map is loaded: set MAP_PATH or run "
                             "'helpline15 map import FILE'") from None


def load_map(ctx: AppContext, path: str | Path) -> RoadGraph:
    """Put a map (compiled .npz, or an OSM extract compiled on the way) into service."""
    from routing.compile import ensure_compiled

    compiled = ensure_compiled(path, ctx.settings.map_dir)
    return map_service(ctx).swap(compiled)


def refresh_congestion(ctx: AppContext) -> int:
    return map_service(ctx).set_congestion(load_congestion(ctx.redis))


def start_congestion_refresh(ctx: AppContext, every_s: float = 3.0) -> threading.Event:
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                if map_service(ctx).path is not None:
                    refresh_congestion(ctx)
            except Exception:  # Redis restarting: keep the last factors until it answers
                log.exception("congestion refresh failed")

    threading.Thread(target=loop, name="h15-congestion", daemon=True).start()
    return stop


@dataclass(frozen=True)
class UnitRecommendation:
    unit_id: int
    call_sign: str
    kind: str
    station_id: int
    home_station: bool
    eta_s: float
    distance_m: float
    route: list[tuple[float, float]]


def recommend_units(session: Session, *, graph: RoadGraph, incident: Incident, k: int = 3,
                    kinds: list[str] | None = None) -> tuple[list[UnitRecommendation],
                                                             dict[str, str]]:
    """The k available units that arrive first, preferring the incident's own station.

    Returns the ranked units and the units left out with the reason (no fix, off the map).
    """
    if incident.lat is None or incident.lon is None:
        raise Invalid(f"incident {incident.id} has no location yet; set one to get units")
    query = select(Unit).where(Unit.status == "available")
    if kinds:
        query = query.where(Unit.kind.in_(kinds))
    units = {str(u.id): u for u in session.scalars(query)}
    if not units:
        return [], {}
    positions = [UnitPosition(uid, u.last_lat, u.last_lon) for uid, u in units.items()]
    wanted = min(len(units), k + 5)  # a few spare, so home-station preference can reorder
    try:
        found = graph.recommend(incident.lat, incident.lon, positions, k=wanted)
    except OutsideMapError as exc:
        raise Invalid(f"incident location is outside the map: {exc}") from None
    ranked = []
    for rec in found.recommendations:
        unit = units[rec.unit_id]
        home = incident.station_id is not None and unit.station_id == incident.station_id
        ranked.append(UnitRecommendation(unit.id, unit.call_sign, unit.kind, unit.station_id,
                                         home, rec.eta_s, rec.distance_m, list(rec.route)))
    ranked.sort(key=lambda r: r.eta_s - (HOME_STATION_PREFERENCE_S if r.home_station else 0))
    return ranked[:k], found.skipped


def eta(graph: RoadGraph, *, from_lat: float, from_lon: float, to_lat: float,
        to_lon: float) -> Any:
    try:
        return graph.eta(from_lat, from_lon, to_lat, to_lon)
    except OutsideMapError as exc:
        raise Invalid(f"point outside the map: {exc}") from None
    except RoutingError as exc:
        raise Invalid(f"no route: {exc}") from None


_ROADS: weakref.WeakKeyDictionary[RoadGraph, dict[str, Any]] = weakref.WeakKeyDictionary()


def roads_geojson(graph: RoadGraph) -> dict[str, Any]:
    """Every road once (a two-way street is drawn once), for consoles without a tile server."""
    cached = _ROADS.get(graph)
    if cached is not None:
        return cached
    started = time.perf_counter()
    features = []
    offsets, lats, lons = graph.geom_offsets, graph.geom_lat, graph.geom_lon
    for e in range(graph.edge_count):
        reverse = graph.reverse_edge[e]
        if reverse >= 0 and reverse < e:
            continue
        lo, hi = offsets[e], offsets[e + 1]
        coords = [[round(float(x), 5), round(float(y), 5)]
                  for x, y in zip(lons[lo:hi], lats[lo:hi], strict=True)]
        name_index = int(graph.edge_name[e])
        features.append({"type": "Feature",
                         "properties": {"name": graph.names[name_index]
                                        if name_index >= 0 else None},
                         "geometry": {"type": "LineString", "coordinates": coords}})
    collection = {"type": "FeatureCollection", "features": features}
    _ROADS[graph] = collection
    log.info("road geometry for consoles: %d lines in %.2fs", len(features),
             time.perf_counter() - started)
    return collection
