"""Read live congestion factors that the vision feed writes to Redis.

Each camera writes `h15:congestion:cam:{camera_id}` = JSON with a TTL. An expired key is simply
absent, which means free flow; an unreliable reading is ignored rather than trusted.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

KEY_PATTERN = "h15:congestion:cam:*"
log = logging.getLogger(__name__)


def load_congestion(redis_client: Any, *, batch: int = 500) -> dict[str, float]:
    """Edge id → travel-time factor (≥ 1); several cameras on one edge → the largest factor."""
    factors: dict[str, float] = {}
    keys = list(redis_client.scan_iter(match=KEY_PATTERN, count=batch))
    for start in range(0, len(keys), batch):
        chunk = keys[start : start + batch]
        for key, raw in zip(chunk, redis_client.mget(chunk), strict=True):
            if raw is None:  # expired between SCAN and MGET
                continue
            reading = _parse(key, raw)
            if reading is None:
                continue
            edges, factor = reading
            for edge_id in edges:
                if factor > factors.get(edge_id, 1.0):
                    factors[edge_id] = factor
                else:
                    factors.setdefault(edge_id, 1.0)
    return factors


def _parse(key: bytes | str, raw: bytes | str) -> tuple[list[str], float] | None:
    try:
        data = json.loads(raw)
        if not data.get("reliable", False):
            return None
        factor = float(data["factor"])
        edges = [str(e) for e in data["edges"]]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("ignoring malformed congestion value at %r: %s", key, exc)
        return None
    if not math.isfinite(factor) or factor < 1.0:
        log.warning(
            "ignoring congestion factor %r at %r (must be a finite number >= 1)", factor, key
        )
        return None
    return edges, factor
