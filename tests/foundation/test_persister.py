"""Gateway events on the real Redis become calls and transcripts in the real PostgreSQL."""

from __future__ import annotations

import time

from dispatch.calls.persister import Persister
from dispatch.calls.service import get_by_linkedid
from dispatch.context import AppContext
from dispatch.events.streams import CALLS, TRANSCRIPTS


def test_events_become_rows_even_out_of_order_and_twice(ctx: AppContext) -> None:
    persister = Persister(sessions=ctx.sessions, streams=ctx.events, reclaim_idle_ms=50)
    publish = ctx.events.publish
    # The transcript arrives before the event that links its AudioSocket UUID to the call.
    publish(TRANSCRIPTS, "transcript.final", {"audiosocket_uuid": "a-1", "seq": 0,
                                              "text": "road accident on mall road",
                                              "start_s": 0.3, "end_s": 3.1, "engine": "vosk"})
    persister.poll_once(block_ms=50)
    assert ctx.redis.xpending(TRANSCRIPTS, "persist")["pending"] == 1  # kept, not dropped
    publish(CALLS, "call.ringing", {"linkedid": "171.5", "caller_number": "03001234567",
                                    "at": "2026-11-22T09:00:00+00:00"})
    publish(CALLS, "call.ringing", {"linkedid": "171.5", "caller_number": "03001234567",
                                    "at": "2026-11-22T09:00:00+00:00"})  # re-delivered
    publish(CALLS, "call.answered", {"linkedid": "171.5", "at": "2026-11-22T09:00:03+00:00"})
    publish(CALLS, "call.audiosocket_linked", {"linkedid": "171.5", "audiosocket_uuid": "a-1"})
    publish(CALLS, "call.ringing", {"caller_number": "no linkedid"})  # malformed
    persister.poll_once(block_ms=50)
    with ctx.sessions() as session:
        call = get_by_linkedid(session, linkedid="171.5")
        assert call is not None and call.state == "answered"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.06)
        persister.poll_once(block_ms=50)
        with ctx.sessions() as session:
            call = get_by_linkedid(session, linkedid="171.5")
            if call and call.segments:
                break
    assert [s.text for s in call.segments] == ["road accident on mall road"]
    # Nothing left pending in the group.
    for stream in (CALLS, TRANSCRIPTS):
        assert ctx.redis.xpending(stream, "persist")["pending"] == 0


def test_a_transcript_never_linked_is_dead_lettered_not_retried_forever(ctx: AppContext) -> None:
    from dispatch.calls.persister import DEAD_LETTER

    persister = Persister(sessions=ctx.sessions, streams=ctx.events, reclaim_idle_ms=50,
                          dead_letter_after_s=0.3)
    ctx.events.publish(TRANSCRIPTS, "transcript.final", {"audiosocket_uuid": "orphan-1",
                                                         "seq": 0, "text": "help"})
    persister.poll_once(block_ms=50)
    assert ctx.redis.xpending(TRANSCRIPTS, "persist")["pending"] == 1  # young: kept
    time.sleep(0.4)
    persister.poll_once(block_ms=50)
    assert ctx.redis.xpending(TRANSCRIPTS, "persist")["pending"] == 0
    parked = ctx.redis.xrange(DEAD_LETTER)
    assert len(parked) == 1
    assert b"orphan-1" in parked[0][1][b"data"]


def test_two_replicas_inserting_the_same_new_call_fold_into_one(ctx: AppContext,
                                                                monkeypatch) -> None:
    """Replica A commits the new call while replica B, which looked a moment earlier and saw
    none, inserts it too: B's unique violation is retried and folds into A's row."""
    import dispatch.calls.service as calls_service

    first = Persister(sessions=ctx.sessions, streams=ctx.events, consumer="a")
    second = Persister(sessions=ctx.sessions, streams=ctx.events, consumer="b")
    ctx.events.publish(CALLS, "call.ringing", {"linkedid": "race.1", "caller_number": "0300",
                                               "at": "2026-11-22T09:00:00+00:00"})
    first.poll_once(block_ms=50)
    real_lookup = calls_service.get_by_linkedid
    misses = iter([True])  # B's first look happens before A's commit is visible

    def stale_lookup(session, *, linkedid):  # type: ignore[no-untyped-def]
        return None if next(misses, False) else real_lookup(session, linkedid=linkedid)

    monkeypatch.setattr(calls_service, "get_by_linkedid", stale_lookup)
    ctx.events.publish(CALLS, "call.answered", {"linkedid": "race.1",
                                                "at": "2026-11-22T09:00:04+00:00"})
    second.poll_once(block_ms=50)  # also reads A's own call.updated, which it skips
    monkeypatch.undo()
    with ctx.sessions() as session:
        call = get_by_linkedid(session, linkedid="race.1")
        assert call.state == "answered" and call.caller_number == "0300"
    assert ctx.redis.xpending(CALLS, "persist")["pending"] == 0
