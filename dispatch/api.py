"""The FastAPI application: routers of every domain under /api/v1, health, metrics, errors."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.concurrency import run_in_threadpool

from dispatch.alerts.views import router as alerts_router
from dispatch.assignments.views import router as assignments_router
from dispatch.audit.views import router as audit_router
from dispatch.auth.deps import get_context, require_metrics_reader
from dispatch.boards.views import router as boards_router
from dispatch.calls.views import router as calls_router
from dispatch.cameras.service import registry as camera_registry
from dispatch.cameras.views import router as cameras_router
from dispatch.consoles.views import router as consoles_router
from dispatch.context import AppContext
from dispatch.errors import DomainError, error_body
from dispatch.incidents.views import router as incidents_router
from dispatch.intake.views import router as intake_router
from dispatch.kpi.views import router as kpi_router
from dispatch.maps.service import load_map, map_service, start_congestion_refresh
from dispatch.maps.views import router as maps_router
from dispatch.metrics import MetricsMiddleware, metrics_response
from dispatch.realtime.views import router as realtime_router
from dispatch.runtime import freeze_startup_heap
from dispatch.security import (
    BodySizeLimitMiddleware,
    SecurityHeadersMiddleware,
    install_log_redaction,
)
from dispatch.settings import Settings, get_settings
from dispatch.stations.views import router as stations_router
from dispatch.units.fastpath import PingFastPath
from dispatch.units.positions import LivePositions, PositionFlusher
from dispatch.units.views import router as units_router
from dispatch.users.views import router as users_router
from vision_feed.freshness import CameraFreshnessCollector

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
# A ping waits this long for Redis before it is stored in the database instead.
PING_REDIS_TIMEOUT_S = 2.0
# Pings beyond this many at once wait for a connection (and are refused 503 after the timeout)
# rather than opening more: under overload, queueing beats a connection storm.
PING_REDIS_CONNECTIONS = 32

DESCRIPTION = """
Helpline 15: calls to 15 reach the responsible station's officers; every response is timed.

Authenticate with `POST /api/v1/auth/token` (OAuth2 password flow) and send
`Authorization: Bearer <token>`. Roles: `call_taker`, `dispatcher`, `sho`, `supervisor`,
`admin`. An SHO sees only their own station's units and incidents.

