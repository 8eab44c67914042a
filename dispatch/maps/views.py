from __future__ import annotations

import gzip
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from dispatch.auth.deps import ALL_STAFF, CurrentUser, DbSession, get_context, require_roles
from dispatch.context import AppContext
from dispatch.errors import Invalid
from dispatch.ids import Id
from dispatch.incidents.service import get_incident
from dispatch.maps import basemap, service

router = APIRouter(tags=["routing"])


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class EtaRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    origin: Point = Field(alias="from")
    destination: Point = Field(alias="to")


class RouteRead(BaseModel):
    eta_s: float
    distance_m: float
    route: list[tuple[float, float]]


class RecommendationRead(RouteRead):
    unit_id: int
    call_sign: str
    kind: str
    station_id: int
    home_station: bool


class RecommendationsRead(BaseModel):
    incident_id: int
    recommendations: list[RecommendationRead]
    skipped: dict[str, str]


@router.get("/incidents/{incident_id}/recommendations", response_model=RecommendationsRead)
async def recommendations(incident_id: Id, db: DbSession,
                          k: int = Query(3, ge=1, le=20),
                          kind: list[str] | None = Query(None, description="unit kinds"),
                          ctx: AppContext = Depends(get_context),
                          _: CurrentUser = Depends(require_roles("dispatcher", "call_taker",
                                                                 "supervisor"))
                          ) -> RecommendationsRead:
    """Nearest available units by live ETA on the road graph (camera congestion applied)."""
    graph = service.graph_or_error(ctx)
    incident = get_incident(db, incident_id=incident_id)
    ranked, skipped = await run_in_threadpool(
        lambda: service.recommend_units(db, graph=graph, incident=incident, k=k, kinds=kind))
    return RecommendationsRead(
        incident_id=incident_id, skipped=skipped,
        recommendations=[RecommendationRead(**r.__dict__) for r in ranked])


@router.post("/routing/eta", response_model=RouteRead)
async def route_eta(body: EtaRequest, ctx: AppContext = Depends(get_context),
                    _: CurrentUser = Depends(require_roles("dispatcher", "call_taker", "sho",
                                                           "supervisor"))) -> RouteRead:
    """ETA seconds, road distance and the route geometry between two points."""
    graph = service.graph_or_error(ctx)
    route = await run_in_threadpool(
        lambda: service.eta(graph, from_lat=body.origin.lat, from_lon=body.origin.lon,
                            to_lat=body.destination.lat, to_lon=body.destination.lon))
    return RouteRead(eta_s=route.eta_s, distance_m=route.distance_m, route=route.geometry)


@router.get("/map/roads")
async def roads(ctx: AppContext = Depends(get_context),
                _: CurrentUser = Depends(require_roles(*ALL_STAFF))) -> dict[str, Any]:
    """The road network as GeoJSON lines, so consoles need no tile server."""
    graph = service.graph_or_error(ctx)
    return await run_in_threadpool(service.roads_geojson, graph)


@router.get("/map/style.json")
async def map_style(ctx: AppContext = Depends(get_context),
                    _: CurrentUser = Depends(require_roles(*ALL_STAFF))) -> JSONResponse:
    """A MapLibre style (v8) over the loaded map's vector tiles; its one source is this
    server's `/api/v1/map/tiles/{z}/{x}/{y}.pbf` (the same origin) and labels use the device's
    fonts (no `glyphs`). 404 when the map was loaded without tiles, 503 with no map."""
    style = await run_in_threadpool(basemap.style, ctx)
    return JSONResponse(style, headers={"Cache-Control": "private, no-cache"})


@router.get("/map/tiles/{z}/{x}/{y}.pbf", response_class=Response,
            responses={200: {"content": {"application/vnd.mapbox-vector-tile": {}}},
                       204: {"description": "an empty tile (nothing on the map there)"}})
async def map_tile(request: Request, z: int = Path(ge=0, le=22), x: int = Path(ge=0),
                   y: int = Path(ge=0), ctx: AppContext = Depends(get_context),
                   _: CurrentUser = Depends(require_roles(*ALL_STAFF))) -> Response:
    """One Mapbox Vector Tile of the loaded map (layers `roads`, `pois`, `places`, `water`,
    `parks`, `waterways`), gzip-encoded; 204 where the map has nothing, 404 above the tiles'
    maximum zoom (clients over-zoom). Cached privately for an hour, with an ETag."""
    if x >= 1 << z or y >= 1 << z:
        raise Invalid(f"tile {z}/{x}/{y} is outside the {1 << z}x{1 << z} grid of zoom {z}")
    store = await run_in_threadpool(basemap.tile_store, ctx)
    maxzoom = int(store.metadata.get("maxzoom", 14))
    if z > maxzoom:
        raise basemap.NoTiles(f"no tiles above zoom {maxzoom}: over-zoom the z{maxzoom} ones")
    data, etag = await run_in_threadpool(lambda: basemap.tile(ctx, z=z, x=x, y=y))
    headers = {"Cache-Control": "private, max-age=3600", "ETag": etag, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if data is None:
        return Response(status_code=204, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
    else:
        data = gzip.decompress(data)
    return Response(data, media_type="application/vnd.mapbox-vector-tile", headers=headers)
