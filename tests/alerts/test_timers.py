"""Durable timers on a real Redis, driven by a controllable clock."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from alerts.policy import DEFAULT_POLICY_PATH, PRIORITIES, TIMED_MILESTONES, Tier, load_policy
from alerts.timers import FiredAlert, Scheduler, TimerStore

T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
RAW = tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.t = start.timestamp()

    def __call__(self) -> float:
        return self.t

    def set(self, moment: datetime) -> None:
        self.t = moment.timestamp()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def make_scheduler(store: TimerStore, clock: Clock, fired: list[FiredAlert]) -> Scheduler:
    async def fire(alert: FiredAlert) -> None:
        fired.append(alert)

    return Scheduler(store, fire, now=clock, lease_ttl_s=5, claim_timeout_s=30)


def expected_offsets(priority: str, milestone: str, serious: bool) -> dict[Tier, float]:
    """The tier definitions of INTERFACE.md applied to the numbers in the TOML file."""
    target = RAW["targets"][priority][milestone]
    critical = (
        target if milestone in RAW["tiers"]["critical_at_target_milestones"] else 1.5 * target
    )
    offsets = {Tier.ADVISORY: 0.75 * target, Tier.WARNING: target, Tier.CRITICAL: critical}
    if serious and priority == "P1":
        offsets[Tier.EMERGENCY] = target
    return offsets


@pytest.mark.parametrize("priority", PRIORITIES)
async def test_every_tier_fires_at_its_moment(redis: Redis, priority: str) -> None:
    """For each milestone: nothing a hair before a tier's due time, exactly that tier at it."""
    policy = load_policy()
    store = TimerStore(redis)
    clock = Clock(T0)
    fired: list[FiredAlert] = []
    scheduler = make_scheduler(store, clock, fired)
    for serious, incident_type in ((True, "firing_shooting"), (False, "burglary")):
        for milestone in TIMED_MILESTONES:
            incident = f"{priority}-{incident_type}-{milestone}"
            clock.set(T0)
            specs = policy.schedule_for(
                incident_id=incident,
                priority=priority,
                incident_type=incident_type,
                milestone=milestone,
                started_at=T0,
            )
            assert await store.schedule(specs) == len(specs)
            by_offset: dict[float, set[Tier]] = {}
            for tier, offset in expected_offsets(priority, milestone, serious).items():
                by_offset.setdefault(offset, set()).add(tier)
            for offset in sorted(by_offset):
                clock.set(T0 + timedelta(seconds=offset - 0.01))
                assert await scheduler.tick() == [], f"{incident}: fired early at {offset}"
                clock.set(T0 + timedelta(seconds=offset))
                now_fired = await scheduler.tick()
                assert {a.tier for a in now_fired} == by_offset[offset], incident
                for alert in now_fired:
                    assert alert.incident_id == incident and alert.milestone == milestone
                    assert alert.due_at == T0 + timedelta(seconds=offset)
                    assert not alert.late
            clock.set(T0 + timedelta(days=2))
            assert await scheduler.tick() == [], "a tier fired twice"
    assert await store.pending() == []
    tiers_per_milestone = 3 + (4 if priority == "P1" else 3)  # burglary + firing (emergency)
    assert scheduler.stats.fired == len(fired) == len(TIMED_MILESTONES) * tiers_per_milestone


async def test_reaching_the_milestone_cancels_what_is_pending(redis: Redis) -> None:
    policy = load_policy()
    store = TimerStore(redis)
    clock = Clock(T0)
    fired: list[FiredAlert] = []
    scheduler = make_scheduler(store, clock, fired)
    dispatch_specs = policy.schedule_for(
        incident_id=9,
        priority="P1",
        incident_type="firing_shooting",
        milestone="unit_dispatched",
        started_at=T0,
    )
    other = policy.schedule_for(
        incident_id=10,
        priority="P2",
        incident_type="burglary",
        milestone="unit_dispatched",
        started_at=T0,
    )
    await store.schedule(dispatch_specs + other)
    clock.set(T0 + timedelta(seconds=50))  # past advisory (45 s) of P1 unit_dispatched
    assert [a.key for a in await scheduler.tick()] == ["9:unit_dispatched:advisory"]
    assert await store.cancel_milestone(9, "unit_dispatched") == 3  # warning, critical, emergency
    clock.set(T0 + timedelta(hours=1))
    later = await scheduler.tick()
    assert {a.incident_id for a in later} == {"10"}, "incident 9 fired after its unit was sent"
    assert await store.cancel_milestone(9, "unit_dispatched") == 0


