"""The alert scheduler: fires due timers from `alerts.store` through an injected callback.

Only the holder of the leader lease claims timers, and claims are atomic, so two schedulers
raise each alert once. See `alerts.store` for the Redis layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError

from alerts.policy import Recipient, Tier, TimerSpec
from alerts.store import RebuildResult, TimerStore, epoch, utc

__all__ = ["FiredAlert", "RebuildResult", "Scheduler", "SchedulerStats", "TimerStore"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FiredAlert:
    """An alert tier that came due; `late` means it fired more than ~1 s after `due_at`."""

    key: str
    incident_id: str
    milestone: str
    tier: Tier
    due_at: datetime
    fired_at: datetime
    late: bool
    recipients: tuple[Recipient, ...]
    attempt: int = 1

    @property
    def lateness_s(self) -> float:
        return (self.fired_at - self.due_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data for streams, WebSockets and the database."""
        return {
            "key": self.key,
            "incident_id": self.incident_id,
            "milestone": self.milestone,
            "tier": self.tier.value,
            "due_at": self.due_at.isoformat(),
            "fired_at": self.fired_at.isoformat(),
            "late": self.late,
            "lateness_s": round(self.lateness_s, 3),
            "attempt": self.attempt,
            "recipients": [
                {"role": r.role, "scope": r.scope, "unit": r.unit} for r in self.recipients
            ],
        }


FireCallback = Callable[[FiredAlert], Awaitable[None]]
BatchFireCallback = Callable[[list[FiredAlert]], Awaitable[None]]


@dataclass
class SchedulerStats:
    """Counters a health page or metrics endpoint can show."""

    fired: int = 0
    late: int = 0
    fire_failures: int = 0
    ticks: int = 0
    leader_ticks: int = 0


class Scheduler:
    """Fires due timers, only while holding the leader lease.

    Give `fire` (one alert per call) or `fire_many` (a whole claimed batch per call, so the caller
    can write it in one INSERT and one pipeline). Either must be idempotent on `alert.key` (a
    unique constraint in PostgreSQL): after a crash between firing and marking fired, the alert
    is fired again rather than lost. If it raises, the timers stay in flight and are retried
    after `claim_timeout_s`, marked late.
    """

    def __init__(
        self,
        store: TimerStore,
        fire: FireCallback | None = None,
        *,
        fire_many: BatchFireCallback | None = None,
        now: Callable[[], float] = time.time,
        lease_ttl_s: float = 5.0,
        claim_timeout_s: float = 30.0,
        poll_interval_s: float = 0.1,
        late_after_s: float = 1.0,
        batch_size: int = 500,
        max_concurrency: int = 64,
    ) -> None:
        if (fire is None) == (fire_many is None):
            raise ValueError("give exactly one of fire and fire_many")
        if claim_timeout_s <= lease_ttl_s:
            raise ValueError("claim_timeout_s must exceed lease_ttl_s so a new leader waits out")
        self.store = store
        self.fire = fire
        self.fire_many = fire_many
        self.now = now
        self.lease_ttl_s = lease_ttl_s
        self.claim_timeout_s = claim_timeout_s
        self.poll_interval_s = poll_interval_s
        self.late_after_s = late_after_s
        self.batch_size = batch_size
        self.token = uuid.uuid4().hex
        self.stats = SchedulerStats()
        self.is_leader = False
        self._lease_checked = float("-inf")
        self._limit = asyncio.Semaphore(max_concurrency)

    async def _ensure_lease(self) -> bool:
        """Take or renew the lease, at most every third of its TTL (real time, not `now`)."""
        moment = time.monotonic()
        if not self.is_leader or moment - self._lease_checked >= self.lease_ttl_s / 3:
            self.is_leader = await self.store.acquire_lease(self.token, self.lease_ttl_s)
            self._lease_checked = moment
        return self.is_leader

    async def tick(self) -> list[FiredAlert]:
        """One round: renew the lease, claim what is due, fire it, mark it fired."""
        self.stats.ticks += 1
        if not await self._ensure_lease():
            return []
        self.stats.leader_ticks += 1
        fired: list[FiredAlert] = []
        while True:
            claimed = await self.store.claim(
                now=self.now(),
                limit=self.batch_size,
                claim_timeout_s=self.claim_timeout_s,
                lease_token=self.token,
            )
            if not claimed:
                return fired
            fired_at = self.now()
            alerts = [self._alert(spec, attempt, fired_at) for spec, attempt in claimed]
            done = await (self._fire_batch(alerts) if self.fire_many else self._fire_each(alerts))
            await self.store.mark_fired([alert.key for alert in done], now=self.now())
            self._count(done)
            fired += done
            if len(claimed) < self.batch_size:
                return fired

    def _alert(self, spec: TimerSpec, attempt: int, fired_at: float) -> FiredAlert:
        return FiredAlert(
            key=spec.key,
            incident_id=spec.incident_id,
            milestone=spec.milestone,
            tier=spec.tier,
            due_at=spec.due_at,
            fired_at=utc(fired_at),
            late=fired_at - epoch(spec.due_at) > self.late_after_s,
            recipients=spec.recipients,
            attempt=attempt,
        )

    async def _fire_batch(self, alerts: list[FiredAlert]) -> list[FiredAlert]:
        assert self.fire_many is not None
        try:
            await self.fire_many(alerts)
        except Exception:  # the alerts must survive any callback failure: retried later
            self.stats.fire_failures += len(alerts)
            log.exception("%d alert(s) failed to fire; will retry", len(alerts))
            return []
        return alerts

    async def _fire_each(self, alerts: list[FiredAlert]) -> list[FiredAlert]:
        assert self.fire is not None
        fire = self.fire

        async def one(alert: FiredAlert) -> bool:
            try:
                async with self._limit:
                    await fire(alert)
            except Exception:  # the alert must survive any callback failure: retried later
                self.stats.fire_failures += 1
                log.exception("alert %s failed (attempt %d); will retry", alert.key, alert.attempt)
                return False
            return True

        results = await asyncio.gather(*(one(alert) for alert in alerts))
        return [alert for alert, ok in zip(alerts, results, strict=True) if ok]

    def _count(self, done: list[FiredAlert]) -> None:
        late = [alert for alert in done if alert.late]
        self.stats.fired += len(done)
        self.stats.late += len(late)
        if late:  # one line per batch: a backlog after an outage must not flood the log
            worst = max(late, key=lambda a: a.lateness_s)
            log.warning(
                "%d alert(s) fired late, worst %s by %.1f s", len(late), worst.key,
                worst.lateness_s,
            )  # fmt: skip

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Loop until `stop` is set; sleeps until the next due timer or the poll interval."""
        stop = stop or asyncio.Event()
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                    wait = self.poll_interval_s
                    if self.is_leader:
                        next_due = await self.store.next_due()
                        if next_due is not None:
                            wait = min(wait, max(0.0, next_due - self.now()))
                except (OSError, RedisError) as exc:  # Redis away: keep trying, say so
                    self.is_leader = False
                    log.error("scheduler tick failed: %s", exc)
                    wait = self.poll_interval_s * 10
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(wait, 0.001))
        finally:
            if self.is_leader:
                self.is_leader = False
                try:
                    await self.store.release_lease(self.token)
                except (OSError, RedisError):  # the lease then simply expires
                    log.warning("could not release the scheduler lease; it will expire")