Failed logins are capped per account (10 in 5 minutes, from any address) and per client
address (50 in 5 minutes, across accounts): 429 with `Retry-After`. A token ends at its expiry
or at `POST /api/v1/auth/revoke`; WebSockets opened with it are then closed with code 4401
within seconds. Path ids run from 1 to 2147483647; others get 422 naming the parameter.
Prometheus scrapes `GET /api/v1/metrics` with the static `METRICS_TOKEN` as its bearer token.
"""


def create_app(settings: Settings | None = None, context: AppContext | None = None,
               *, background: bool = False) -> FastAPI:
    """Build the app; `background=True` also runs the event persister in this process."""
    settings = settings or (context.settings if context else get_settings())
    settings.signing_key()  # fail at start-up, not at the first login, if SECRET_KEY is missing
    install_log_redaction([settings.secret_key, settings.ami_secret, settings.metrics_token])

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        from dispatch.events.redis_client import make_async_redis
        from dispatch.realtime.hub import Hub

        ctx = app.state.ctx
        async_redis = make_async_redis(ctx.settings.redis_url)
        app.state.hub = Hub(async_redis)
        await app.state.hub.start()
        ping_redis = make_async_redis(ctx.settings.redis_url, timeout_s=PING_REDIS_TIMEOUT_S,
                                      max_connections=PING_REDIS_CONNECTIONS)
        app.state.live_positions = LivePositions(ping_redis)
        # Every app that takes pings writes them through to the database (one at a time).
        flusher = PositionFlusher(sessions=ctx.sessions, client=ctx.redis)
        flusher.start()
        if ctx.settings.map_path and map_service(ctx).path is None:
            await run_in_threadpool(load_map, ctx, ctx.settings.map_path)
        persister, congestion, relay = None, None, None
        if background:
            from dispatch.calls.persister import Persister
            from dispatch.events.outbox import Relay

            persister = Persister(sessions=ctx.sessions, streams=ctx.events)
            persister.start()
            congestion = start_congestion_refresh(ctx)
            relay = Relay(ctx.engine, ctx.events).start()  # events left by dead processes
            from dispatch.intake.engine import warm_in_background

            warm_in_background(ctx)  # the first triage request must not load the models
            freeze_startup_heap()  # a served process (not a test's app): see the docstring
        yield
        if relay is not None:
            relay.stop()
        if persister is not None:
            persister.stop()
        if congestion is not None:
            congestion.set()
        await run_in_threadpool(flusher.stop)
        await app.state.hub.stop()
        await async_redis.aclose()
        await ping_redis.aclose()
        if context is None:
            app.state.ctx.close()

    app = FastAPI(title="Helpline 15", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan, docs_url="/docs", openapi_url="/openapi.json")
    app.state.ctx = context or AppContext.from_settings(settings)
    app.add_middleware(PingFastPath)  # innermost: still timed, limited and given headers
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodySizeLimitMiddleware)
    app.add_middleware(MetricsMiddleware)  # outermost: times everything, even refusals

    api = APIRouter(prefix=API_PREFIX)
    # Units first: routes are matched in order, and GPS pings are most of the traffic.
    for router in (units_router, users_router, stations_router, calls_router, incidents_router,
                   assignments_router, alerts_router, audit_router, intake_router, kpi_router,
                   maps_router, cameras_router, boards_router):
        api.include_router(router)
    api.add_api_route("/health", health, methods=["GET"], tags=["operations"])
    api.add_api_route("/metrics", metrics, methods=["GET"], tags=["operations"])
    app.include_router(api)
    app.include_router(realtime_router)
    app.include_router(consoles_router)
    # Unauthenticated liveness at the root too, for load balancers and compose health checks.
    app.add_api_route("/health", health, methods=["GET"], include_in_schema=False)

    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(IntegrityError, _integrity_error)  # type: ignore[arg-type]
    app.add_exception_handler(DataError, _data_error)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _database_unavailable)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(OverflowError, _number_out_of_range)  # type: ignore[arg-type]
    return app


def served_app() -> FastAPI:
    """`helpline15 serve --workers N`: each worker process builds its app from the environment."""
    return create_app(get_settings(), background=True)


def health(request: Request) -> JSONResponse:
    """Liveness and the reachability of PostgreSQL/SQLite and Redis."""
    ctx: AppContext = request.app.state.ctx
    checks: dict[str, str] = {}
    try:
        with ctx.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, don't crash the health endpoint
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        ctx.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if healthy else "degraded", **checks},
                        status_code=200 if healthy else 503)


def metrics(_: str = Depends(require_metrics_reader),
            ctx: AppContext = Depends(get_context)) -> Response:
    """Prometheus metrics. Scrape with `Authorization: Bearer <METRICS_TOKEN>` (a static token
    from the settings, for Prometheus' `authorization` block), or a supervisor's token. Includes
    each camera's reading age and sample lag (`h15_camera_*`), read from Redis at scrape time."""
    cameras = CameraFreshnessCollector(
        ctx.redis, lambda: [camera.id for camera in camera_registry(ctx.settings.cameras_path)])
    return metrics_response(cameras)


async def _domain_error(_: Request, exc: DomainError) -> Response:
    status, body, headers = error_body(exc)
    return Response(body, status_code=status, headers=headers, media_type="application/json")


async def _integrity_error(_: Request, exc: IntegrityError) -> JSONResponse:
    log.warning("integrity error: %s", exc.orig)
    return JSONResponse({"detail": "conflicts with existing data (duplicate or missing "
                                   "reference)"}, status_code=409)


async def _data_error(_: Request, exc: DataError) -> JSONResponse:
    # e.g. a NUL byte in text or an id beyond the column's range: the client's input, not a 500
    log.warning("data error: %s", exc.orig)
    return JSONResponse({"detail": f"a value cannot be stored: {str(exc.orig).splitlines()[0]}"},
                        status_code=422)


async def _number_out_of_range(_: Request, exc: OverflowError) -> JSONResponse:
    # SQLite's driver refuses an integer beyond 64 bits (a body id the schema left unbounded)
    # with a bare OverflowError; path ids are bounded by `dispatch.ids.Id` before this.
    log.warning("number out of range: %s", exc)
    return JSONResponse({"detail": f"a number is out of range: {exc}"}, status_code=422)


async def _database_unavailable(_: Request, exc: OperationalError) -> JSONResponse:
    # PostgreSQL restarting or unreachable: nothing was stored, so the client may retry
    log.error("database unavailable: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
    return JSONResponse({"detail": "the database is unavailable; nothing was stored, retry"},
                        status_code=503, headers={"Retry-After": "2"})


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
              for e in exc.errors()]
    summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    return JSONResponse({"detail": f"invalid request: {summary}", "errors": errors},
                        status_code=422)
