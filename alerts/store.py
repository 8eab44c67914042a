"""Durable alert timers in Redis (the scheduler in `alerts.timers` fires them).

Layout (prefix `h15:alerts` by default):
* `{p}:timers`   sorted set, member = idempotency key `incident:milestone:tier`, score = due epoch;
* `{p}:details`  hash key -> JSON (incident, milestone, tier, due, recipients);
* `{p}:inflight` sorted set of claimed timers, score = claim deadline: a scheduler killed while
  firing leaves them here and the next leader fires them again once the deadline passes, so an
  alert is never lost (the caller's unique constraint in PostgreSQL absorbs the rare repeat);
* `{p}:attempts` hash key -> how many times it was claimed (visible retries);
* `{p}:fired`    sorted set of fired keys, score = when fired, trimmed after `fired_ttl_s`: once
  fired, a key is never armed or fired again (one set, so marking a batch is one command);
* `{p}:leader`   the leader lease (SET NX PX + token-checked renewal); only the holder claims.
PostgreSQL stays the source of truth: on start the caller passes its pending timers to `rebuild`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from alerts.policy import TIERS, Recipient, Tier, TimerSpec, timer_key

# Arm timers unless already fired or being fired. KEYS: timers, details, inflight, fired.
# ARGV: unused, then (key, due, details) triples.
_SCHEDULE_LUA = """
local armed = 0
for i = 2, #ARGV, 3 do
  local k = ARGV[i]
  if not redis.call('ZSCORE', KEYS[4], k) and not redis.call('ZSCORE', KEYS[3], k) then
    redis.call('ZADD', KEYS[1], ARGV[i + 1], k)
    redis.call('HSET', KEYS[2], k, ARGV[i + 2])
    armed = armed + 1
  end
end
return armed
"""

# Claim due timers (expired in-flight claims first). KEYS: timers, details, inflight, attempts,
# leader, fired. ARGV: now, limit, claim deadline, unused, lease token ('' = no lease check).
_CLAIM_LUA = """
if ARGV[5] ~= '' and redis.call('GET', KEYS[5]) ~= ARGV[5] then return false end
local out = {}
local limit = tonumber(ARGV[2])
local function take(zkey)
  local room = limit - #out / 3
  if room <= 0 then return end
  local keys = redis.call('ZRANGEBYSCORE', zkey, '-inf', ARGV[1], 'LIMIT', 0, room)
  for _, k in ipairs(keys) do
    redis.call('ZREM', zkey, k)
    local d = redis.call('HGET', KEYS[2], k)
    if redis.call('ZSCORE', KEYS[6], k) or not d then
      redis.call('HDEL', KEYS[2], k)
      redis.call('HDEL', KEYS[4], k)
    else
      redis.call('ZADD', KEYS[3], ARGV[3], k)
      local n = redis.call('HINCRBY', KEYS[4], k, 1)
      table.insert(out, k)
      table.insert(out, d)
      table.insert(out, n)
    end
  end
