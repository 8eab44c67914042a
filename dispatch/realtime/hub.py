"""Live pushes to consoles, handsets and dashboards, fed from the Redis streams.

One reader per process follows every stream and fans events out to the connected clients,
each through a bounded queue. GPS fixes (`unit.position`) are the exception to one message per
event: a thousand handsets outrun any dashboard, and only a unit's newest fix matters, so the
hub sends each client one `unit.positions` message per POSITION_BATCH_S holding every unit's
newest fix since the last one (catch-up coalesces the same way). Status changes, incidents
and alerts are never coalesced. A client too slow to keep up is disconnected rather than fed
a silently thinned stream; every message carries its stream position, so a client that
reconnects sends the last position it saw and is replayed what it missed (XRANGE) before it
joins the live flow. Nothing is lost either way while the stream still holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import Counter, Gauge

from dispatch.events.streams import (
    ALERTS,
    CALLS,
    CONGESTION,
    INCIDENTS,
    TRANSCRIPTS,
    UNITS,
    Event,
    decode,
)

log = logging.getLogger(__name__)

CHANNEL_STREAMS: dict[str, tuple[str, ...]] = {
    "console": (CALLS, TRANSCRIPTS, INCIDENTS, UNITS),
    "handset": (INCIDENTS, ALERTS),
    "supervisor": (CALLS, INCIDENTS, UNITS, ALERTS, CONGESTION),
}
CHANNEL_ROLES: dict[str, frozenset[str]] = {
    "console": frozenset({"call_taker", "dispatcher", "supervisor", "admin"}),
    "handset": frozenset({"sho", "admin"}),
    "supervisor": frozenset({"supervisor", "admin"}),
}
QUEUE_SIZE = 1000
CATCH_UP_LIMIT = 5000
POSITION = "unit.position"
POSITION_BATCH = "unit.positions"
POSITION_BATCH_S = 0.5
READ_PACING_S = 0.01

CONNECTED = Gauge("h15_ws_clients", "Connected WebSocket clients", ["channel"])
DROPPED_SLOW = Counter("h15_ws_slow_disconnects_total",
                       "Clients disconnected for not keeping up", ["channel"])


def position(event: Event) -> str:
    return f"{event.stream}|{event.id}"


def message(event: Event) -> dict[str, Any]:
    return {"type": event.type, "data": event.data, "stream": event.stream, "id": event.id}


@dataclass(frozen=True)
class Push:
    """An event as sent: encoded once, however many clients receive it."""

    event: Event
    text: str

    @classmethod
    def of(cls, event: Event) -> Push:
        return cls(event, json.dumps(message(event), separators=(",", ":"), default=str))


def coalesce_positions(events: list[Event], station_id: int | None = None,
                       batch_id: str | None = None) -> list[Event]:
    """Replace the `unit.position` events by one batch of each unit's newest fix.

    The batch takes the place of the last fix it holds and, unless `batch_id` says otherwise,
    its stream id, so ids stay in order and a client resuming from it has seen every older
    event. Live batches pass the hub's read position: everything up to it has been sent.
    """
    newest: dict[Any, dict[str, Any]] = {}
    last_index = -1
    for index, event in enumerate(events):
        if event.type == POSITION and (station_id is None
                                       or event.data.get("station_id") == station_id):
            newest[event.data.get("unit_id")] = event.data
            last_index = index
    if last_index < 0:
        return [e for e in events if e.type != POSITION]
    anchor = events[last_index]
    data: dict[str, Any] = {"positions": list(newest.values())}
    if station_id is not None:
        data["station_id"] = station_id  # what the station filter checks
    batch = Event(anchor.stream, batch_id or anchor.id, POSITION_BATCH, data)
    return [batch if i == last_index else e for i, e in enumerate(events)
            if i == last_index or e.type != POSITION]


@dataclass(eq=False)
class Subscriber:
    channel: str
    accepts: Callable[[Event], bool]
    station_id: int | None = None
    queue: asyncio.Queue[Push | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE))
    overflowed: bool = False

    def offer(self, push: Push) -> None:
        if self.overflowed or not self.accepts(push.event):
            return
        try:
            self.queue.put_nowait(push)
        except asyncio.QueueFull:
            self.overflowed = True
            DROPPED_SLOW.labels(self.channel).inc()
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.get_nowait()
                self.queue.put_nowait(None)  # tells the sender to close and let it catch up


def station_filter(station_id: int | None) -> Callable[[Event], bool]:
    """An SHO handset gets only its own station's events; others get everything."""
    if station_id is None:
        return lambda event: True

    def accepts(event: Event) -> bool:
        return event.data.get("station_id") == station_id

    return accepts


