"""Outbound alert delivery (webhook or SMS gateway) with retries and a visible record.

Every attempt is written into a `DeliveryRecord` and handed to `on_record` as it happens, so a
supervisor can see an undelivered alert instead of it failing silently. The HTTP call itself is
injected (`poster`) so the same logic drives a webhook, an SMS gateway's HTTP API or a test.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

log = logging.getLogger(__name__)

Poster = Callable[[str, bytes, Mapping[str, str]], Awaitable[int]]
"""POST `body` with `headers` to `url`; return the HTTP status (raise on network errors)."""

CAP_CONTENT_TYPE = "application/cap+xml"
# 4xx answers that may succeed if asked again (timeout, too many requests); other 4xx are final.
_RETRYABLE_4XX = {408, 425, 429}


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    at: datetime
    status: int | None
    error: str | None = None


@dataclass
class DeliveryRecord:
    """What happened to one alert's delivery to one target; `state` is what a console shows."""

    alert_key: str
    target: str
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    delivered: bool = False
    final: bool = False

    @property
    def state(self) -> str:
        if self.delivered:
            return "delivered"
        return "failed" if self.final else "retrying"


async def httpx_poster(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    """The default poster: one HTTP POST with httpx (a new client per call keeps it simple)."""
    import httpx

    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(url, content=body, headers=dict(headers))
        return response.status_code


class WebhookNotifier:
    """POSTs an alert body to `url`, retrying with exponential backoff on failure."""

    def __init__(
        self,
        url: str,
        *,
        poster: Poster = httpx_poster,
        max_attempts: int = 5,
        backoff_s: float = 1.0,
        backoff_factor: float = 2.0,
        headers: Mapping[str, str] | None = None,
        on_record: Callable[[DeliveryRecord], Awaitable[None]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.url = url
        self.poster = poster
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.backoff_factor = backoff_factor
        self.headers = dict(headers or {})
        self.on_record = on_record
        self.sleep = sleep

    async def deliver(
        self, alert_key: str, body: str | bytes, *, content_type: str = CAP_CONTENT_TYPE
    ) -> DeliveryRecord:
        """Deliver once or give up after `max_attempts`; never raises for delivery failures."""
        payload = body.encode("utf-8") if isinstance(body, str) else body
        headers = {"Content-Type": content_type, "X-Alert-Key": alert_key, **self.headers}
        record = DeliveryRecord(alert_key=alert_key, target=self.url)
        delay = self.backoff_s
        for attempt in range(1, self.max_attempts + 1):
            status: int | None = None
            error: str | None = None
            try:
                status = await self.poster(self.url, payload, headers)
            except Exception as exc:  # network trouble of any kind is a failed attempt
                error = f"{type(exc).__name__}: {exc}"
            record.attempts.append(DeliveryAttempt(datetime.now(UTC), status, error))
            record.delivered = status is not None and 200 <= status < 300
            permanent = status is not None and 400 <= status < 500 and status not in _RETRYABLE_4XX
            record.final = record.delivered or permanent or attempt == self.max_attempts
            if self.on_record is not None:
                await self.on_record(record)
            if record.final:
                break
            log.warning(
                "delivery of %s to %s failed (attempt %d: %s); retrying in %.1f s",
                alert_key, self.url, attempt, error or status, delay,
            )  # fmt: skip
            await self.sleep(delay)
            delay *= self.backoff_factor
        if not record.delivered:
            log.error("alert %s NOT delivered to %s: %s", alert_key, self.url, record.attempts[-1])
        return record
