"""Prometheus metrics for the API; exposed at /metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUESTS = Counter("h15_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("h15_http_request_seconds", "HTTP request latency", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


async def metrics_middleware(request: Request,
                             call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    # The route template, not the raw path, so /incidents/1 and /incidents/2 share a series.
    name = getattr(route, "path", "unmatched")
    REQUESTS.labels(request.method, name, str(response.status_code)).inc()
    LATENCY.labels(request.method, name).observe(time.perf_counter() - started)
    return response


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
