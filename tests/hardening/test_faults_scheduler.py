"""Fault: the `helpline15 scheduler` process is SIGKILLed and restarted.

Incidents wait two hours for a dispatch, so each P1 firing has four tiers due. The scheduler
is killed after raising the first batch's alerts; a second batch comes due while it is dead.
After the restart every due alert is stored once and announced on `h15:alerts` once.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import select

from bench.load import CLI, LAHORE, ServedStack
from dispatch.alerts.models import Alert
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.events.streams import ALERTS, decode
from dispatch.incidents.service import create_incident
from dispatch.settings import load_settings

pytestmark = [pytest.mark.faults, pytest.mark.slow]
BATCH = 3
TIERS = 4  # advisory, warning, critical, emergency for a P1 firing two hours undispatched


@pytest.fixture
def stack(redis_url: str) -> Iterator[ServedStack]:
    served = ServedStack(redis_url=redis_url, units=1).create()
    yield served
    served.destroy()


def stored(ctx: AppContext) -> Counter[tuple[int, str, str]]:
    with ctx.sessions() as session:
        return Counter((a.incident_id, a.milestone, a.tier) for a in session.scalars(select(Alert)))


def announced(url: str) -> Counter[tuple[int, str, str]]:
    events = [decode(ALERTS, mid, f) for mid, f in redis.Redis.from_url(url).xrange(ALERTS)]
    return Counter((e.data["incident_id"], e.data["milestone"], e.data["tier"]) for e in events
                   if e.type == "alert.raised")


def wait_until(probe, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.3)
    pytest.fail("timed out waiting for the scheduler")


def test_scheduler_killed_and_restarted_stores_each_alert_once(
        stack: ServedStack, record_property) -> None:  # type: ignore[no-untyped-def]
    ctx = AppContext.from_settings(load_settings(database_url=stack.database_url,
                                                 redis_url=stack.redis_url,
                                                 secret_key="x" * 40))

    def backdated_incidents() -> None:
        with session_scope(ctx.sessions) as session:
            for _ in range(BATCH):
                create_incident(session, incident_type="firing_shooting", priority="P1",
                                actor="ct", lat=LAHORE[0], lon=LAHORE[1],
                                now=datetime.now(UTC) - timedelta(hours=2))

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([*CLI, "scheduler"], env=stack.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    try:
        backdated_incidents()
        scheduler = start()
        wait_until(lambda: sum(stored(ctx).values()) >= BATCH * TIERS)
        scheduler.kill()
        scheduler.wait(timeout=10)
        backdated_incidents()  # these come due while no scheduler runs
        scheduler = start()
        try:
            wait_until(lambda: sum(stored(ctx).values()) >= 2 * BATCH * TIERS
                       and sum(announced(stack.redis_url).values()) >= 2 * BATCH * TIERS)
            time.sleep(2)  # a duplicate would show up now
        finally:
            scheduler.kill()
            scheduler.wait(timeout=10)
        in_db, on_stream = stored(ctx), announced(stack.redis_url)
    finally:
        ctx.close()
    lost = (2 * BATCH * TIERS) - len(in_db)
    print(f"scheduler kill: {len(in_db)} alerts stored, {lost} lost, "
          f"{sum(n - 1 for n in in_db.values())} doubled in the database, "
          f"{sum(n - 1 for n in on_stream.values())} doubled on the stream")
    record_property("scheduler_kill_alerts_lost", lost)
    assert len(in_db) == 2 * BATCH * TIERS and set(in_db.values()) == {1}
    assert set(on_stream) == set(in_db) and set(on_stream.values()) == {1}
