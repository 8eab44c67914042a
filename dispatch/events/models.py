"""The outbox: events written in the same transaction as the change they announce.

A row exists iff its transaction committed, so an event is as durable as the change itself.
`dispatch.events.outbox` publishes the rows to Redis and deletes them; `id` is the publish order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Identity, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.database.core import Base, UTCDateTime, utcnow

# SQLite numbers rows only through an INTEGER PRIMARY KEY (its rowid).
BIGINT_ID = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BIGINT_ID, Identity(), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)  # the JSON text exactly as it goes on the stream
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
