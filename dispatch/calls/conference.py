"""Punjab Emergency I: bring the responsible SHO's phone into a live 15 call.

The API only decides *whom* to ring and records the request; the telephony gateway, which
holds the AMI link, moves the call into a ConfBridge and rings the phone
(``telephony/conference.py``). The request travels as a ``conference.add`` command on
``h15:telephony`` through the outbox, so it is sent iff it was recorded. What happens next
comes back on ``h15:calls``: ``call.conference`` (ringing, answered, unanswered, failed) and
``call.leg`` (joins and leaves), each also written to the audit log by the persister.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.audit.service import record_change
from dispatch.calls.models import Call
from dispatch.errors import Conflict, Invalid, NotFound
from dispatch.events.outbox import emit
from dispatch.events.streams import TELEPHONY
from dispatch.stations.models import Station
from dispatch.units.models import Unit
from dispatch.users.models import User

NUMBER = re.compile(r"^\+?[0-9]{3,15}$")
DIAL = re.compile(r"^[A-Za-z0-9]+/\S+$")


def _station_dial(session: Session, station: Station) -> str:
    """The station's own SHO line, else the dial string of an active SHO of the station."""
    if station.dial:
        return station.dial
    dial = session.scalar(select(User.dial).where(
        User.station_id == station.id, User.role == "sho", User.active.is_(True),
        User.dial.is_not(None)).order_by(User.id))
    if dial is None:
        raise Conflict(f"station {station.code} has no dial string for its SHO; set the "
                       f"station's or an SHO user's dial")
    return dial


def resolve_target(session: Session, *, unit_id: int | None = None,
                   station_id: int | None = None, number: str | None = None,
                   outbound_dial: str = "PJSIP/{number}@trunk") -> tuple[str, str]:
    """(dial string, label) of whom to ring: a unit's station SHO, a station's SHO, a number."""
    if sum(v is not None for v in (unit_id, station_id, number)) != 1:
        raise Invalid("give exactly one of unit_id, station_id or number")
    if number is not None:
        number = number.strip()
        if DIAL.match(number):
            return number, number
        if not NUMBER.match(number.replace(" ", "")):
            raise Invalid(f"'{number}' is neither a phone number nor a dial string")
        return outbound_dial.format(number=number.replace(" ", "")), number
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise NotFound(f"unit {unit_id} not found")
        station_id = unit.station_id
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound(f"station {station_id} not found")
    return _station_dial(session, station), f"SHO {station.name}"


def request_conference(session: Session, *, call_id: int, actor: str,
                       unit_id: int | None = None, station_id: int | None = None,
                       number: str | None = None, answer_timeout_s: float = 30.0,
                       outbound_dial: str = "PJSIP/{number}@trunk") -> dict[str, Any]:
    """Ask the gateway to ring the SHO into the live call; the outcome comes as events."""
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"call {call_id} not found")
    if call.state == "ended":
        raise Conflict(f"call {call_id} has ended; nobody can be brought into it")
    dial, label = resolve_target(session, unit_id=unit_id, station_id=station_id,
                                 number=number, outbound_dial=outbound_dial)
    request = {"request_id": uuid.uuid4().hex, "call_id": call.id, "linkedid": call.linkedid,
               "dial": dial, "label": label, "role": "sho",
               "answer_timeout_s": answer_timeout_s, "requested_by": actor}
    emit(session, TELEPHONY, "conference.add", request)
    record_change(session, actor=actor, action="call.conference_requested", entity_type="call",
                  entity_id=call.id, after={k: request[k] for k in ("request_id", "dial",
                                                                     "label")})
    return request | {"status": "requested"}


def audit_gateway_event(session: Session, *, call: Call, event_type: str,
                        data: dict[str, Any]) -> None:
    """Joins and leaves of staff legs and conference outcomes go to the audit log."""
    if event_type == "call.conference":
        record_change(session, actor="gateway", action=f"call.conference_{data['status']}",
                      entity_type="call", entity_id=call.id,
                      after={k: data.get(k) for k in ("request_id", "dial", "label", "reason")})
    elif event_type == "call.leg":
        leg = data.get("leg") or {}
        if leg.get("role") in ("call_taker", "sho"):
            action = "call.leg_left" if leg.get("left_at") else "call.leg_joined"
            record_change(session, actor="gateway", action=action, entity_type="call",
                          entity_id=call.id, after={k: leg.get(k) for k in ("role", "channel",
                                                                             "dial")})
