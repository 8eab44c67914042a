"""Events between processes on Redis Streams with consumer groups.

Every flow that must not lose data goes through here: a message stays pending in its group
until the consumer acknowledges it, so a consumer that dies mid-message leaves it for another
to re-claim. Consumers must therefore be idempotent (each event carries an `event_id`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis

CALLS = "h15:calls"
TRANSCRIPTS = "h15:transcripts"
INCIDENTS = "h15:incidents"
UNITS = "h15:units"
ALERTS = "h15:alerts"
CONGESTION = "h15:congestion"
STREAMS = (CALLS, TRANSCRIPTS, INCIDENTS, UNITS, ALERTS, CONGESTION)
# Commands for the telephony gateway (bring an SHO into a call); only the gateway reads it.
TELEPHONY = "h15:telephony"

# Streams are trimmed approximately to this many entries; the database is the long-term record.
DEFAULT_MAXLEN = 200_000


@dataclass(frozen=True)
class Event:
    stream: str
    id: str
    type: str
    data: dict[str, Any]


def encode(event_type: str, data: dict[str, Any]) -> dict[str, str]:
    return {"type": event_type, "data": json.dumps(data, default=str, separators=(",", ":"))}


def decode(stream: bytes | str, message_id: bytes | str, fields: dict[Any, Any]) -> Event:
    def text(value: bytes | str) -> str:
        return value.decode() if isinstance(value, bytes) else value

    raw = {text(k): text(v) for k, v in fields.items()}
    return Event(
        stream=text(stream),
        id=text(message_id),
        type=raw.get("type", ""),
        data=json.loads(raw.get("data", "{}")),
    )


def _decode_read(reply: Any) -> list[Event]:
    events: list[Event] = []
    for stream, messages in reply or []:
        for message_id, fields in messages:
            if fields is not None:  # a deleted entry still listed as pending
                events.append(decode(stream, message_id, fields))
    return events


def _decode_autoclaim(stream: str, reply: Any) -> list[Event]:
    messages = reply[1] if reply else []
    return [decode(stream, mid, fields) for mid, fields in messages if fields is not None]


def _is_busy_group(exc: redis.ResponseError) -> bool:
    return "BUSYGROUP" in str(exc)


class EventStreams:
    """Blocking client, for service functions, CLI commands and RQ jobs."""

    def __init__(self, client: redis.Redis, maxlen: int = DEFAULT_MAXLEN) -> None:
        self.client = client
        self.maxlen = maxlen

    def publish(self, stream: str, event_type: str, data: dict[str, Any]) -> str:
        message_id = self.client.xadd(
            stream, encode(event_type, data), maxlen=self.maxlen, approximate=True
        )
        return message_id.decode() if isinstance(message_id, bytes) else str(message_id)

    def ensure_group(self, stream: str, group: str, start: str = "0") -> None:
        try:
            self.client.xgroup_create(stream, group, id=start, mkstream=True)
        except redis.ResponseError as exc:
            if not _is_busy_group(exc):
                raise

    def consume(self, stream: str, group: str, consumer: str, *, count: int = 100,
                block_ms: int | None = 1000, pending: bool = False) -> list[Event]:
        """New messages for this consumer; with pending=True, its own unacknowledged ones."""
        reply = self.client.xreadgroup(
            group, consumer, {stream: "0" if pending else ">"}, count=count,
            block=None if pending else block_ms,
        )
        return _decode_read(reply)

    def consume_many(self, streams: tuple[str, ...], group: str, consumer: str, *,
                     count: int = 100, block_ms: int | None = 1000) -> list[Event]:
        """New messages from several streams in one blocking read, so none waits on another."""
        reply = self.client.xreadgroup(group, consumer, dict.fromkeys(streams, ">"),
                                       count=count, block=block_ms)
        return _decode_read(reply)

    def ack(self, stream: str, group: str, *ids: str) -> int:
        return int(self.client.xack(stream, group, *ids)) if ids else 0

    def reclaim(self, stream: str, group: str, consumer: str, *, min_idle_ms: int,
                count: int = 100) -> list[Event]:
        """Take over messages another consumer read but never acknowledged."""
        reply = self.client.xautoclaim(stream, group, consumer, min_idle_ms, "0-0", count=count)
        return _decode_autoclaim(stream, reply)


class AsyncEventStreams:
    """The same operations for the asyncio processes (gateway, WebSocket hub)."""

    def __init__(self, client: aioredis.Redis, maxlen: int = DEFAULT_MAXLEN) -> None:
        self.client = client
        self.maxlen = maxlen

    async def publish(self, stream: str, event_type: str, data: dict[str, Any]) -> str:
        message_id = await self.client.xadd(
            stream, encode(event_type, data), maxlen=self.maxlen, approximate=True
        )
        return message_id.decode() if isinstance(message_id, bytes) else str(message_id)

    async def ensure_group(self, stream: str, group: str, start: str = "0") -> None:
        try:
            await self.client.xgroup_create(stream, group, id=start, mkstream=True)
        except redis.ResponseError as exc:
            if not _is_busy_group(exc):
                raise

    async def consume(self, stream: str, group: str, consumer: str, *, count: int = 100,
                      block_ms: int | None = 1000, pending: bool = False) -> list[Event]:
        reply = await self.client.xreadgroup(
            group, consumer, {stream: "0" if pending else ">"}, count=count,
            block=None if pending else block_ms,
        )
        return _decode_read(reply)

    async def ack(self, stream: str, group: str, *ids: str) -> int:
        return int(await self.client.xack(stream, group, *ids)) if ids else 0

    async def reclaim(self, stream: str, group: str, consumer: str, *, min_idle_ms: int,
                      count: int = 100) -> list[Event]:
        reply = await self.client.xautoclaim(stream, group, consumer, min_idle_ms, "0-0",
                                             count=count)
        return _decode_autoclaim(stream, reply)