async def test_rearming_moves_the_due_time_but_never_refires(redis: Redis) -> None:
    policy = load_policy()
    store = TimerStore(redis)
    clock = Clock(T0)
    fired: list[FiredAlert] = []
    scheduler = make_scheduler(store, clock, fired)

    def specs(started: datetime, priority: str) -> list:
        return policy.schedule_for(
            incident_id=5,
            priority=priority,
            incident_type="burglary",
            milestone="unit_dispatched",
            started_at=started,
        )

    await store.schedule(specs(T0, "P3"))  # advisory at 225 s
    clock.set(T0 + timedelta(seconds=225))
    assert [a.tier for a in await scheduler.tick()] == [Tier.ADVISORY]
    # Re-triaged to P1: the timers move earlier; the advisory already fired is not re-armed.
    assert await store.schedule(specs(T0, "P1")) == 2
    assert [s.tier for s in await store.pending()] == [Tier.WARNING, Tier.CRITICAL]
    clock.set(T0 + timedelta(seconds=230))
    assert {a.tier for a in await scheduler.tick()} == {Tier.WARNING, Tier.CRITICAL}


async def test_rebuild_matches_the_source_of_truth(redis: Redis) -> None:
    policy = load_policy()
    store = TimerStore(redis)
    clock = Clock(T0)
    fired: list[FiredAlert] = []
    scheduler = make_scheduler(store, clock, fired)

    def specs(incident: int) -> list:
        return policy.schedule_for(
            incident_id=incident,
            priority="P2",
            incident_type="burglary",
            milestone="unit_acknowledged",
            started_at=T0,
        )

    await store.schedule(specs(1) + specs(2))
    clock.set(T0 + timedelta(seconds=45))  # advisory of both
    assert len(await scheduler.tick()) == 2
    # PostgreSQL says: incident 2 was acknowledged (no timers), incident 3 is new, and its list
    # still names incident 1's advisory (the row was written before the alert was recorded).
    kept = await store.rebuild(specs(1) + specs(3))  # default: never drop, only add
    assert (kept.removed, kept.armed, kept.skipped) == (0, 5, 1)
    result = await store.rebuild(specs(1) + specs(3), drop_stale=True)
    assert (result.removed, result.armed, result.skipped) == (2, 5, 1)
    clock.set(T0 + timedelta(hours=1))
    keys = sorted(a.key for a in await scheduler.tick())
    assert keys == sorted(
        [f"{i}:unit_acknowledged:{t}" for i in (1, 3) for t in ("warning", "critical")]
        + ["3:unit_acknowledged:advisory"]
    )


async def test_a_failing_fire_is_retried_later_and_marked_late(redis: Redis) -> None:
    policy = load_policy()
    store = TimerStore(redis)
    clock = Clock(T0)
    calls: list[FiredAlert] = []

    async def flaky_fire(alert: FiredAlert) -> None:
        calls.append(alert)
        if len(calls) == 1:
            raise ConnectionRefusedError("database down")

    scheduler = Scheduler(store, flaky_fire, now=clock, lease_ttl_s=5, claim_timeout_s=30)
    spec = policy.schedule_for(
        incident_id=3,
        priority="P1",
        incident_type="burglary",
        milestone="call_answered",
        started_at=T0,
    )[0]
    await store.schedule([spec])
    clock.set(spec.due_at)
    assert await scheduler.tick() == []
    assert scheduler.stats.fire_failures == 1
    clock.set(spec.due_at + timedelta(seconds=29))
    assert await scheduler.tick() == [], "retried before the claim timed out"
    clock.set(spec.due_at + timedelta(seconds=31))
    [retried] = await scheduler.tick()
    assert (retried.key, retried.attempt, retried.late) == (spec.key, 2, True)
    assert await store.was_fired(spec.key)
    clock.set(spec.due_at + timedelta(hours=1))
    assert await scheduler.tick() == []


