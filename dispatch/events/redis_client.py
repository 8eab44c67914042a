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


def make_async_redis(url: str, timeout_s: float | None = None,
                     max_connections: int | None = None) -> aioredis.Redis:
    """`timeout_s` bounds each reply: callers with a fallback must not hang on a stuck Redis.

    With `max_connections`, callers beyond it wait up to `timeout_s` for a free connection.
    """
    if url.startswith("memory://"):
        import fakeredis

        return fakeredis.FakeAsyncRedis(server=_memory_server(), decode_responses=False)
    options = {"socket_connect_timeout": timeout_s or 5, "socket_timeout": timeout_s,
               "health_check_interval": 30}
    if max_connections is not None:
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=timeout_s, **options)
        return aioredis.Redis(connection_pool=pool)
    return aioredis.Redis.from_url(url, **options)
