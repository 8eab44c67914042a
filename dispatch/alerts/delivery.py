"""Outbound alert notifications: every raised alert as a CAP 1.2 message to a webhook.

Runs beside the scheduler, reading `h15:alerts` in its own consumer group so a slow or dead
gateway never delays the next alert. Every attempt is recorded in `alert_deliveries`, so a
failed delivery is visible on the API; the stream message is acknowledged only once the
delivery is final (delivered, or given up after the retries).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from starlette.concurrency import run_in_threadpool

from alerts.cap import build_cap
from alerts.notify import DeliveryRecord, WebhookNotifier
from alerts.policy import Recipient, Tier
from alerts.timers import FiredAlert
from dispatch.alerts.models import Alert, AlertDelivery
from dispatch.context import AppContext
from dispatch.database.core import session_scope, utcnow
from dispatch.events.streams import ALERTS, AsyncEventStreams, Event
from dispatch.incidents.models import Incident

log = logging.getLogger(__name__)
GROUP = "notify"


def _recipient(text: str) -> Recipient:
    role, _, rest = text.partition("@")
    scope, _, unit = rest.partition(":")
    return Recipient(role, scope or "control_room", unit or None)


def cap_for(alert: Alert, incident: Incident | None) -> str:
    fired = FiredAlert(key=alert.idempotency_key, incident_id=str(alert.incident_id),
                       milestone=alert.milestone, tier=Tier(alert.tier), due_at=alert.due_at,
                       fired_at=alert.raised_at, late=alert.late,
                       recipients=tuple(_recipient(r) for r in alert.recipients or []))
    return build_cap(fired, incident_type=incident.incident_type if incident else None,
                     priority=incident.priority if incident else None,
                     area_desc=(incident.location_text or "Helpline 15 jurisdiction")
                     if incident else "Helpline 15 jurisdiction",
                     lat=incident.lat if incident else None,
                     lon=incident.lon if incident else None)


class AlertNotifier:
    def __init__(self, ctx: AppContext, streams: AsyncEventStreams, notifier: WebhookNotifier,
                 consumer: str | None = None) -> None:
        self.ctx = ctx
        self.streams = streams
        self.notifier = notifier
        self.notifier.on_record = self._save
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._alert_ids: dict[str, int] = {}

    def _load(self, alert_id: int) -> tuple[str, str] | None:
        with self.ctx.sessions() as session:
            alert = session.get(Alert, alert_id)
            if alert is None:
                return None
            incident = session.get(Incident, alert.incident_id)
            self._alert_ids[alert.idempotency_key] = alert.id
            return alert.idempotency_key, cap_for(alert, incident)

    def _record(self, record: DeliveryRecord) -> None:
        alert_id = self._alert_ids[record.alert_key]
        last = record.attempts[-1] if record.attempts else None
        with session_scope(self.ctx.sessions) as session:
            row = session.query(AlertDelivery).filter_by(alert_id=alert_id,
                                                         target=record.target).one_or_none()
            if row is None:
                row = AlertDelivery(alert_id=alert_id, target=record.target)
                session.add(row)
            row.state, row.attempts = record.state, len(record.attempts)
            row.last_status = last.status if last else None
            row.last_error = last.error if last else None
            row.updated_at = utcnow()

    async def _save(self, record: DeliveryRecord) -> None:
        await run_in_threadpool(self._record, record)

    async def handle(self, event: Event) -> None:
        if event.type == "alert.raised":
            loaded = await run_in_threadpool(self._load, int(event.data["id"]))
            if loaded is not None:
                key, body = loaded
                await self.notifier.deliver(key, body)
        await self.streams.ack(ALERTS, GROUP, event.id)

    async def poll_once(self, block_ms: int = 500) -> int:
        events = await self.streams.reclaim(ALERTS, GROUP, self.consumer, min_idle_ms=60_000)
        events += await self.streams.consume(ALERTS, GROUP, self.consumer, block_ms=block_ms)
        for event in events:
            await self.handle(event)
        return len(events)

    async def run(self, stop: asyncio.Event) -> None:
        await self.streams.ensure_group(ALERTS, GROUP, start="$")
        while not stop.is_set():
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep delivering after a Redis or database restart
                log.exception("alert notification failed; retrying")
                await asyncio.sleep(1)
