"""Events queued by service functions and published only after their transaction commits.

Publishing inside the transaction could announce a change that then rolls back; publishing after
commit means consoles never see a phantom incident. If Redis is unreachable at that moment the
change is still safe in the database; the event waits in this process's backlog (in order) and a
background thread publishes it as soon as Redis answers again, so consoles replaying the stream
miss nothing. The backlog lives in memory: a process that dies during a Redis outage loses its
backlog's events (not the data); a durable outbox table would close that gap.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import deque
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy.orm import Session

from dispatch.events.streams import EventStreams

log = logging.getLogger(__name__)

_KEY = "h15_outbox"
RETRY_INTERVAL_S = 0.5
MAX_BACKLOG = 100_000
PUBLISH_FAILURES = Counter("h15_event_publish_failures_total",
                           "Attempts to publish a committed event that failed (it is retried)",
                           ["stream"])
EVENTS_DROPPED = Counter("h15_events_dropped_total",
                         "Committed events dropped because the publish backlog was full")
BACKLOG = Gauge("h15_event_backlog", "Committed events waiting for Redis to come back")

Pending = tuple[str, str, dict[str, Any]]
_backlogs: weakref.WeakKeyDictionary[EventStreams, deque[Pending]] = (
    weakref.WeakKeyDictionary())
_lock = threading.Lock()
_retrier: threading.Thread | None = None


def emit(session: Session, stream: str, event_type: str, data: dict[str, Any]) -> None:
    session.info.setdefault(_KEY, []).append((stream, event_type, data))


def discard(session: Session) -> None:
    session.info.pop(_KEY, None)


def publish_pending(session: Session, events: EventStreams | None) -> int:
    """Publish what the committed transaction queued (after any backlog); returns how many."""
    pending = session.info.pop(_KEY, [])
    if events is None:
        return 0
    with _lock:
        backlog = _backlogs.get(events)
        if backlog is None:
            if not pending:
                return 0
            backlog = _backlogs.setdefault(events, deque())
        for item in pending:
            if len(backlog) >= MAX_BACKLOG:
                EVENTS_DROPPED.inc()
                log.error("publish backlog full; dropping %s for %s", item[1], item[0])
                continue
            backlog.append(item)
        return _drain(events, backlog)


def backlog_size() -> int:
    with _lock:
        return sum(len(b) for b in _backlogs.values())


def _drain(events: EventStreams, backlog: deque[Pending]) -> int:
    """Publish in order until empty or Redis fails; caller holds `_lock`."""
    published = 0
    while backlog:
        stream, event_type, data = backlog[0]
        try:
            events.publish(stream, event_type, data)
        except Exception as exc:  # Redis down: the database already holds the change
            PUBLISH_FAILURES.labels(stream=stream).inc()
            log.warning("could not publish %s to %s (%s); %d event(s) wait for Redis",
                        event_type, stream, type(exc).__name__, len(backlog))
            _start_retrier()
            break
        backlog.popleft()
        published += 1
    BACKLOG.set(sum(len(b) for b in _backlogs.values()))
    return published


def _start_retrier() -> None:
    global _retrier
    if _retrier is None or not _retrier.is_alive():
        _retrier = threading.Thread(target=_retry_loop, name="h15-outbox-retry", daemon=True)
        _retrier.start()


def _retry_loop() -> None:
    global _retrier
    stop = threading.Event()
    while not stop.wait(RETRY_INTERVAL_S):
        with _lock:
            for events, backlog in list(_backlogs.items()):
                if backlog:
                    _drain(events, backlog)
            if not any(_backlogs.values()):
                _retrier = None  # under the lock, so a new failure starts a fresh thread
                return
