"""Intake rules that touch the database: caller history and attaching AML fixes to calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit.service import record_change
from dispatch.calls.models import Call
from dispatch.clock import DEFAULT_BOUNDS, ClockBounds, check_reported_time, server_now
from dispatch.errors import Conflict, Invalid, NotFound
from dispatch.events.outbox import emit
from dispatch.events.streams import CALLS
from dispatch.incidents.models import Incident
from dispatch.incidents.service import update_incident
from dispatch.intake.aml import AmlFix, CallWindow, match_call, may_replace_location
from dispatch.intake.aml import normalize_msisdn as normalize
from dispatch.intake.history import CallerFlags, PastCall, flag_caller

MATCH_LOOKBACK = timedelta(hours=2)


def past_calls(session: Session, *, caller_number: str,
               before_call_id: int | None = None,
               limit: int = 100) -> list[tuple[Call, Incident | None]]:
    """Earlier calls from this number (any formatting of it), newest first, with incidents."""
    query = (select(Call).where(Call.caller_msisdn == normalize(caller_number))
             .order_by(Call.id.desc()).limit(limit))
    if before_call_id is not None:
        query = query.where(Call.id != before_call_id)
    return [(call, session.get(Incident, call.incident_id) if call.incident_id else None)
            for call in session.scalars(query)]


def as_history(rows: list[tuple[Call, Incident | None]]) -> list[PastCall]:
    return [PastCall(started_at=call.ringing_at or call.created_at,
                     incident_type=incident.incident_type if incident else None,
                     disposition=incident.disposition if incident else None,
                     duration_s=_duration(call),
                     incident_id=str(incident.id) if incident else None)
            for call, incident in rows]


def caller_flags(rows: list[tuple[Call, Incident | None]],
                 now: datetime | None = None) -> CallerFlags:
    return flag_caller(as_history(rows), now=now)


def _duration(call: Call) -> float | None:
    if call.ended_at and call.ringing_at:
        return (call.ended_at - call.ringing_at).total_seconds()
    return None


@dataclass(frozen=True)
class AmlAttachment:
    call_id: int
    incident_updated: bool
    reason: str | None


def attach_aml(session: Session, *, fix: AmlFix, sender: str | None, call_id: int | None,
               received_at: datetime | None = None,
               bounds: ClockBounds = DEFAULT_BOUNDS) -> AmlAttachment:
    """Attach a handset fix to the caller's call, and to its incident unless a human confirmed
    the incident's location or the fix is less precise than what is there.

    The SMS's `received_at` (when the SMS centre got it, default now) and the handset's time of
    positioning (`top=`) are held to the handset time rule (`dispatch.clock`): a fix dated in
    the future would outrank every later one, a stale one would place the caller where they were.
    """
    now = server_now()
    if received_at is not None:
        check_reported_time(received_at, field="received_at", received=now, bounds=bounds)
    received = received_at or now
    check_reported_time(fix.positioned_at, field="top", received=received, bounds=bounds)
    if call_id is None:
        if not sender:
            raise Invalid("give the SMS sender's number (sender) or the call_id to attach to")
        recent = session.scalars(select(Call).where(Call.created_at >= received - MATCH_LOOKBACK))
        windows = [CallWindow(str(c.id), c.caller_number or "", c.ringing_at or c.created_at,
                              c.ended_at) for c in recent if c.caller_number]
        matched = match_call(sender, received, windows)
        if matched is None:
            raise NotFound(f"no live call from {sender} to attach this location to")
        call_id = int(matched)
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"call {call_id} not found")
    if call.aml_radius_m is not None and fix.radius_m > call.aml_radius_m and \
            call.aml_at is not None and fix.positioned_at <= call.aml_at:
        raise Conflict("an equally recent and more precise fix is already attached")
    call.aml_lat, call.aml_lon = fix.lat, fix.lon
    call.aml_radius_m, call.aml_at = fix.radius_m, fix.positioned_at
    record_change(session, actor="aml", action="call.aml_fix", entity_type="call",
                  entity_id=call.id, after={"lat": fix.lat, "lon": fix.lon,
                                            "radius_m": fix.radius_m, "method": fix.method,
                                            "length_mismatch": fix.length_mismatch})
    emit(session, CALLS, "call.aml", {"id": call.id, "linkedid": call.linkedid,
                                      "caller_number": call.caller_number, "lat": fix.lat,
                                      "lon": fix.lon, "radius_m": fix.radius_m,
                                      "method": fix.method})
    incident = session.get(Incident, call.incident_id) if call.incident_id else None
    if incident is None:
        return AmlAttachment(call.id, False, None)
    current_radius = None if incident.location_source != "aml" else call.aml_radius_m
    if not may_replace_location(confirmed_by_human=incident.location_confirmed,
                                current_radius_m=current_radius, new_radius_m=fix.radius_m):
        return AmlAttachment(call.id, False, "incident location confirmed by a call-taker "
                                             "or more precise; kept")
    update_incident(session, incident=incident, actor="aml", automatic=True,
                    changes={"lat": fix.lat, "lon": fix.lon, "location_source": "aml",
                             "location_text": f"handset fix ±{fix.radius_m:.0f} m"})
    return AmlAttachment(call.id, True, None)
