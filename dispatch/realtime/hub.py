"""Live pushes to consoles, handsets and dashboards, fed from the Redis streams.

One reader per process follows every stream and fans events out to the connected clients,
each through a bounded queue. A client too slow to keep up is disconnected rather than fed
a silently thinned stream; every message carries its stream position, so a client that
reconnects sends the last position it saw and is replayed what it missed (XRANGE) before it
joins the live flow. Nothing is lost either way while the stream still holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
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

CONNECTED = Gauge("h15_ws_clients", "Connected WebSocket clients", ["channel"])
DROPPED_SLOW = Counter("h15_ws_slow_disconnects_total",
                       "Clients disconnected for not keeping up", ["channel"])


def position(event: Event) -> str:
    return f"{event.stream}|{event.id}"


def message(event: Event) -> dict[str, Any]:
    return {"type": event.type, "data": event.data, "stream": event.stream, "id": event.id}


@dataclass(eq=False)
class Subscriber:
    channel: str
    accepts: Callable[[Event], bool]
    queue: asyncio.Queue[Event | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE))
    overflowed: bool = False

    def offer(self, event: Event) -> None:
        if self.overflowed or not self.accepts(event):
            return
        try:
            self.queue.put_nowait(event)
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
        self._stopping = False

    async def start(self) -> None:
        streams = {s for streams in CHANNEL_STREAMS.values() for s in streams}
        for stream in streams:
            last = await self.client.xrevrange(stream, count=1)
            self.positions[stream] = _text(last[0][0]) if last else "0-0"
        self._task = asyncio.create_task(self._follow(), name="h15-ws-hub")

    async def stop(self) -> None:
        """Stop following; never hangs shutdown, even if the client swallows the cancel."""
        self._stopping = True
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
            for stream, messages in reply or []:
                for message_id, fields in messages:
                    event = decode(stream, message_id, fields)
                    self.positions[event.stream] = event.id
                    for subscriber in list(self.subscribers):
                        subscriber.offer(event)

    def subscribe(self, channel: str, station_id: int | None) -> Subscriber:
        streams = CHANNEL_STREAMS[channel]
        station_ok = station_filter(station_id)
        subscriber = Subscriber(channel, lambda e: e.stream in streams and station_ok(e))
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
            events.extend(e for e in (decode(stream, mid, f) for mid, f in rows)
                          if subscriber.accepts(e))
        return events


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
