"""Redis connections, with `memory://` giving the embedded in-process substitute (fakeredis).

Sync and async clients made for `memory://` share one fake server, so the demo's threads and
event loop see the same data as they would on a real Redis.
"""

from __future__ import annotations

from functools import lru_cache

import redis
import redis.asyncio as aioredis


@lru_cache(maxsize=1)
def _memory_server():  # type: ignore[no-untyped-def]
    import fakeredis

    return fakeredis.FakeServer()


def make_redis(url: str) -> redis.Redis:
    if url.startswith("memory://"):
        import fakeredis

        return fakeredis.FakeRedis(server=_memory_server(), decode_responses=False)
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5,
                                health_check_interval=30)


def make_async_redis(url: str, timeout_s: float | None = None) -> aioredis.Redis:
    """`timeout_s` bounds each reply: callers with a fallback must not hang on a stuck Redis."""
    if url.startswith("memory://"):
        import fakeredis

        return fakeredis.FakeAsyncRedis(server=_memory_server(), decode_responses=False)
    return aioredis.Redis.from_url(url, socket_connect_timeout=timeout_s or 5,
                                   socket_timeout=timeout_s, health_check_interval=30)
