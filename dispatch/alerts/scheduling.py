"""The alert scheduler process: the `alerts` library's timers, fed from the database.

PostgreSQL is the source of truth. On start every open incident's pending timers are rebuilt
from its recorded milestones; afterwards the scheduler follows `h15:incidents` and re-arms an
incident's timers whenever it changes (a milestone reached cancels what was pending for it).
Fired alerts are stored once each (the alert's key is unique) and published on `h15:alerts`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable

import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from alerts.policy import Policy, TimerSpec, load_policy
from alerts.timers import FiredAlert, Scheduler, TimerStore
from dispatch.alerts.models import Alert
from dispatch.alerts.service import raise_alert
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.events.outbox import Relay, publish_pending
from dispatch.events.streams import INCIDENTS, AsyncEventStreams
from dispatch.incidents.models import Incident
from dispatch.incidents.service import milestones
from dispatch.stations.models import Station
from dispatch.vocabulary import MILESTONES

log = logging.getLogger(__name__)
GROUP = "alerts"


def jurisdiction(session: Session, incident: Incident) -> dict[str, str]:
    station = session.get(Station, incident.station_id) if incident.station_id else None
    where = {"control_room": "15"}
    if station is not None:
        where["station"] = station.code
        if station.district:
            where["district"] = station.district
            where["circle"] = station.district
    return where


def timers_for(session: Session, policy: Policy, incident: Incident) -> list[TimerSpec]:
    """What should be armed for this incident now, from the milestones it has reached."""
    if incident.status == "closed":
        return []
    # A clock starts at the earlier of the reported and the received time: a handset's clock
    # can start the next step's clock sooner (a queued step), never later than the report.
    reached = {m.milestone: min(m.reached_at, m.received_at)
               for m in milestones(session, incident_id=incident.id)}
    return policy.next_timers(incident_id=incident.id, priority=incident.priority,
                              incident_type=incident.incident_type, reached=reached,
                              jurisdiction=jurisdiction(session, incident))


def resolve_reached(session: Session, incident: Incident) -> None:
    """Open alerts of a milestone now reached are resolved: the lateness is over."""
    reached = {m.milestone for m in milestones(session, incident_id=incident.id)}
    for alert in session.scalars(select(Alert).where(Alert.incident_id == incident.id,
                                                     Alert.state == "open")):
        if alert.milestone in reached or incident.status == "closed":
            alert.state = "resolved"


class AlertScheduling:
    def __init__(self, ctx: AppContext, client: aioredis.Redis, *,
                 policy: Policy | None = None, now: Callable[[], float] | None = None,
                 consumer: str | None = None) -> None:
        self.ctx = ctx
        self.policy = policy or load_policy()
        self.store = TimerStore(client)
        self.streams = AsyncEventStreams(client)
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        kwargs = {"now": now} if now else {}
        self.scheduler = Scheduler(self.store, fire_many=self.fire_many, **kwargs)

    def _specs_for(self, incident_id: int) -> tuple[list[TimerSpec], bool]:
        with session_scope(self.ctx.sessions) as session:
            incident = session.get(Incident, incident_id)
            if incident is None:
                return [], True
            resolve_reached(session, incident)
            return timers_for(session, self.policy, incident), incident.status == "closed"

    async def sync_incident(self, incident_id: int) -> int:
        """Cancel what the incident no longer waits for and arm what it waits for now."""
        specs, closed = await run_in_threadpool(self._specs_for, incident_id)
        waiting_for = {spec.milestone for spec in specs}
        stale = [m for m in MILESTONES if m not in waiting_for] if not closed else MILESTONES
        await self.store.cancel_incident(incident_id, stale)
        return await self.store.schedule(specs)

    def _all_open_specs(self) -> list[TimerSpec]:
        with session_scope(self.ctx.sessions) as session:
            incidents = session.scalars(select(Incident).where(Incident.status != "closed"))
            return [spec for incident in incidents
                    for spec in timers_for(session, self.policy, incident)]

    async def rebuild(self) -> int:
        specs = await run_in_threadpool(self._all_open_specs)
        result = await self.store.rebuild(specs)
        log.info("alert timers rebuilt: %s", result)
        return result.armed

    def _record(self, fired: list[FiredAlert]) -> None:
        for alert in fired:
            try:
                with session_scope(self.ctx.sessions) as session:
                    raise_alert(session, incident_id=int(alert.incident_id),
                                milestone=alert.milestone, tier=alert.tier.value,
                                due_at=alert.due_at, now=alert.fired_at, late=alert.late,
                                recipients=[str(r) for r in alert.recipients])
                publish_pending(session, self.ctx.events)
            except IntegrityError:
                log.info("alert %s already recorded", alert.key)

    async def fire_many(self, fired: list[FiredAlert]) -> None:
        await run_in_threadpool(self._record, fired)

    async def follow_incidents(self, stop: asyncio.Event) -> None:
        await self.streams.ensure_group(INCIDENTS, GROUP, start="$")
        while not stop.is_set():
            try:
                events = await self.streams.reclaim(INCIDENTS, GROUP, self.consumer,
                                                    min_idle_ms=10_000)
                events += await self.streams.consume(INCIDENTS, GROUP, self.consumer,
                                                     block_ms=500)
                for event in events:
                    incident_id = event.data.get("incident_id", event.data.get("id"))
                    if incident_id is not None:
                        await self.sync_incident(int(incident_id))
                    await self.streams.ack(INCIDENTS, GROUP, event.id)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis or PostgreSQL restarting: retry, never exit silently
                log.exception("following incidents failed; retrying")
                await asyncio.sleep(1)

    async def run(self, stop: asyncio.Event) -> None:
        await self.rebuild()
        loops = [self.scheduler.run(stop), self.follow_incidents(stop)]
        webhook = self.ctx.settings.alert_webhook_url
        if webhook:
            from alerts.notify import WebhookNotifier
            from dispatch.alerts.delivery import AlertNotifier

            loops.append(AlertNotifier(self.ctx, self.streams, WebhookNotifier(webhook),
                                       consumer=self.consumer).run(stop))
        relay = Relay(self.ctx.engine, self.ctx.events).start()  # events of dead processes
        try:
            await asyncio.gather(*loops)
        finally:
            await asyncio.to_thread(relay.stop)
