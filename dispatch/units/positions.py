"""GPS pings at fleet rate: Redis takes each fix at once, PostgreSQL gets the newest per second.

A thousand handsets pinging every few seconds would cost a PostgreSQL transaction (and an
outbox row) per ping if each went through the ORM; instead one Lua call on Redis checks that the
fix is newer than the unit's last, remembers it and appends `unit.position` to `h15:units`
atomically, and a flusher writes each unit's newest fix to PostgreSQL every second in one
batch. What readers of the database see is at most about a second old.

Nothing accepted is lost to a restart: the fix waits in a Redis hash until a flusher has
committed it; a flusher that dies mid-batch leaves the batch for the next one. When Redis has
forgotten a unit (it restarted with nothing on disk) the script asks for the database's fix
time, so a replayed old fix still cannot overwrite a newer one. When Redis is unreachable,
pings take the slower transactional path (`service.record_position`) instead of failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import uuid
from datetime import datetime
from typing import Any

import redis
import redis.asyncio as aioredis
from prometheus_client import Counter
from sqlalchemy import bindparam, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from dispatch.clock import ClockBounds, check_reported_time, server_now
from dispatch.context import AppContext
from dispatch.database.core import session_scope
from dispatch.errors import Busy, Forbidden
from dispatch.events.outbox import publish_pending
from dispatch.events.streams import DEFAULT_MAXLEN, UNITS
from dispatch.units.models import Unit

log = logging.getLogger(__name__)

LAST = "h15:positions:last"  # unit id -> time (ms) of the newest accepted fix
DIRTY = "h15:positions:dirty"  # unit id -> the newest fix not yet in PostgreSQL (JSON)
FLUSHING = "h15:positions:flushing"  # the batch a flusher is writing
FLUSH_LOCK = "h15:positions:flush-lock"
FLUSH_INTERVAL_S = 1.0
UNKNOWN = "?"
# Pings waiting for Redis beyond this are refused 503 (overload), not queued without bound.
MAX_WAITING = 2_000

ACCEPTED = Counter("h15_position_pings_total", "GPS pings by outcome", ["outcome"])
FLUSHED = Counter("h15_positions_flushed_total", "Unit fixes written to the database")

# KEYS: LAST, DIRTY, stream. ARGV: unit id, fix time ms, event JSON, maxlen, floor ms.
# Returns 1 accepted, 0 older than the last fix, -1 Redis does not know the unit's last fix.
_ACCEPT = """
local last = redis.call('HGET', KEYS[1], ARGV[1])
if not last then
  if ARGV[5] == '?' then return -1 end
  last = ARGV[5]
end
if last ~= '' and tonumber(ARGV[2]) <= tonumber(last) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'type', 'unit.position', 'data', ARGV[3])
return 1
"""

# KEYS: DIRTY, FLUSHING. A batch left by a flusher that died is taken again before new fixes.
_TAKE = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
  redis.call('RENAME', KEYS[1], KEYS[2])
end
return redis.call('HGETALL', KEYS[2])
"""

# KEYS: FLUSH_LOCK. ARGV: token, ttl ms. Only the holder deletes the batch it wrote.
_RELEASE_BATCH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""


def position_event(*, unit_id: int, station_id: int, lat: float, lon: float,
                   accuracy_m: float | None, ts: datetime) -> dict[str, Any]:
    """What consoles receive as `unit.position` (also the fix kept for the flusher)."""
    return {"unit_id": unit_id, "station_id": station_id, "lat": lat, "lon": lon,
            "accuracy_m": accuracy_m, "ts": ts.isoformat()}