async def test_only_the_lease_holder_claims(redis: Redis) -> None:
    policy = load_policy()
    clock = Clock(T0)
    first: list[FiredAlert] = []
    second: list[FiredAlert] = []
    a = make_scheduler(TimerStore(redis), clock, first)
    b = make_scheduler(TimerStore(redis), clock, second)
    specs = policy.schedule_for(
        incident_id=4, priority="P1", incident_type=None, milestone="call_answered", started_at=T0
    )
    await a.store.schedule(specs)
    clock.set(T0 + timedelta(minutes=5))
    assert len(await a.tick()) == 3
    assert await b.tick() == [] and not b.is_leader
    await a.store.release_lease(a.token)
    assert await b.store.acquire_lease(b.token, 5)
    assert not await a.store.acquire_lease(a.token, 5)
    assert await a.store.claim(now=clock(), limit=10, claim_timeout_s=30, lease_token=a.token) == []


async def test_fire_many_gets_whole_batches_and_retries_a_failed_one(redis: Redis) -> None:
    policy = load_policy()
    store = TimerStore(redis)
    clock = Clock(T0)
    batches: list[list[str]] = []

    async def fire_many(alerts: list[FiredAlert]) -> None:
        batches.append(sorted(a.key for a in alerts))
        if len(batches) == 1:
            raise TimeoutError("database busy")

    scheduler = Scheduler(store, fire_many=fire_many, now=clock, claim_timeout_s=30)
    for incident in range(3):
        await store.schedule(
            policy.schedule_for(
                incident_id=incident,
                priority="P2",
                incident_type="burglary",
                milestone="call_answered",
                started_at=T0,
            )
        )
    clock.set(T0 + timedelta(seconds=12))  # advisories (11.25 s) of all three
    assert await scheduler.tick() == []
    clock.set(T0 + timedelta(seconds=43))  # failed claim expired (42.25 s); all tiers due
    fired = await scheduler.tick()
    assert len(fired) == 9 and len(batches) == 2
    assert set(batches[0]) <= set(batches[1])
    retried = [a for a in fired if a.tier is Tier.ADVISORY]
    assert all(a.attempt == 2 and a.late for a in retried) and len(retried) == 3
    with pytest.raises(ValueError, match="exactly one"):
        Scheduler(store)


async def test_random_schedules_and_cancels_match_a_simple_model(redis: Redis) -> None:
    """200 incidents, milestones reached at random moments, the clock moved in random steps:
    exactly the tiers due before their milestone was reached fire, each once."""
    import random

    rng = random.Random(9)
    policy = load_policy()
    store = TimerStore(redis)
    clock = Clock(T0)
    fired: list[FiredAlert] = []
    scheduler = make_scheduler(store, clock, fired)
    specs, reached_at = [], {}
    for i in range(200):
        milestone = rng.choice(TIMED_MILESTONES)
        incident_specs = policy.schedule_for(
            incident_id=i,
            priority=rng.choice(PRIORITIES),
            incident_type=rng.choice(["firing_shooting", "fire", "burglary"]),
            milestone=milestone,
            started_at=T0,
        )
        specs += incident_specs
        latest = max(s.due_at for s in incident_specs)
        if rng.random() < 0.6:  # reached somewhere in its alert window (or never)
            reached_at[(str(i), milestone)] = T0 + (latest - T0) * rng.uniform(0.5, 1.1)
    await store.schedule(specs)
    steps = sorted({T0 + timedelta(seconds=rng.uniform(0, 25_000)) for _ in range(300)})
    steps.append(T0 + timedelta(days=1))
    last_tick = T0
    expected = set()
    for spec in specs:
        reached = reached_at.get((spec.incident_id, spec.milestone))
        # the model: a tier fires iff a tick before the milestone was reached saw it due
        ticks_before = [t for t in steps if reached is None or t < reached]
        if ticks_before and spec.due_at <= max(ticks_before):
            expected.add(spec.key)
    for step in steps:
        for (incident, milestone), moment in reached_at.items():
            if last_tick < moment <= step:  # reached since the last tick: cancel, then tick
                await store.cancel_milestone(incident, milestone)
        clock.set(step)
        await scheduler.tick()
        last_tick = step
    keys = [a.key for a in fired]
    assert len(keys) == len(set(keys)), "a tier fired twice"
    assert set(keys) == expected
    assert 0 < len(expected) < len(specs), "the model must see both fired and cancelled tiers"
    assert all(a.late == (a.lateness_s > 1.0) for a in fired)
