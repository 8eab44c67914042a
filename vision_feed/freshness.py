"""How fresh each camera's reading is, for `/metrics` (Prometheus) and the province plan.

At province scale the question is not "is this one camera jammed" but "is every camera's reading
recent": a camera whose reading is older than the target (60 s) is blind, whatever it last said.
Per camera this exports the age of its last published reading (`h15_camera_reading_age_seconds`)
and the lag of that reading (`h15_camera_sample_lag_seconds`: from the moment the sampler queued
the camera to the moment its reading was published, i.e. queue wait plus sampling), plus how
many cameras are past the target. Read straight from Redis at scrape time, so any number of API
processes report the same figures.

Wire-up (in the API): `REGISTRY.register(CameraFreshnessCollector(redis, camera_ids))`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from redis import Redis

from vision_feed.publish import read_last_readings

FRESHNESS_TARGET_S = 60.0


def camera_freshness(
    redis: Redis, camera_ids: Sequence[str], *, now: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """Per camera: `age_s` of its last reading (None if never heard), `lag_s`, `reliable`."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    readings = read_last_readings(redis, camera_ids)
    result: dict[str, dict[str, Any]] = {}
    for camera_id in camera_ids:
        reading = readings.get(camera_id)
        if reading is None:
            result[camera_id] = {"age_s": None, "lag_s": None, "reliable": None}
            continue
        stamp = datetime.fromisoformat(reading.get("updated_at") or reading["ts"])
        result[camera_id] = {
            "age_s": max(0.0, (now - stamp).total_seconds()),
            "lag_s": reading.get("lag_s"),
            "reliable": reading.get("reliable"),
        }
    return result


class CameraFreshnessCollector:
    """A Prometheus collector reading every camera's freshness from Redis when scraped."""

    def __init__(
        self,
        redis: Redis,
        camera_ids: Callable[[], Sequence[str]],
        *,
        target_s: float = FRESHNESS_TARGET_S,
    ) -> None:
        self.redis = redis
        self.camera_ids = camera_ids
        self.target_s = target_s

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ids = list(self.camera_ids())
        fresh = camera_freshness(self.redis, ids)
        age = GaugeMetricFamily(
            "h15_camera_reading_age_seconds",
            "Age of the camera's last published congestion reading",
            labels=["camera"],
        )
        lag = GaugeMetricFamily(
            "h15_camera_sample_lag_seconds",
            "From queueing the camera's sample to publishing its reading",
            labels=["camera"],
        )
        stale = 0
        for camera_id, figures in fresh.items():
            if figures["age_s"] is None or figures["age_s"] > self.target_s:
                stale += 1
            if figures["age_s"] is not None:
                age.add_metric([camera_id], figures["age_s"])
            if figures["lag_s"] is not None:
                lag.add_metric([camera_id], float(figures["lag_s"]))
        yield age
        yield lag
        yield GaugeMetricFamily(
            "h15_cameras_stale",
            f"Cameras with no reading in the last {self.target_s:g} s",
            value=stale,
        )
        yield GaugeMetricFamily("h15_cameras", "Cameras in the registry", value=len(ids))
