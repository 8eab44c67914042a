"""The camera list with live readings, read from what `vision_feed` publishes in Redis.

The registry is the TOML file `CAMERAS_PATH` names (the demo writes its own). Each camera's
last reading comes from `h15:congestion:last`; its age says whether the camera still reports
(`fresh`) or went silent and routing has fallen back to free flow on its edges.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from dispatch.cameras.schemas import CameraRead, CameraReading
from dispatch.context import AppContext
from dispatch.errors import DomainError
from dispatch.stations.service import covering_station, list_stations
from routing import RoadGraph
from routing.types import NoMapLoadedError, OutsideMapError
from vision_feed.cameras import Camera, CameraConfigError, load_cameras
from vision_feed.publish import read_last_readings

_cache: dict[str, tuple[float, list[Camera]]] = {}


class CamerasUnavailable(DomainError):
    status_code = 503


def registry(path: str) -> list[Camera]:
    """The configured cameras, re-read when the file changes; no file means no cameras."""
    try:
        mtime = Path(path).stat().st_mtime
    except FileNotFoundError:
        return []
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        try:
            cached = _cache[path] = (mtime, load_cameras(path))
        except CameraConfigError as exc:
            raise CamerasUnavailable(f"camera registry unusable: {exc}") from None
    return cached[1]


def _edges(ctx: AppContext, camera: Camera, reading: dict[str, Any] | None) -> list[str]:
    if reading and reading.get("edges"):
        return list(reading["edges"])
    if camera.edges:
        return list(camera.edges)
    from dispatch.maps.service import map_service

    try:
        return camera_edges(map_service(ctx).graph, *camera.position)
    except (NoMapLoadedError, OutsideMapError):
        return []


def camera_edges(graph: RoadGraph, lat: float, lon: float) -> list[str]:
    """The road a camera looks at: the snapped edge and its reverse, if two-way."""
    snap = graph.snap(lat, lon)
    return [e for e in (snap.edge_id, snap.reverse_edge_id) if e]


def _reading(raw: dict[str, Any]) -> CameraReading:
    return CameraReading(level=raw.get("level"), label=raw.get("label"),
                         factor=raw.get("factor"), occupancy=raw.get("occupancy"),
                         speed=raw.get("speed_kmh"), speed_ratio=raw.get("speed_ratio"),
                         confidence=raw.get("confidence"), reliable=raw.get("reliable"),
                         reason=raw.get("reason"), updated_at=raw.get("ts"))


def list_cameras(session: Session, *, ctx: AppContext, station_scope: int | None = None,
                 now: datetime | None = None) -> list[CameraRead]:
    """Every camera (an SHO: those in their station's area) with its last reading and age."""
    cameras = registry(ctx.settings.cameras_path)
    stations = list_stations(session)
    readings = read_last_readings(ctx.redis, [c.id for c in cameras])
    now = now or datetime.now(UTC)
    found = []
    for camera in cameras:
        lat, lon = camera.position
        station = covering_station(stations, lat=lat, lon=lon)
        station_id = station.id if station is not None else None
        if station_scope is not None and station_id != station_scope:
            continue
        raw = readings.get(camera.id)
        reading = _reading(raw) if raw else None
        age = None
        if reading is not None and reading.updated_at is not None:
            age = round(max(0.0, (now - reading.updated_at).total_seconds()), 1)
        found.append(CameraRead(id=camera.id, lat=lat, lon=lon, heading_deg=camera.heading_deg,
                                station_id=station_id, edges=_edges(ctx, camera, raw),
                                reading=reading, age_s=age,
                                fresh=age is not None and age <= (camera.ttl_s or 0)))
    return found
