"""Events queued by service functions and published only after their transaction commits.

Publishing inside the transaction could announce a change that then rolls back; publishing after
commit means consoles never see a phantom incident. If Redis is unreachable at that moment the
change is still safe in the database and the failure is logged and counted.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import Counter
from sqlalchemy.orm import Session

from dispatch.events.streams import EventStreams

log = logging.getLogger(__name__)

_KEY = "h15_outbox"
PUBLISH_FAILURES = Counter("h15_event_publish_failures_total",
                           "Events committed to the database but not published to Redis",
                           ["stream"])


def emit(session: Session, stream: str, event_type: str, data: dict[str, Any]) -> None:
    session.info.setdefault(_KEY, []).append((stream, event_type, data))


def discard(session: Session) -> None:
    session.info.pop(_KEY, None)


def publish_pending(session: Session, events: EventStreams | None) -> int:
    """Publish what the committed transaction queued; returns how many were published."""
    pending = session.info.pop(_KEY, [])
    if events is None:
        return 0
    published = 0
    for stream, event_type, data in pending:
        try:
            events.publish(stream, event_type, data)
            published += 1
        except Exception:  # Redis down: the database already holds the change
            PUBLISH_FAILURES.labels(stream=stream).inc()
            log.exception("could not publish %s to %s", event_type, stream)
    return published