class LivePositions:
    """The API side: pings share round trips to Redis.

    Pings that arrive while a round trip is in flight wait and go together in the next one
    (one pipeline of EVALSHA calls): at a few pings at a time this is one call per ping, and
    under load the per-call cost of the client is paid once per batch instead of per ping.
    """

    def __init__(self, client: aioredis.Redis, maxlen: int = DEFAULT_MAXLEN,
                 max_waiting: int = MAX_WAITING) -> None:
        self.client = client
        self.maxlen = maxlen
        self.max_waiting = max_waiting
        self._accept = client.register_script(_ACCEPT)
        self._seeding = asyncio.Lock()
        self._waiting: list[tuple[list[Any], asyncio.Future[int]]] = []
        self._sending = False

    async def offer(self, event: dict[str, Any], ts: datetime,
                    floor: datetime | None | str = UNKNOWN) -> int:
        """1 accepted, 0 older than the unit's last fix, -1 the caller must supply `floor`."""
        if isinstance(floor, datetime):
            floor_arg = str(_ms(floor))
        else:
            floor_arg = UNKNOWN if floor == UNKNOWN else ""
        if len(self._waiting) >= self.max_waiting:
            ACCEPTED.labels("busy").inc()
            raise Busy("too many pings at once; not stored, send it again")
        payload = json.dumps(event, separators=(",", ":"))
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append(([event["unit_id"], _ms(ts), payload, self.maxlen, floor_arg],
                              done))
        if not self._sending:
            self._sending = True
            asyncio.ensure_future(self._send())
        result = await done
        if result >= 0:
            ACCEPTED.labels("accepted" if result else "older").inc()
        return result

    async def _send(self) -> None:
        """Send what waits, one pipeline at a time, until nothing waits."""
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    if len(batch) == 1:
                        results = [await self._accept(keys=[LAST, DIRTY, UNITS],
                                                      args=batch[0][0])]
                    else:
                        async with self.client.pipeline(transaction=False) as pipe:
                            for args, _ in batch:
                                await self._accept(keys=[LAST, DIRTY, UNITS], args=args,
                                                   client=pipe)
                            results = await pipe.execute()
                except Exception as exc:  # each waiting ping decides: fallback or 503
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for (_, done), result in zip(batch, results, strict=True):
                    if not done.done():
                        done.set_result(int(result))
        finally:
            self._sending = False

    async def seed(self, ctx: AppContext) -> None:
        """Teach Redis every unit's last fix time and this process every unit's station.

        One query for the whole fleet instead of one per unit: after a restart every handset
        pings within seconds. HSETNX never moves a unit back in time.
        """
        async with self._seeding:
            if await self.client.hlen(LAST) and ctx.extras.get("unit_stations"):
                return  # another ping seeded while this one waited
            fleet = await run_in_threadpool(_fleet, ctx)
            ctx.extras.setdefault("unit_stations", {}).update(
                {unit_id: station_id for unit_id, station_id, _ in fleet})
            async with self.client.pipeline(transaction=False) as pipe:
                for unit_id, _, last_at in fleet:
                    pipe.hsetnx(LAST, str(unit_id), str(_ms(last_at)) if last_at else "")
                await pipe.execute()


class PositionFlusher:
    """Writes the newest fix of every unit that moved to PostgreSQL, once per interval.

    Any number of API processes run one; a lease in Redis lets one write at a time, so a batch
    is never written twice concurrently. The UPDATE only moves a unit forward in time, so a
    batch written again after a crash changes nothing.
    """

    def __init__(self, *, sessions: sessionmaker[Session], client: redis.Redis,
                 interval_s: float = FLUSH_INTERVAL_S) -> None:
        self.sessions = sessions
        self.client = client
        self.interval_s = interval_s
        self.token = uuid.uuid4().hex
        self._take = client.register_script(_TAKE)
        self._release = client.register_script(_RELEASE_BATCH)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def flush_once(self) -> int:
        """Write one batch if this process holds the lease; returns how many units moved."""
        lease_ms = max(5_000, int(self.interval_s * 10_000))
        if not self.client.set(FLUSH_LOCK, self.token, nx=True, px=lease_ms):
            if _text(self.client.get(FLUSH_LOCK)) != self.token:
                return 0
            self.client.pexpire(FLUSH_LOCK, lease_ms)
        batch = self._take(keys=[DIRTY, FLUSHING])
        if not batch:
            return 0
        fixes = [json.loads(batch[i + 1]) for i in range(0, len(batch), 2)]
        with session_scope(self.sessions) as session:
            write_fixes(session, fixes)
        self._release(keys=[FLUSH_LOCK, FLUSHING], args=[self.token])
        FLUSHED.inc(len(fixes))
        return len(fixes)

    def run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.flush_once()
            except Exception:  # Redis or PostgreSQL restarting: the batch waits in Redis
                log.exception("position flush failed; the fixes wait in Redis and are retried")

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="h15-position-flusher",
                                        daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop, writing what is waiting first, so a clean shutdown leaves nothing behind."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        try:
            self.flush_once()
        except Exception:
            log.warning("final position flush failed; the fixes wait in Redis")


async def accept_ping(ctx: AppContext, live: LivePositions, *, unit_id: int,
                      station_scope: int | None, lat: float, lon: float,
                      accuracy_m: float | None, ts: datetime) -> tuple[bool, str | None]:
    """Record a handset's fix: (accepted, reason), as `service.record_position` answers."""
    from dispatch.units.service import OLDER_FIX

    bounds = ClockBounds.from_settings(ctx.settings)
    check_reported_time(ts, field="ts", received=server_now(), bounds=bounds)
    if not ctx.extras.get("unit_stations"):
        await _seed_or_skip(ctx, live)
    station_id = await _unit_station(ctx, unit_id=unit_id, station_scope=station_scope)
    event = position_event(unit_id=unit_id, station_id=station_id, lat=lat, lon=lon,
                           accuracy_m=accuracy_m, ts=ts)
    try:
        result = await live.offer(event, ts)
        if result < 0:  # a new process or Redis restarted empty: the database knows
            await live.seed(ctx)
            result = await live.offer(event, ts, floor=None)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        if _pool_exhausted(exc):
            # Overload, not an outage: the database path would only deepen it. The handset
            # keeps the fix in its queue and sends it again.
            ACCEPTED.labels("busy").inc()
            raise Busy("too many pings at once; not stored, send it again") from None
        log.warning("Redis unreachable for a GPS ping (%s); storing it in the database",
                    type(exc).__name__)
        ACCEPTED.labels("database").inc()
        return await run_in_threadpool(_record_in_database, ctx, unit_id=unit_id,
                                       station_scope=station_scope, lat=lat, lon=lon,
                                       accuracy_m=accuracy_m, ts=ts, bounds=bounds)
    return (True, None) if result == 1 else (False, OLDER_FIX)


