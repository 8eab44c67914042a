"""Freshness per camera for /metrics: age and lag of each camera's last reading, from real Redis,
rendered by a real Prometheus registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from redis import Redis

from vision_feed.estimator import Window
from vision_feed.freshness import CameraFreshnessCollector, camera_freshness
from vision_feed.publish import congestion_payload, publish_congestion


def reading(camera_id: str, *, at: datetime, lag_s: float) -> dict:
    window = Window.unreliable("frozen", frames=12)
    payload = congestion_payload(camera_id, ["1-2"], window, now=at)
    payload["lag_s"] = lag_s
    return payload


def test_each_camera_reports_its_age_and_lag_and_the_stale_ones_are_counted(
    redis_url: str,
) -> None:
    redis = Redis.from_url(redis_url)
    now = datetime.now(UTC)
    publish_congestion(redis, reading("cam-a", at=now - timedelta(seconds=5), lag_s=1.5), ttl_s=30)
    publish_congestion(redis, reading("cam-b", at=now - timedelta(seconds=90), lag_s=4.0), ttl_s=30)
    figures = camera_freshness(redis, ["cam-a", "cam-b", "cam-never"], now=now)
    assert 4.9 < figures["cam-a"]["age_s"] < 5.1 and figures["cam-a"]["lag_s"] == 1.5
    assert 89.9 < figures["cam-b"]["age_s"] < 90.1
    assert figures["cam-never"] == {"age_s": None, "lag_s": None, "reliable": None}

    registry = CollectorRegistry()
    registry.register(CameraFreshnessCollector(redis, lambda: ["cam-a", "cam-b", "cam-never"]))
    text = generate_latest(registry).decode()
    assert 'h15_camera_sample_lag_seconds{camera="cam-b"} 4.0' in text
    assert 'h15_camera_reading_age_seconds{camera="cam-a"}' in text
    assert "h15_cameras_stale 2.0" in text  # cam-b is 90 s old, cam-never was never heard
    assert "h15_cameras 3.0" in text
