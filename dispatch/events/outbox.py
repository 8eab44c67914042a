"""Events written with the change they announce and published to Redis once it commits.

`emit` adds an `outbox_events` row to the caller's transaction, so an event exists iff its
change committed: a rolled-back change announces nothing, and a committed one is announced even
if this process dies before Redis hears of it. After the commit, `publish_pending` claims this
transaction's rows, appends them to their streams and deletes them (one DELETE per transaction).

If Redis (or the database) fails at that moment the rows simply stay. This process then holds
back its later events (they go after the backlog, never ahead of it) and a retrier thread
publishes the table oldest-first until it is empty. Rows that nobody is retrying, because the
process that wrote them died, are published by the `Relay` thread that the API (background
mode) and the alert scheduler run: every few seconds it takes rows older than `STALE_AFTER_S`.

Relays claim rows with `SELECT ... FOR UPDATE SKIP LOCKED` under a transaction-level advisory
lock on PostgreSQL (one relay at a time, so the stream keeps the table's order), and a
transaction claims its own rows with a SKIP LOCKED DELETE, so every row is published by one
process. Delivery is at-least-once: a row published just before its process dies, or before its
DELETE commits, is published again (under a new stream id). Consumers take that as they take a
re-claimed message: events carry the entity's id and current state, so consoles merge a repeat
by id and the scheduler re-syncs the same timers; a repeated `alert.raised` reaches the webhook
with the same `X-Alert-Key`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import bindparam, delete, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from dispatch.database.core import utcnow
from dispatch.events.models import OutboxEvent
from dispatch.events.streams import EventStreams, encode

log = logging.getLogger(__name__)

_KEY = "h15_outbox"
RETRY_INTERVAL_S = 0.5
SWEEP_INTERVAL_S = 1.5
STALE_AFTER_S = 5.0  # a live process publishes its rows within milliseconds of the commit
BATCH = 500
RELAY_LOCK = 0x4831355F6F7574  # pg_advisory_xact_lock key: "H15_out"
# One relay at a time (so the streams keep the table's order); its DELETE need not be synced.
_TAKE_TURN = text("SELECT pg_try_advisory_xact_lock(:key), "
                  "set_config('synchronous_commit', 'off', true)")

PUBLISH_FAILURES = Counter("h15_event_publish_failures_total",
                           "Attempts to publish committed events that failed (they are retried)",
                           ["stream"])
BACKLOG = Gauge("h15_event_backlog",
                "Committed events in the outbox table not yet published (all processes)")

_TABLE = OutboxEvent.__table__
Row = tuple[int, str, str, str]  # id, stream, event_type, data (JSON text)

# EventStreams of this process whose events wait in the table, with the engine holding them.
_backlogged: weakref.WeakKeyDictionary[EventStreams, Engine] = weakref.WeakKeyDictionary()
_lock = threading.Lock()  # orders this process's direct publishes against its backlog
_relay_lock = threading.Lock()  # one relay pass at a time in this process
_retrier: threading.Thread | None = None


def emit(session: Session, stream: str, event_type: str, data: dict[str, Any]) -> None:
    """Queue an event in the session's transaction: one INSERT, flushed with the change."""
    row = OutboxEvent(stream=stream, event_type=event_type,
                      data=encode(event_type, data)["data"])
    session.add(row)
    session.info.setdefault(_KEY, []).append(row)


def discard(session: Session) -> None:
    """Forget what a rolled-back transaction queued (its rows were rolled back with it)."""
    session.info.pop(_KEY, None)


def publish_pending(session: Session, events: EventStreams | None) -> int:
    """Publish what the session's committed transactions queued; returns how many.

    Never raises: the change is committed whatever happens here, and rows that could not be
    published stay in the table for the retrier or a relay.
    """
    queued: list[OutboxEvent] = session.info.pop(_KEY, [])
    rows: list[Row] = []
    for row in queued:
        identity = inspect(row).identity  # None if its transaction rolled back
        if identity is not None:
            rows.append((identity[0], row.stream, row.event_type, row.data))
    if not rows or events is None:
        return 0
    if events in _backlogged:
        return 0  # older events of ours are waiting: the retrier publishes these after them
    bind = session.get_bind()
    engine: Engine = bind.engine if isinstance(bind, Connection) else bind
    with _lock:
        if events in _backlogged:
            return 0
        try:
            with engine.begin() as connection:
                claim = _CLAIM.get(connection.dialect.name, _CLAIM_PLAIN)
                claimed = set(connection.execute(claim, {"ids": [r[0] for r in rows]}).scalars())
                mine = [r for r in rows if r[0] in claimed]  # a relay may have taken some
                _append(events, mine)
        except Exception as exc:  # Redis or the database: the rows are safe in the table
            PUBLISH_FAILURES.labels(stream=rows[0][1]).inc()
            log.warning("could not publish %d event(s) (%s); they wait in the outbox table",
                        len(rows), _reason(exc))
            _backlogged[events] = engine
            _start_retrier()
            return 0
    return len(mine)


