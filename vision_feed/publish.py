"""Publishing a camera's congestion reading to Redis for the router and the dashboards.

Three writes in one transaction:
* `h15:congestion:cam:{camera_id}` = JSON reading, `SET ... EX ttl`: the router's live view.
  A camera that stops answering is not re-written, so its key expires and its edges return to
  free-flow travel times; a stale jam never sticks.
* `HSET h15:congestion:last {camera_id} <same JSON>`, no expiry: the last reading of every
  camera, so the supervisor can see how long a silent camera has been silent.
* `XADD h15:congestion` with `type=congestion.update` and `data=<same JSON>`: the history and
  the push to consoles (stream trimmed to about STREAM_MAXLEN entries).

An unreliable reading (dark, blank, frozen, shaken, moved, or a feed that hung: "feed hung: no
frame for N s") IS written, with `reliable: false`, `factor: 1.0` and `level: 0.0`, so routing
is unaffected while the supervisor can still see that the camera needs attention. Readers must
ignore the factor of unreliable readings anyway.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from redis import Redis

from vision_feed.estimator import Window

CAMERA_KEY = "h15:congestion:cam:{camera_id}"
LAST_KEY = "h15:congestion:last"
STREAM = "h15:congestion"
EVENT_TYPE = "congestion.update"
STREAM_MAXLEN = 100_000


def camera_key(camera_id: str) -> str:
    return CAMERA_KEY.format(camera_id=camera_id)


def congestion_payload(
    camera_id: str,
    edges: Sequence[str],
    window: Window,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The reading routing consumes: plain data, factor 1.0 whenever the camera is unreliable."""
    ts = (now or datetime.now(UTC)).astimezone(UTC)
    reliable = bool(window.reliable)
    return {
        "camera_id": camera_id,
        "edges": list(edges),
        "factor": float(window.factor) if reliable else 1.0,
        "level": float(window.level) if reliable else 0.0,
        "label": window.label if reliable else "unreliable",
        "confidence": float(window.confidence) if reliable else 0.0,
        "reliable": reliable,
        "reason": window.reason,
        "occupancy": window.occupancy,
        "speed": window.speed,  # px/s at 320×240 of what moved
        "speed_ratio": window.speed_ratio,
        "basis": window.basis,  # reference | lane_mask | learned | default
        "frames": window.frames,
        "ts": ts.isoformat(),
        "updated_at": ts.isoformat(),
    }


def unreliable_payload(
    camera_id: str,
    edges: Sequence[str],
    reason: str,
    *,
    frames: int = 0,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The reading of a camera that gave no usable burst at all (a hung feed): unreliable, with
    the reason, through the same `congestion_payload` as an unreliable analysed window."""
    return congestion_payload(camera_id, edges, Window.unreliable(reason, frames=frames),
                              now=now)


def publish_congestion(redis: Redis, payload: dict[str, Any], *, ttl_s: int) -> str:
    """Write the key with a TTL and append to the stream atomically; returns the stream id."""
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive: a reading without expiry could freeze a jam")
    if not float(payload["factor"]) >= 1.0 or not 0.0 <= float(payload["level"]) <= 1.0:
        raise ValueError(
            f"reading out of range: factor={payload['factor']} level={payload['level']}"
        )
    data = json.dumps(payload, separators=(",", ":"))
    with redis.pipeline(transaction=True) as pipe:
        pipe.set(camera_key(payload["camera_id"]), data, ex=ttl_s)
        pipe.hset(LAST_KEY, payload["camera_id"], data)
        pipe.xadd(
            STREAM, {"type": EVENT_TYPE, "data": data}, maxlen=STREAM_MAXLEN, approximate=True
        )
        _, _, stream_id = pipe.execute()
    return stream_id.decode() if isinstance(stream_id, bytes) else str(stream_id)


def read_congestion(redis: Redis, camera_id: str) -> dict[str, Any] | None:
    """The live reading of one camera, or None once it expired."""
    raw = redis.get(camera_key(camera_id))
    return None if raw is None else json.loads(raw)


def read_last_readings(redis: Redis, camera_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The last reading each camera published, expired or not (cameras never heard: absent)."""
    if not camera_ids:
        return {}
    raws = redis.hmget(LAST_KEY, list(camera_ids))
    return {cid: json.loads(raw) for cid, raw in zip(camera_ids, raws, strict=True) if raw}
