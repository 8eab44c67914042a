"""The alert scheduler on the real PostgreSQL and Redis: due tiers stored once, milestones
cancel what is pending, a rebuilt scheduler raises what came due while it was down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis
from sqlalchemy import select

from dispatch.alerts.models import Alert
from dispatch.alerts.scheduling import AlertScheduling
from dispatch.assignments.service import assign_unit
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.events.streams import ALERTS
from dispatch.incidents.models import Incident
from dispatch.incidents.service import create_incident
from dispatch.units.service import create_unit
from tests.foundation.helpers import CHARING_CROSS, make_stations


def alerts_in_db(ctx: AppContext) -> list[tuple[str, str, str, bool]]:
    with ctx.sessions() as session:
        rows = session.scalars(select(Alert).order_by(Alert.id))
        return [(a.milestone, a.tier, a.state, a.late) for a in rows]


async def test_due_tiers_fire_once_and_milestones_cancel(ctx: AppContext, redis_url: str) -> None:
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    with session_scope(ctx.sessions) as session:
        civil, _ = make_stations(session)
        unit = create_unit(session, call_sign="CL-1", station_id=civil.id, kind="patrol_car")
        incident = create_incident(session, incident_type="firing_shooting", priority="P1",
                                   actor="ct", lat=CHARING_CROSS[0], lon=CHARING_CROSS[1],
                                   now=two_hours_ago)
        incident_id, unit_id = incident.id, unit.id
    client = aioredis.Redis.from_url(redis_url)
    first = AlertScheduling(ctx, client, consumer="s1")
    second = AlertScheduling(ctx, client, consumer="s2")
    # The scheduler was "down" while the incident waited two hours for a dispatch.
    assert await first.rebuild() == 4
    fired = await first.scheduler.tick() + await second.scheduler.tick()
    assert sorted(a.tier.value for a in fired) == ["advisory", "critical", "emergency",
                                                   "warning"]
    assert await first.scheduler.tick() == [] and await second.scheduler.tick() == []
    rows = alerts_in_db(ctx)
    assert sorted(rows) == sorted(("unit_dispatched", tier, "open", True) for tier in
                                  ("advisory", "warning", "critical", "emergency"))
    assert len(ctx.events.client.xrange(ALERTS)) == 4
    # A rebuild (a restarted scheduler) never re-fires what was already raised.
    await second.rebuild()
    assert await first.scheduler.tick() == []
    assert len(alerts_in_db(ctx)) == 4

    with session_scope(ctx.sessions) as session:
        assign_unit(session, incident=session.get(Incident, incident_id), unit_id=unit_id,
                    actor="d1")
    armed = await first.sync_incident(incident_id)
    assert armed == 4  # the unit_acknowledged timers, counted from the dispatch
    pending = {spec.milestone for spec in await first.store.pending()}
    assert pending == {"unit_acknowledged"}
    assert {state for _, _, state, _ in alerts_in_db(ctx)} == {"resolved"}
    await client.aclose()
