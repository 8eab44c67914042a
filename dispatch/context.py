"""What a running process holds: settings, the database, Redis and the event streams."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from dispatch.database.core import make_engine, make_session_factory
from dispatch.events.redis_client import make_redis
from dispatch.events.streams import EventStreams
from dispatch.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis
    events: EventStreams
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        engine = make_engine(settings.database_url)
        client = make_redis(settings.redis_url)
        return cls(settings, engine, make_session_factory(engine), client, EventStreams(client))

    def close(self) -> None:
        self.engine.dispose()
        self.redis.close()