end
take(KEYS[3])
take(KEYS[1])
return out
"""

# Take or renew the lease. KEYS: leader. ARGV: token, ttl ms.
_LEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""

_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("timer times must be timezone-aware (UTC)")
    return moment.timestamp()


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _encode(spec: TimerSpec) -> str:
    return json.dumps(
        {
            "incident_id": spec.incident_id,
            "milestone": spec.milestone,
            "tier": spec.tier.value,
            "due": epoch(spec.due_at),
            "recipients": [[r.role, r.scope, r.unit] for r in spec.recipients],
        },
        separators=(",", ":"),
    )


def _decode(key: str, raw: str | bytes) -> TimerSpec:
    data = json.loads(raw)
    return TimerSpec(
        key=key,
        incident_id=data["incident_id"],
        milestone=data["milestone"],
        tier=Tier(data["tier"]),
        due_at=utc(data["due"]),
        recipients=tuple(Recipient(*r) for r in data["recipients"]),
    )


@dataclass(frozen=True, slots=True)
class RebuildResult:
    armed: int
    removed: int
    skipped: int


class TimerStore:
    """The timers' Redis state; every change is one atomic script or transaction."""

    def __init__(
        self, redis: Redis, *, prefix: str = "h15:alerts", fired_ttl_s: int = 30 * 86400
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.fired_ttl_s = fired_ttl_s
        self.timers_key = f"{prefix}:timers"
        self.details_key = f"{prefix}:details"
        self.inflight_key = f"{prefix}:inflight"
        self.attempts_key = f"{prefix}:attempts"
        self.leader_key = f"{prefix}:leader"
        self.fired_key = f"{prefix}:fired"
        self._schedule = redis.register_script(_SCHEDULE_LUA)
        self._claim = redis.register_script(_CLAIM_LUA)
        self._lease = redis.register_script(_LEASE_LUA)
        self._release = redis.register_script(_RELEASE_LUA)

    async def schedule(self, specs: Iterable[TimerSpec], *, chunk: int = 1000) -> int:
        """Arm timers (re-arming moves the due time); fired or in-flight keys are left alone.

        Returns how many were armed.
        """
        armed = 0
        batch: list[Any] = []
        for spec in specs:
            batch += [spec.key, epoch(spec.due_at), _encode(spec)]
            if len(batch) >= 3 * chunk:
                armed += await self._arm(batch)
                batch = []
        if batch:
            armed += await self._arm(batch)
        return armed

    async def _arm(self, batch: list[Any]) -> int:
        keys = [self.timers_key, self.details_key, self.inflight_key, self.fired_key]
        return int(await self._schedule(keys=keys, args=["", *batch]))

    async def cancel_milestone(self, incident_id: str | int, milestone: str) -> int:
        """The milestone was reached: drop its pending (and retrying) timers. Returns how many."""
        keys = [timer_key(incident_id, milestone, tier) for tier in TIERS]
        return await self._drop(keys)

    async def cancel_incident(self, incident_id: str | int, milestones: Iterable[str]) -> int:
        """Drop every pending timer of an incident (closed, or cancelled as a prank)."""
        keys = [timer_key(incident_id, m, tier) for m in milestones for tier in TIERS]
        return await self._drop(keys)

    async def _drop(self, keys: list[str]) -> int:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.timers_key, *keys)
            pipe.zrem(self.inflight_key, *keys)
            pipe.hdel(self.details_key, *keys)
            pipe.hdel(self.attempts_key, *keys)
            pending, inflight, _, _ = await pipe.execute()
        return int(pending) + int(inflight)

    async def rebuild(
        self, specs: Iterable[TimerSpec], *, drop_stale: bool = False
    ) -> RebuildResult:
        """Arm `specs` (the pending timers loaded from the source of truth) on start.

        Timers already fired or being fired are never re-armed. With `drop_stale`, armed timers
        absent from `specs` are dropped too; leave it off while an API process may be arming
        timers concurrently (a stale timer is a false alarm the caller can discard on fire, a
        dropped one would be a lost alarm).
        """
        wanted = list(specs)
        stale: list[str] = []
        if drop_stale:
            wanted_keys = {s.key for s in wanted}
            current = await self.redis.zrange(self.timers_key, 0, -1)
            stale = sorted({_text(k) for k in current} - wanted_keys)
        if stale:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zrem(self.timers_key, *stale)
                pipe.hdel(self.details_key, *stale)
                await pipe.execute()
        armed = await self.schedule(wanted)
        return RebuildResult(armed=armed, removed=len(stale), skipped=len(wanted) - armed)

    async def pending(self) -> list[TimerSpec]:
        """Armed timers in due order (what a dashboard or a test wants to see)."""
        keys = [_text(k) for k in await self.redis.zrange(self.timers_key, 0, -1)]
        if not keys:
            return []
        raws = await self.redis.hmget(self.details_key, keys)
        return [_decode(k, raw) for k, raw in zip(keys, raws, strict=True) if raw is not None]

    async def next_due(self) -> float | None:
        """Earliest due epoch among armed timers and in-flight retry deadlines."""
        candidates = []
        for key in (self.timers_key, self.inflight_key):
            first = await self.redis.zrange(key, 0, 0, withscores=True)
            if first:
                candidates.append(float(first[0][1]))
        return min(candidates) if candidates else None

    async def was_fired(self, key: str) -> bool:
        return await self.redis.zscore(self.fired_key, key) is not None

    async def claim(
        self, *, now: float, limit: int, claim_timeout_s: float, lease_token: str = ""
    ) -> list[tuple[TimerSpec, int]]:
        """Atomically move due timers to in-flight; returns (timer, attempt) pairs.

        With `lease_token`, claims nothing unless that token still holds the lease (fencing).
        """
        keys = [
            self.timers_key,
            self.details_key,
            self.inflight_key,
            self.attempts_key,
            self.leader_key,
            self.fired_key,
        ]
        args = [repr(now), limit, repr(now + claim_timeout_s), "", lease_token]
        raw = await self._claim(keys=keys, args=args)
        if not raw:
            return []
        claimed = []
        for i in range(0, len(raw), 3):
            claimed.append((_decode(_text(raw[i]), raw[i + 1]), int(raw[i + 2])))
        return claimed

    async def mark_fired(self, keys: list[str], *, now: float) -> None:
        """Delivered: remember the keys (idempotency) and forget their in-flight state."""
        if not keys:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.fired_key, dict.fromkeys(keys, now))
            pipe.zremrangebyscore(self.fired_key, "-inf", now - self.fired_ttl_s)
            pipe.zrem(self.inflight_key, *keys)
            pipe.hdel(self.details_key, *keys)
            pipe.hdel(self.attempts_key, *keys)
            await pipe.execute()

    async def acquire_lease(self, token: str, ttl_s: float) -> bool:
        ttl_ms = max(1, int(ttl_s * 1000))
        return bool(await self._lease(keys=[self.leader_key], args=[token, ttl_ms]))

    async def release_lease(self, token: str) -> None:
        await self._release(keys=[self.leader_key], args=[token])
