"""Folds the telephony gateway's events (`h15:calls`, `h15:transcripts`) into the database.

Runs in every API process under one consumer group, so replicas share the work. A message is
acknowledged only after its transaction commits; one that cannot be applied yet (a transcript
whose call is not linked) stays pending and is retried, and what a dead replica left pending is
re-claimed after `reclaim_idle_ms`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from prometheus_client import Counter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dispatch.calls import service
from dispatch.database.core import session_scope
from dispatch.errors import DomainError, NotFound
from dispatch.events.outbox import publish_pending
from dispatch.events.streams import CALLS, TRANSCRIPTS, Event, EventStreams

log = logging.getLogger(__name__)
GROUP = "persist"
STREAMS = (CALLS, TRANSCRIPTS)
RECLAIM_EVERY_S = 1.0
DEAD_LETTER = "h15:dead-letter"
DEAD_LETTER_AFTER_S = 3600.0
APPLIED = Counter("h15_persisted_events_total", "Gateway events written to the database",
                  ["stream"])
REJECTED = Counter("h15_rejected_events_total", "Gateway events that could not be applied",
                   ["stream", "reason"])


def apply_event(session: Session, event: Event) -> None:
    if event.stream == CALLS:
        if event.type == service.RECONCILE_EVENT:
            closed = service.reconcile(session, live=list(event.data["live"]),
                                       at=event.data.get("at"),
                                       cause_text=event.data.get("cause_text")
                                       or service.LINK_DOWN_CAUSE_TEXT)
            if closed:
                log.info("reconciled with Asterisk: %d call(s) ended while unwatched (%s)",
                         len(closed), ", ".join(c.linkedid for c in closed))
            return
        if event.type == "call.transcript_mode":
            service.set_transcript_mode(session, audiosocket_uuid=str(
                event.data["audiosocket_uuid"]), mode=str(event.data["mode"]))
            return
        if event.type not in service.GATEWAY_EVENTS:
            return  # our own announcements for the consoles (call.updated, call.aml)
        service.apply_call_event(session, event_type=event.type, data=event.data)
    elif event.stream == TRANSCRIPTS:
        kind = event.type.rsplit(".", 1)[-1]
        data = event.data
        service.add_transcript(session, audiosocket_uuid=str(data["audiosocket_uuid"]),
                               seq=int(data["seq"]), kind=kind, text=str(data.get("text", "")),
                               start_s=float(data.get("start_s", 0.0)),
                               end_s=float(data.get("end_s", 0.0)), engine=data.get("engine"))


class Persister:
    def __init__(self, *, sessions: sessionmaker[Session], streams: EventStreams,
                 consumer: str | None = None, reclaim_idle_ms: int = 5_000,
                 dead_letter_after_s: float = DEAD_LETTER_AFTER_S) -> None:
        self.sessions = sessions
        self.streams = streams
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.reclaim_idle_ms = reclaim_idle_ms
        self.dead_letter_after_s = dead_letter_after_s
        self._stop = threading.Event()
        self._last_reclaim = float("-inf")
        self.reclaim_every_s = min(RECLAIM_EVERY_S, reclaim_idle_ms / 1000)
        for stream in STREAMS:
            streams.ensure_group(stream, GROUP)

    def handle(self, events: list[Event]) -> int:
        """Apply and acknowledge; returns how many were applied."""
        applied = 0
        for event in events:
            try:
                self._apply(event)
            except NotFound as exc:
                if not self._expired(event):
                    continue  # not applicable yet: stays pending, retried by reclaim
                # Never linked after an hour (its call event was lost upstream): park it where
                # an operator can see it instead of retrying it forever.
                self.streams.publish(DEAD_LETTER, event.type,
                                     {"stream": event.stream, "id": event.id,
                                      "reason": str(exc), "event": event.data})
                REJECTED.labels(event.stream, "dead_letter").inc()
                log.error("dead-lettered %s %s after %.0f s: %s", event.stream, event.id,
                          self.dead_letter_after_s, exc)
            except (DomainError, KeyError, ValueError, TypeError) as exc:
                # Malformed: acknowledge so it does not block the stream, but count and log it.
                REJECTED.labels(event.stream, type(exc).__name__).inc()
                log.warning("rejected %s %s: %s", event.stream, event.id, exc)
            else:
                APPLIED.labels(event.stream).inc()
                applied += 1
            self.streams.ack(event.stream, GROUP, event.id)
        return applied

    def _apply(self, event: Event) -> None:
        """Apply in its own transaction; once more if another replica created the call first.

        Replicas share a call's events (ringing on one, answered on another), so two can try
        to insert the same new call; the loser's retry finds the row and folds into it.
        """
        for attempt in (1, 2):
            try:
                with session_scope(self.sessions) as session:
                    apply_event(session, event)
            except IntegrityError:
                if attempt == 2:
                    raise
                continue
            publish_pending(session, self.streams)
            return

    def _expired(self, event: Event) -> bool:
        """Stream ids start with the append time in ms, so the age needs no extra state."""
        appended_ms = int(event.id.split("-", 1)[0])
        return time.time() - appended_ms / 1000 > self.dead_letter_after_s

    def poll_once(self, block_ms: int = 500) -> int:
        """Re-claim what is overdue (at most every second), then wait on both streams at once.

        One blocking read over both streams: a ringing call is picked up the moment it lands,
        never after a wait on the transcript stream (that wait was most of a call pop).
        """
        applied = 0
        now = time.monotonic()
        if now - self._last_reclaim >= self.reclaim_every_s:
            self._last_reclaim = now
            for stream in STREAMS:
                applied += self.handle(self.streams.reclaim(stream, GROUP, self.consumer,
                                                            min_idle_ms=self.reclaim_idle_ms))
        applied += self.handle(self.streams.consume_many(STREAMS, GROUP, self.consumer,
                                                         block_ms=block_ms))
        return applied

    def run(self, on_error: Callable[[Exception], None] | None = None) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:
                if self._stop.is_set():
                    return  # Redis restarting: wait and go on, never die silently
                log.exception("persister poll failed; retrying")
                if on_error:
                    on_error(exc)
                self._stop.wait(1.0)

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="h15-persister", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the current poll, so no poll runs on a closed connection."""
        self._stop.set()
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.join(timeout_s)