def _pool_exhausted(exc: Exception) -> bool:
    return isinstance(exc, redis.exceptions.MaxConnectionsError) or (
        isinstance(exc, redis.ConnectionError) and "No connection available" in str(exc))


async def _seed_or_skip(ctx: AppContext, live: LivePositions) -> None:
    """Seed on a process's first ping; with Redis down the station is looked up singly."""
    with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
        await live.seed(ctx)


async def _unit_station(ctx: AppContext, *, unit_id: int, station_scope: int | None) -> int:
    """The unit's station, cached per process: a unit never changes station."""

    stations: dict[int, int] = ctx.extras.setdefault("unit_stations", {})
    station_id = stations.get(unit_id)  # seeded for the whole fleet by LivePositions.seed
    if station_id is None:
        station_id = await run_in_threadpool(_station_from_database, ctx, unit_id)
        stations[unit_id] = station_id
    if station_scope is not None and station_id != station_scope:
        raise Forbidden(f"unit {unit_id} belongs to another station")
    return station_id


def _station_from_database(ctx: AppContext, unit_id: int) -> int:
    from dispatch.units.service import get_unit

    with ctx.sessions() as session:
        return get_unit(session, unit_id=unit_id).station_id


def _fleet(ctx: AppContext) -> list[tuple[int, int, datetime | None]]:
    with ctx.sessions() as session:
        rows = session.execute(select(Unit.id, Unit.station_id, Unit.last_position_at))
        return [(row[0], row[1], row[2]) for row in rows]


def _record_in_database(ctx: AppContext, *, unit_id: int, station_scope: int | None,
                        **fix: Any) -> tuple[bool, str | None]:
    from dispatch.units.service import get_unit, record_position

    with session_scope(ctx.sessions) as session:
        unit = get_unit(session, unit_id=unit_id, station_scope=station_scope)
        result = record_position(session, unit=unit, **fix)
    publish_pending(session, ctx.events)
    return result


# PostgreSQL: the whole batch as arrays in one statement, instead of a parameter set per unit.
_WRITE_FIXES_PG = text("""
UPDATE units AS u
SET last_lat = f.lat, last_lon = f.lon, last_accuracy_m = f.accuracy, last_position_at = f.ts
FROM unnest(CAST(:ids AS bigint[]), CAST(:lats AS float8[]), CAST(:lons AS float8[]),
            CAST(:accuracies AS float8[]), CAST(:times AS timestamptz[]))
     AS f(id, lat, lon, accuracy, ts)
WHERE u.id = f.id AND (u.last_position_at IS NULL OR u.last_position_at < f.ts)
""")


def write_fixes(session: Session, fixes: list[dict[str, Any]]) -> None:
    """One UPDATE for the batch; a fix older than what the database holds changes nothing."""
    ids = [int(f["unit_id"]) for f in fixes]
    lats = [float(f["lat"]) for f in fixes]
    lons = [float(f["lon"]) for f in fixes]
    accuracies = [None if f.get("accuracy_m") is None else float(f["accuracy_m"])
                  for f in fixes]
    times = [datetime.fromisoformat(f["ts"]) for f in fixes]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_WRITE_FIXES_PG, {"ids": ids, "lats": lats, "lons": lons,
                                             "accuracies": accuracies, "times": times})
        return
    table = Unit.__table__  # SQLite (the demo): one parameter set per unit
    fix_time = table.c.last_position_at
    statement = (
        update(table)
        .where(table.c.id == bindparam("unit_id"))
        .where(or_(fix_time.is_(None), fix_time < bindparam("fix_ts", type_=fix_time.type)))
        .values(last_lat=bindparam("fix_lat"), last_lon=bindparam("fix_lon"),
                last_accuracy_m=bindparam("fix_accuracy"), last_position_at=bindparam("fix_ts"))
    )
    connection.execute(statement, [
        {"unit_id": i, "fix_lat": la, "fix_lon": lo, "fix_accuracy": a, "fix_ts": t}
        for i, la, lo, a, t in zip(ids, lats, lons, accuracies, times, strict=True)])


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
