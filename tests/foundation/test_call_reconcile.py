"""Open calls Asterisk no longer carries are ended by the gateway's reconcile event; legs fold."""

from __future__ import annotations

from dispatch.calls.persister import Persister
from dispatch.calls.service import LINK_DOWN_CAUSE_TEXT, get_by_linkedid
from dispatch.context import AppContext
from dispatch.events.streams import CALLS


def _ring(ctx: AppContext, linkedid: str, at: str) -> None:
    ctx.events.publish(CALLS, "call.ringing", {"linkedid": linkedid, "caller_number": "0300",
                                               "at": at})
    ctx.events.publish(CALLS, "call.answered", {"linkedid": linkedid, "at": at})


def test_reconcile_ends_only_the_open_calls_asterisk_lost_that_began_before_it(
    ctx: AppContext,
) -> None:
    persister = Persister(sessions=ctx.sessions, streams=ctx.events, reclaim_idle_ms=50)
    _ring(ctx, "100.1", "2026-12-03T07:00:00+00:00")  # lost while the gateway was dead
    _ring(ctx, "100.2", "2026-12-03T07:00:01+00:00")  # still live in Asterisk
    _ring(ctx, "100.3", "2026-12-03T07:00:09+00:00")  # began after the listing
    ctx.events.publish(CALLS, "call.leg", {"linkedid": "100.1", "leg": {
        "role": "tap", "channel": "Local/u@helpline-tap-00000001;1", "dial": "x",
        "joined_at": "2026-12-03T07:00:00+00:00", "left_at": None}})
    ctx.events.publish(CALLS, "call.leg", {"linkedid": "100.1", "leg": {
        "role": "tap", "channel": "Local/u@helpline-tap-00000001;2", "dial": "x",
        "joined_at": "2026-12-03T07:00:00+00:00", "left_at": None}})
    ctx.events.publish(CALLS, "calls.reconciled", {"live": ["100.2"],
                                                   "at": "2026-12-03T07:00:05+00:00",
                                                   "cause_text": LINK_DOWN_CAUSE_TEXT})
    while persister.poll_once(block_ms=50):
        pass
    with ctx.sessions() as session:
        lost, live, later = (get_by_linkedid(session, linkedid=f"100.{i}") for i in (1, 2, 3))
        assert lost.state == "ended" and lost.hangup_cause_text == LINK_DOWN_CAUSE_TEXT
        assert lost.ended_at.isoformat() == "2026-12-03T07:00:05+00:00"
        (tap,) = lost.legs  # the Local pair is one leg, closed with the call
        assert tap.role == "tap" and tap.left_at == lost.ended_at
        assert live.state == "answered" and later.state == "answered"