def _claim_statement(dialect: str):  # type: ignore[no-untyped-def]
    """DELETE the given rows that no relay holds, returning their ids.

    On PostgreSQL the same statement turns off `synchronous_commit` for its transaction: a
    DELETE lost in a database crash only means its events are published again, and it halves
    the cost. SQLite has no row locks (it ignores FOR UPDATE) and one writer at a time.
    """
    ids = bindparam("ids", expanding=True)
    free = select(_TABLE.c.id).where(_TABLE.c.id.in_(ids)).with_for_update(skip_locked=True)
    claim = delete(_TABLE).where(_TABLE.c.id.in_(free))
    if dialect == "postgresql":
        relaxed = select(func.set_config("synchronous_commit", "off", True)).scalar_subquery()
        claim = claim.where(relaxed.is_not(None))
    return claim.returning(_TABLE.c.id)


_CLAIM = {"postgresql": _claim_statement("postgresql")}
_CLAIM_PLAIN = _claim_statement("other")


def _append(events: EventStreams, rows: Sequence[Row]) -> None:
    """XADD the rows in order, in one round trip; raises if Redis refuses any."""
    if not rows:
        return
    pipe = events.client.pipeline(transaction=False)
    for _, stream, event_type, data in rows:
        pipe.xadd(stream, {"type": event_type, "data": data}, maxlen=events.maxlen,
                  approximate=True)
    pipe.execute()


def relay_once(engine: Engine, events: EventStreams, *, limit: int = BATCH,
               min_age_s: float = 0.0) -> int | None:
    """Publish up to `limit` leftover rows, oldest first, and delete them.

    Returns how many, or None when another relay (this process or another) has the turn.
    Raises if Redis or the database fails; the rows then stay.
    """
    if not _relay_lock.acquire(blocking=False):
        return None
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql" and not connection.execute(
                    _TAKE_TURN, {"key": RELAY_LOCK}).scalar():
                return None
            query = (select(_TABLE.c.id, _TABLE.c.stream, _TABLE.c.event_type, _TABLE.c.data)
                     .order_by(_TABLE.c.id).limit(limit).with_for_update(skip_locked=True))
            if min_age_s > 0:
                query = query.where(_TABLE.c.created_at
                                    < utcnow() - timedelta(seconds=min_age_s))
            rows: list[Row] = [tuple(r) for r in connection.execute(query)]  # type: ignore[misc]
            if rows:
                _append(events, rows)
                connection.execute(delete(_TABLE).where(_TABLE.c.id.in_([r[0] for r in rows])))
        return len(rows)
    finally:
        _relay_lock.release()


def relay_all(engine: Engine, events: EventStreams, *, min_age_s: float = 0.0) -> bool:
    """Relay batches until none is left; False if another relay had the turn."""
    while True:
        published = relay_once(engine, events, min_age_s=min_age_s)
        if published is None:
            return False
        if published < BATCH:
            return True


def pending_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(_TABLE)).scalar_one())


def _note_backlog(engine: Engine) -> None:
    with contextlib.suppress(Exception):  # the database is down too: keep the last figure
        BACKLOG.set(pending_count(engine))


def backlog_size() -> int:
    """How many of this process's event streams are behind (0: it publishes directly)."""
    return len(_backlogged)


def _reason(exc: BaseException) -> str:
    lines = str(exc).splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _start_retrier() -> None:
    """Caller holds `_lock`."""
    global _retrier
    if _retrier is None or not _retrier.is_alive():
        _retrier = threading.Thread(target=_retry_loop, name="h15-outbox-retry", daemon=True)
        _retrier.start()


def _retry_loop() -> None:
    global _retrier
    stop = threading.Event()
    while not stop.wait(RETRY_INTERVAL_S):
        _retry_round()  # a function of its own, so no stream outlives its context here
        with _lock:
            if not _backlogged:
                _retrier = None  # under the lock, so a new failure starts a fresh thread
                return


def _retry_round() -> None:
    with _lock:
        behind = list(_backlogged.items())
    for events, engine in behind:
        try:
            _catch_up(events, engine)
        except Exception as exc:  # still down: try again in RETRY_INTERVAL_S
            log.debug("outbox retry failed: %s", _reason(exc))
        _note_backlog(engine)


def _catch_up(events: EventStreams, engine: Engine) -> None:
    """Publish the table; once it is empty, with our direct publishes held back, clear the
    flag so they resume: everything queued before them is then on the stream."""
    if not relay_all(engine, events):
        return
    with _lock:
        if relay_all(engine, events):
            del _backlogged[events]
            log.info("outbox caught up: events are published directly again")


class Relay:
    """Publishes rows left by processes that died, every `interval_s`; run in each process
    that does background work. Rows younger than `min_age_s` are left to their own process."""

    def __init__(self, engine: Engine, events: EventStreams, *,
                 interval_s: float = SWEEP_INTERVAL_S, min_age_s: float = STALE_AFTER_S) -> None:
        self.engine = engine
        self.events = events
        self.interval_s = interval_s
        self.min_age_s = min_age_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def sweep(self) -> bool:
        """One round; False if rows may be left (Redis down, or another relay's turn)."""
        try:
            done = relay_all(self.engine, self.events, min_age_s=self.min_age_s)
        except Exception as exc:  # Redis or the database down: the rows wait
            if not self._failing:
                log.warning("outbox relay cannot publish (%s); retrying every %.1f s",
                            _reason(exc), self.interval_s)
            self._failing = True
            _note_backlog(self.engine)
            return False
        _note_backlog(self.engine)
        if self._failing:
            log.info("outbox relay publishing again")
        self._failing = False
        return done

    def run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sweep()

    def start(self) -> Relay:
        self._thread = threading.Thread(target=self.run, name="h15-outbox-relay", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
