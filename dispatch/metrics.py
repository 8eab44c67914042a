"""Prometheus metrics for the API; exposed at /metrics."""

from __future__ import annotations

import logging
import time

from fastapi import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.registry import Collector
from starlette.types import Message, Receive, Scope, Send

from dispatch.asgi import HttpMiddleware

log = logging.getLogger(__name__)

REQUESTS = Counter("h15_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("h15_http_request_seconds", "HTTP request latency", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


class MetricsMiddleware(HttpMiddleware):
    """Counts and times every HTTP request."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, note_status)
        finally:
            # The route template, not the raw path, so /incidents/1 and /incidents/2 share a
            # series; the router records the matched route in the scope.
            name = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], name, str(status)).inc()
            LATENCY.labels(scope["method"], name).observe(time.perf_counter() - started)


def metrics_response(*extra: Collector) -> Response:
    """The process's metrics plus collectors read at scrape time (a registry per scrape, so
    several apps in one process never register the same collector twice)."""
    body = generate_latest()
    if extra:
        scrape = CollectorRegistry(auto_describe=False)
        for collector in extra:
            scrape.register(collector)
        try:
            body += generate_latest(scrape)
        except Exception as exc:  # Redis down or a bad camera file: the rest is still worth it
            log.warning("scrape-time metrics left out: %s", exc)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
