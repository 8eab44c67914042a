"""Publishing to real Redis: the key the router reads, its expiry, and the stream entry."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
from redis import Redis

from vision_feed.estimator import Window
from vision_feed.publish import (
    EVENT_TYPE,
    STREAM,
    camera_key,
    congestion_payload,
    publish_congestion,
    read_congestion,
    read_last_readings,
)


def window(**change) -> Window:
    base = dict(
        t0=0.0,
        t1=2.0,
        frames=24,
        occupancy=0.6,
        speed=8.0,
        speed_ratio=0.05,
        speed_kmh=None,
        level=0.9,
        label="jammed",
        factor=5.5,
        confidence=1.0,
        reliable=True,
        reason=None,
    )
    return Window(**{**base, **change})


def test_reading_is_written_with_ttl_and_streamed(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    payload = congestion_payload("cam-7", ["11-12", "12-13"], window())
    stream_id = publish_congestion(redis, payload, ttl_s=30)
    stored = read_congestion(redis, "cam-7")
    assert stored == payload
    assert stored["edges"] == ["11-12", "12-13"] and stored["factor"] == 5.5
    assert stored["label"] == "jammed" and stored["reliable"] is True
    assert datetime.fromisoformat(stored["ts"]).utcoffset().total_seconds() == 0
    assert 0 < redis.ttl(camera_key("cam-7")) <= 30
    [(entry_id, fields)] = redis.xrange(STREAM)
    assert entry_id.decode() == stream_id
    assert fields[b"type"].decode() == EVENT_TYPE
    assert json.loads(fields[b"data"]) == payload


def test_reading_disappears_when_the_camera_stops_answering(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    publish_congestion(redis, congestion_payload("cam-8", ["1-2"], window()), ttl_s=1)
    assert read_congestion(redis, "cam-8") is not None
    time.sleep(1.3)
    assert read_congestion(redis, "cam-8") is None  # expired, not frozen at "jammed"
    # ... while its last reading stays readable, so a supervisor sees how long it is silent
    last = read_last_readings(redis, ["cam-8", "cam-never-heard"])
    assert list(last) == ["cam-8"] and last["cam-8"]["label"] == "jammed"


def test_unreliable_reading_cannot_slow_a_route(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    broken = window(reliable=False, label="unreliable", reason="frozen", level=0.0, factor=1.0)
    # Even if a caller forgot to neutralise it, the payload is neutral.
    sloppy = window(reliable=False, label="jammed", reason="shaken")
    for w in (broken, sloppy):
        payload = congestion_payload("cam-9", ["1-2"], w)
        publish_congestion(redis, payload, ttl_s=10)
        stored = read_congestion(redis, "cam-9")
        assert stored["factor"] == 1.0 and stored["level"] == 0.0
        assert stored["reliable"] is False and stored["label"] == "unreliable"


def test_a_reading_without_expiry_or_out_of_range_is_refused(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    payload = congestion_payload("cam-10", ["1-2"], window())
    with pytest.raises(ValueError, match="ttl"):
        publish_congestion(redis, payload, ttl_s=0)
    with pytest.raises(ValueError, match="out of range"):
        publish_congestion(redis, {**payload, "factor": 0.5}, ttl_s=10)
    assert read_congestion(redis, "cam-10") is None
    assert redis.xlen(STREAM) == 0
