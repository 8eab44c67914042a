"""The stream helper: once per consumer group, and nothing lost when a consumer dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import redis

from dispatch.events.streams import AsyncEventStreams, EventStreams

STREAM = "h15:incidents"


@pytest.fixture
def streams(redis_url: str) -> EventStreams:
    return EventStreams(redis.Redis.from_url(redis_url))


def drain(streams: EventStreams, group: str, consumer: str) -> list[int]:
    seen: list[int] = []
    while batch := streams.consume(STREAM, group, consumer, count=7, block_ms=50):
        seen.extend(event.data["n"] for event in batch)
        streams.ack(STREAM, group, *(event.id for event in batch))
    return seen


def test_each_group_gets_every_event_once(streams: EventStreams) -> None:
    for group in ("persist", "websocket"):
        streams.ensure_group(STREAM, group)
    for n in range(50):
        streams.publish(STREAM, "incident.created", {"n": n})
    assert drain(streams, "persist", "p1") == list(range(50))
    assert drain(streams, "websocket", "w1") == list(range(50))
    assert drain(streams, "persist", "p1") == []  # acknowledged: never again


def test_consumers_in_one_group_share_without_duplicates(streams: EventStreams) -> None:
    streams.ensure_group(STREAM, "persist")
    for n in range(40):
        streams.publish(STREAM, "incident.created", {"n": n})
    first = streams.consume(STREAM, "persist", "a", count=15, block_ms=50)
    second = streams.consume(STREAM, "persist", "b", count=100, block_ms=50)
    ids_a = {e.data["n"] for e in first}
    ids_b = {e.data["n"] for e in second}
    assert ids_a.isdisjoint(ids_b)
    assert ids_a | ids_b == set(range(40))


def test_ensure_group_twice_is_harmless(streams: EventStreams) -> None:
    streams.ensure_group(STREAM, "persist")
    streams.ensure_group(STREAM, "persist")
    streams.publish(STREAM, "x", {"n": 1})
    assert drain(streams, "persist", "c") == [1]


def test_killed_consumer_leaves_its_messages_for_another(streams: EventStreams,
                                                         redis_url: str) -> None:
    streams.ensure_group(STREAM, "persist")
    for n in range(20):
        streams.publish(STREAM, "incident.created", {"n": n})
    # A real process reads ten messages, then hangs before acknowledging; we SIGKILL it.
    script = textwrap.dedent(f"""
        import sys, time, redis
        from dispatch.events.streams import EventStreams
        s = EventStreams(redis.Redis.from_url({redis_url!r}))
        got = s.consume({STREAM!r}, "persist", "doomed", count=10, block_ms=1000)
        print(len(got), flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=os.getcwd())
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "10"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    # The survivor reads the other ten, then re-claims what the dead one never acknowledged.
    survivor = drain(streams, "persist", "survivor")
    assert survivor == list(range(10, 20))
    time.sleep(0.06)
    reclaimed = streams.reclaim(STREAM, "persist", "survivor", min_idle_ms=50)
    assert sorted(e.data["n"] for e in reclaimed) == list(range(10))
    streams.ack(STREAM, "persist", *(e.id for e in reclaimed))
    assert streams.reclaim(STREAM, "persist", "survivor", min_idle_ms=0) == []


def test_pending_read_returns_own_unacknowledged(streams: EventStreams) -> None:
    streams.ensure_group(STREAM, "persist")
    streams.publish(STREAM, "x", {"n": 7})
    assert [e.data["n"] for e in streams.consume(STREAM, "persist", "c", block_ms=50)] == [7]
    # After a restart the same consumer name first re-reads what it had not acknowledged.
    assert [e.data["n"] for e in streams.consume(STREAM, "persist", "c", pending=True)] == [7]


async def test_async_client_interoperates(redis_url: str, streams: EventStreams) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    async_streams = AsyncEventStreams(client)
    await async_streams.ensure_group(STREAM, "hub")
    await async_streams.publish(STREAM, "incident.created", {"n": 1, "text": "Mall Road"})
    events = await async_streams.consume(STREAM, "hub", "h1", block_ms=100)
    assert [(e.type, e.data) for e in events] == [
        ("incident.created", {"n": 1, "text": "Mall Road"})]
    assert await async_streams.ack(STREAM, "hub", events[0].id) == 1
    await client.aclose()
