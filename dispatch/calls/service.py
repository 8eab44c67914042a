"""Calls as the telephony gateway reports them, and their transcript segments.

Events can arrive twice (a consumer re-claims what a dead one left) or out of order (a
transcript before the event linking its AudioSocket UUID), so every function here is idempotent
and never moves a call backwards: an `ended` call stays ended.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dispatch.calls.models import Call, CallLeg, TranscriptSegment
from dispatch.errors import Invalid, NotFound
from dispatch.events.outbox import emit
from dispatch.events.streams import CALLS
from dispatch.intake.aml import normalize_msisdn

STATE_ORDER = {"ringing": 0, "answered": 1, "ended": 2}
CALL_EVENT_STATES = {"call.ringing": "ringing", "call.answered": "answered", "call.ended": "ended"}
# What the telephony gateway publishes; `call.updated` is ours (for consoles), never folded back.
GATEWAY_EVENTS = frozenset({*CALL_EVENT_STATES, "call.audiosocket_linked", "call.dtmf",
                            "call.resynced", "call.leg", "call.conference"})
# After every (re)connect the gateway lists the calls Asterisk still carries; the others ended
# while nobody watched (a gateway killed mid-call, a link down at hang-up).
RECONCILE_EVENT = "calls.reconciled"
LINK_DOWN_CAUSE_TEXT = "cause unknown (link down)"


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def get_by_linkedid(session: Session, *, linkedid: str) -> Call | None:
    return session.scalar(select(Call).where(Call.linkedid == linkedid))


def apply_call_event(session: Session, *, event_type: str, data: dict[str, Any]) -> Call:
    """Fold one `h15:calls` event into the call it belongs to, creating the call if new."""
    if event_type not in GATEWAY_EVENTS:
        raise Invalid(f"unknown call event '{event_type}'")
    linkedid = data.get("linkedid")
    if not linkedid:
        raise Invalid(f"{event_type} event without linkedid")
    at = _parse_time(data.get("at"))
    call = get_by_linkedid(session, linkedid=linkedid)
    created = call is None
    if call is None:
        call = Call(linkedid=linkedid, state="ringing", ringing_at=at)
        session.add(call)
    for field in ("channel", "caller_number", "audiosocket_uuid"):
        if data.get(field) and not getattr(call, field):
            setattr(call, field, data[field])
    if call.caller_number and not call.caller_msisdn:
        call.caller_msisdn = normalize_msisdn(call.caller_number)
    state = CALL_EVENT_STATES.get(event_type)
    if state is not None and STATE_ORDER[state] > STATE_ORDER[call.state]:
        call.state = state
    if event_type == "call.ringing":
        call.ringing_at = min(call.ringing_at or at, at)
    elif event_type == "call.answered" and call.answered_at is None:
        call.answered_at = at
    elif event_type == "call.ended" and call.ended_at is None:
        call.ended_at = at
        cause = data.get("cause")
        call.hangup_cause = int(cause) if cause not in (None, "") else None
        call.hangup_cause_text = data.get("cause_text")
    elif event_type == "call.leg":
        _apply_leg(session, call=call, leg=data.get("leg") or {})
    session.flush()
    if event_type in ("call.leg", "call.conference"):
        from dispatch.calls.conference import audit_gateway_event

        audit_gateway_event(session, call=call, event_type=event_type, data=data)
    if created or state is not None:
        emit(session, CALLS, "call.updated", call_summary(call))
    return call


def _apply_leg(session: Session, *, call: Call, leg: dict[str, Any]) -> CallLeg:
    """Upsert one leg by its channel; a leg that left stays left, a known role is not lost."""
    channel = leg.get("channel")
    if not channel or not leg.get("role") or not leg.get("joined_at"):
        raise Invalid("call.leg event without channel, role or joined_at")
    key = re.sub(r";\d+$", "", str(channel))  # a Local pair is one leg, as in the gateway
    row = next((r for r in call.legs if r.key == key), None)
    if row is None:
        row = CallLeg(key=key, role=leg["role"], channel=channel, dial=leg.get("dial"),
                      joined_at=_parse_time(leg["joined_at"]))
        call.legs.append(row)
    elif leg["role"] != "other":
        row.role = leg["role"]
    row.dial = leg.get("dial") or row.dial
    if leg.get("left_at") and row.left_at is None:
        row.left_at = _parse_time(leg["left_at"])
    return row


def reconcile(session: Session, *, live: list[str], at: Any,
              cause_text: str = LINK_DOWN_CAUSE_TEXT) -> list[Call]:
    """End every open call that began before ``at`` and that Asterisk no longer carries."""
    at = _parse_time(at)
    query = select(Call).where(Call.state != "ended", Call.ringing_at <= at)
    if live:
        query = query.where(Call.linkedid.not_in(live))
    closed = list(session.scalars(query.options(selectinload(Call.legs))))
    for call in closed:
        call.state, call.ended_at = "ended", at
        call.hangup_cause, call.hangup_cause_text = None, cause_text
        for leg in call.legs:
            leg.left_at = leg.left_at or at
    session.flush()
    for call in closed:
        emit(session, CALLS, "call.updated", call_summary(call))
    return closed


def call_summary(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "linkedid": call.linkedid,
        "caller_number": call.caller_number,
        "state": call.state,
        "ringing_at": call.ringing_at.isoformat() if call.ringing_at else None,
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "incident_id": call.incident_id,
        "transcript_mode": call.transcript_mode,
    }


def set_transcript_mode(session: Session, *, audiosocket_uuid: str, mode: str) -> Call:
    """Live or post-call transcript; ``post_call`` (done) is never undone by a late ``pending``.

    Raises NotFound while the UUID is not linked, so the event is retried, not dropped.
    """
    if mode not in ("live", "pending", "post_call"):
        raise Invalid(f"transcript mode must be live, pending or post_call, not '{mode}'")
    call = session.scalar(select(Call).where(Call.audiosocket_uuid == audiosocket_uuid))
    if call is None:
        raise NotFound(f"no call linked to AudioSocket UUID {audiosocket_uuid} yet")
    if call.transcript_mode != "post_call":
        call.transcript_mode = mode
        session.flush()
        emit(session, CALLS, "call.updated", call_summary(call))
    return call


def add_transcript(session: Session, *, audiosocket_uuid: str, seq: int, kind: str, text: str,
                   start_s: float = 0.0, end_s: float = 0.0,
                   engine: str | None = None) -> TranscriptSegment:
    """Store a partial or final; a final replaces the partial of the same seq, never the reverse.

    Raises NotFound while the call's UUID is not yet linked, so the event stays pending and is
    retried rather than dropped.
    """
    if kind not in ("partial", "final"):
        raise Invalid(f"transcript kind must be 'partial' or 'final', not '{kind}'")
    call = session.scalar(select(Call).where(Call.audiosocket_uuid == audiosocket_uuid))
    if call is None:
        raise NotFound(f"no call linked to AudioSocket UUID {audiosocket_uuid} yet")
    segment = session.scalar(select(TranscriptSegment).where(
        TranscriptSegment.call_id == call.id, TranscriptSegment.seq == seq))
    if segment is None:
        segment = TranscriptSegment(call_id=call.id, seq=seq, kind=kind, text=text,
                                    start_s=start_s, end_s=end_s, engine=engine)
        session.add(segment)
    elif segment.kind == "partial":
        segment.kind, segment.text = kind, text
        segment.start_s, segment.end_s, segment.engine = start_s, end_s, engine
    session.flush()
    return segment


def list_calls(session: Session, *, state: str | None = None, limit: int = 100) -> list[Call]:
    query = (select(Call).options(selectinload(Call.segments), selectinload(Call.legs))
             .order_by(Call.id.desc()).limit(limit))
    if state == "active":
        query = query.where(Call.state != "ended")
    elif state is not None:
        query = query.where(Call.state == state)
    return list(session.scalars(query))


def get_call(session: Session, *, call_id: int) -> Call:
    call = session.get(Call, call_id, options=[selectinload(Call.segments),
                                               selectinload(Call.legs)])
    if call is None:
        raise NotFound(f"call {call_id} not found")
    return call