class Hub:
    def __init__(self, client: aioredis.Redis, block_ms: int = 1000) -> None:
        self.client = client
        self.block_ms = block_ms
        self.subscribers: set[Subscriber] = set()
        self.positions: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._batcher: asyncio.Task[None] | None = None
        self._positions: dict[str, bytes] = {}  # unit id -> newest fix, raw JSON
        self._stopping = False

    async def start(self) -> None:
        streams = {s for streams in CHANNEL_STREAMS.values() for s in streams}
        for stream in streams:
            last = await self.client.xrevrange(stream, count=1)
            self.positions[stream] = _text(last[0][0]) if last else "0-0"
        self._task = asyncio.create_task(self._follow(), name="h15-ws-hub")
        self._batcher = asyncio.create_task(self._send_positions(), name="h15-ws-positions")

    async def stop(self) -> None:
        """Stop following; never hangs shutdown, even if the client swallows the cancel."""
        self._stopping = True
        if self._batcher:
            self._batcher.cancel()
        if self._task:
            self._task.cancel()
            if self._task.get_loop() is not asyncio.get_running_loop():
                return  # started by another loop (test harnesses): cancelling is all we can do
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, timeout=5)

    async def _follow(self) -> None:
        while not self._stopping:
            try:
                reply = await self.client.xread(dict(self.positions), block=self.block_ms,
                                                count=500)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis restarting: keep trying, clients keep their positions
                if self._stopping:
                    return
                log.exception("hub read failed; retrying")
                await asyncio.sleep(1)
                continue
            if reply:
                # Under load each read would return a handful of entries; a short pause lets
                # them gather (≤ 10 ms later to the consoles) and saves most read round trips.
                await asyncio.sleep(READ_PACING_S)
            for stream, messages in reply or []:
                name = _text(stream)
                for message_id, fields in messages:
                    self.positions[name] = _text(message_id)
                    unit = _raw_position_unit(fields)
                    if unit is not None:  # the bulk of the traffic: kept raw, not decoded
                        self._positions[unit] = fields[b"data"]
                    else:
                        self._fan_out(Push.of(decode(stream, message_id, fields)))

    def _fan_out(self, push: Push) -> None:
        for subscriber in list(self.subscribers):
            subscriber.offer(push)

    async def _send_positions(self) -> None:
        """Every POSITION_BATCH_S, each client gets one message with the units that moved."""
        while not self._stopping:
            await asyncio.sleep(POSITION_BATCH_S)
            pending, self._positions = self._positions, {}
            if not pending or not self.subscribers:
                continue
            batch_id = self.positions[UNITS]
            batches: dict[int | None, Push | None] = {}
            for subscriber in list(self.subscribers):
                key = subscriber.station_id
                if key not in batches:
                    batches[key] = _position_batch(pending, key, batch_id)
                push = batches[key]
                if push is not None:
                    subscriber.offer(push)

    def subscribe(self, channel: str, station_id: int | None) -> Subscriber:
        streams = CHANNEL_STREAMS[channel]
        station_ok = station_filter(station_id)
        subscriber = Subscriber(channel, lambda e: e.stream in streams and station_ok(e),
                                station_id)
        self.subscribers.add(subscriber)
        CONNECTED.labels(channel).inc()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers:
            self.subscribers.discard(subscriber)
            CONNECTED.labels(subscriber.channel).dec()

    async def missed(self, subscriber: Subscriber, since: dict[str, str]) -> list[Event]:
        """What this client missed after the positions it last saw, oldest first per stream."""
        events: list[Event] = []
        for stream, last_id in since.items():
            if stream not in CHANNEL_STREAMS[subscriber.channel]:
                continue
            upto = self.positions.get(stream, "+")
            rows = await self.client.xrange(stream, min=f"({last_id}", max=upto,
                                            count=CATCH_UP_LIMIT)
            replayed = [e for e in (decode(stream, mid, f) for mid, f in rows)
                        if subscriber.accepts(e)]
            events.extend(coalesce_positions(replayed, subscriber.station_id))
        return events


_POSITION_TYPE = POSITION.encode()
_UNIT_PREFIX = b'{"unit_id":'


def _raw_position_unit(fields: dict[Any, Any]) -> str | None:
    """The unit id of a `unit.position` entry read straight from its JSON, else None.

    `position_event` puts `unit_id` first and is encoded without spaces, so the id is the
    digits after the prefix; anything else is decoded the ordinary way.
    """
    if fields.get(b"type") != _POSITION_TYPE:
        return None
    data = fields.get(b"data", b"")
    if not data.startswith(_UNIT_PREFIX):
        return None
    end = data.find(b",", len(_UNIT_PREFIX))
    unit = data[len(_UNIT_PREFIX):end]
    return unit.decode() if end > 0 and unit.isdigit() else None


def _position_batch(pending: dict[str, bytes], station_id: int | None,
                    batch_id: str) -> Push | None:
    """One `unit.positions` message; for everyone, spliced from the raw fixes unparsed."""
    if station_id is not None:
        fixes = [e for e in (Event(UNITS, batch_id, POSITION, json.loads(raw))
                             for raw in pending.values())]
        coalesced = coalesce_positions(fixes, station_id, batch_id=batch_id)
        return Push.of(coalesced[0]) if coalesced else None
    batch = Event(UNITS, batch_id, POSITION_BATCH, {})
    text = (b'{"type":"unit.positions","data":{"positions":[' + b",".join(pending.values())
            + b']},"stream":"' + UNITS.encode() + b'","id":"' + batch_id.encode() + b'"}')
    return Push(batch, text.decode())


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
