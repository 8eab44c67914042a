"""Call lifecycle from AMI events, keyed by Linkedid.

Pure state machine (no I/O): feed it AMI events as dicts, get back the call events to publish.
Keeping it free of sockets is what lets the tests replay every real capture through it.

Rules, all observed on Asterisk 22 (see ``../shared/data/asterisk/README.md``):

* a call is the set of channels sharing a ``Linkedid``; the caller's leg is the channel whose
  ``Uniqueid`` equals the ``Linkedid``;
* ``call.ringing`` is published once the caller number is known (Local and trunk channels learn
  it at different moments), at the latest when the call is answered or ends;
* the first leg going ``Up`` (ChannelState 6) answers the call;
* ``VarSet`` of the dialplan's UUID variable (``AS_UUID``) links the AudioSocket stream;
* the call ends when its last known leg hangs up; the cause is the first non-zero ``Cause`` of
  its legs' ``Hangup`` events, else the caller leg's;
* tap, queue-member and SHO channels are legs of the caller's call, never calls of their own
  (``call.leg`` events; see :mod:`telephony.ami.legs`); with ``contexts`` set, a channel with
  a new Linkedid starts a call only in those dialplan contexts;
* after a reconnect, :meth:`CallTracker.resync` closes calls missing from ``CoreShowChannels``
  with "cause unknown (link down)", because Asterisk never replays the Hangup.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from telephony.ami.legs import (
    DIAL_VARIABLE,
    ROLE_VARIABLE,
    TAP_CONTEXTS,
    Leg,
    leg_key,
    parse_leg_id,
    tap_uuid,
)

log = logging.getLogger(__name__)

CALLS_STREAM = "h15:calls"
LINK_DOWN_CAUSE_TEXT = "cause unknown (link down)"
UNKNOWN_NUMBERS = {"", "<unknown>", "unknown", "anonymous"}
CHANNEL_STATE_UP = "6"

# What the tracker needs; used as the AMI login event mask (system for FullyBooted).
AMI_EVENT_MASK = "system,call,dialplan,dtmf,agent"  # agent: the queue's AgentCalled

CallEvent = tuple[str, dict]


def ami_time(event: Mapping[str, str], received_at: datetime | None = None) -> datetime:
    """UTC time of an AMI event: its ``Timestamp`` (timestampevents=yes) or receipt time."""
    stamp = event.get("Timestamp")
    if stamp:
        try:
            return datetime.fromtimestamp(float(stamp), tz=UTC)
        except ValueError:
            log.warning("unparseable AMI Timestamp %r", stamp)
    return received_at or datetime.now(UTC)


@dataclass
class TrackedCall:
    """What the system knows about one call (all legs sharing a Linkedid)."""

    linkedid: str
    channel: str | None = None
    caller_number: str | None = None
    state: str = "ringing"  # ringing -> answered -> ended
    audiosocket_uuid: str | None = None
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    cause: int | None = None
    cause_text: str | None = None
    dtmf: list[str] = field(default_factory=list)
    legs: dict[str, str] = field(default_factory=dict)  # live uniqueid -> channel name
    parties: dict[str, Leg] = field(default_factory=dict)  # leg key -> leg, gone ones too
    unpublished: list[Leg] = field(default_factory=list)  # legs seen before call.ringing
    aliases: list[str] = field(default_factory=list)  # Linkedids of its taps and SHO legs
    ringing_published: bool = False
    hangup_causes: list[tuple[str, int, str]] = field(default_factory=list)

    def base_data(self, at: datetime) -> dict:
        """Fields every published event carries."""
        return {
            "linkedid": self.linkedid,
            "channel": self.channel,
            "caller_number": self.caller_number,
            "audiosocket_uuid": self.audiosocket_uuid,
            "at": at.isoformat(),
        }


def _number(value: str | None) -> str | None:
    if value is None or value.strip().lower() in UNKNOWN_NUMBERS:
        return None
    return value.strip()


def _cause(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


class CallTracker:
    """Turns AMI events into ``(event_type, data)`` call events for the ``h15:calls`` stream."""

    def __init__(
        self,
        *,
        uuid_variable: str = "AS_UUID",
        contexts: Iterable[str] | None = None,
        ended_memory: int = 10_000,
    ) -> None:
        self.uuid_variable = uuid_variable.upper()
        self.contexts = set(contexts) if contexts else None
        self.active: dict[str, TrackedCall] = {}
        self.aliases: dict[str, str] = {}  # a tap's or SHO leg's own Linkedid -> the call's
        self.expected: dict[str, tuple[str, str, str | None]] = {}  # Linkedid -> call, role, dial
        self.ended: OrderedDict[str, TrackedCall] = OrderedDict()
        self._ended_memory = ended_memory
        self.unknown_call_events = 0
        self.events_seen = 0

    # -- public ------------------------------------------------------------------------------
    def call(self, linkedid: str) -> TrackedCall | None:
        """The call with this Linkedid, active or recently ended."""
        return self.active.get(linkedid) or self.ended.get(linkedid)

    def handle(
        self, event: Mapping[str, str], received_at: datetime | None = None
    ) -> list[CallEvent]:
        """Apply one AMI event; return the call events it causes (possibly none)."""
        self.events_seen += 1
        name = event.get("Event")
        handler = _HANDLERS.get(name or "")
        if handler is None:
            return []
        linkedid = event.get("Linkedid")
        if not linkedid:
            return []
        linkedid = self.aliases.get(linkedid, linkedid)
        at = ami_time(event, received_at)
        call = self.active.get(linkedid)
        if call is None:
            if linkedid in self.ended:
                return []
            if name != "Newchannel":
                self.unknown_call_events += 1
                return []
            call = self._owner(event)
            if call is not None:
                self.aliases[linkedid] = call.linkedid
                call.aliases.append(linkedid)
            elif event.get("Context") in TAP_CONTEXTS or (
                self.contexts is not None and event.get("Context") not in self.contexts
            ):
                return []
            else:
                call = self.active[linkedid] = TrackedCall(linkedid=linkedid, ringing_at=at)
        return handler(self, call, event, at)

    def expect_leg(self, *, linkedid: str, call_linkedid: str, role: str,
                   dial: str | None = None) -> None:
        """Announce a leg we are about to originate (its ChannelId) as part of a call."""
        self.expected[linkedid] = (call_linkedid, role, dial)

    def _owner(self, event: Mapping[str, str]) -> TrackedCall | None:
        """The active call a channel with a foreign Linkedid belongs to (a tap, an SHO leg)."""
        expected = self.expected.get(event.get("Linkedid", ""))
        if expected is not None:
            return self.active.get(expected[0])
        originated = parse_leg_id(event.get("Linkedid", ""))
        if originated is not None:
            return self.active.get(originated[0])
        uuid_text = tap_uuid(event.get("Channel", ""))
        if uuid_text is None:
            return None
        return next((c for c in self.active.values()
                     if (c.audiosocket_uuid or "").lower() == uuid_text), None)

    def resync(
        self,
        channels: Iterable[Mapping[str, str]],
        at: datetime | None = None,
        *,
        candidates: set[str] | None = None,
    ) -> list[CallEvent]:
        """Reconcile with a ``CoreShowChannels`` listing taken after a reconnect.

        Calls absent from the listing ended while the link was down: they are closed with
        cause ``None`` / "cause unknown (link down)". Calls present continue; calls never
        seen are adopted. ``candidates`` limits closing to the calls active before the link
        dropped, so a call that began after the listing was taken is not closed by mistake.
        """
        from telephony.ami.resync import resync

        return resync(self, channels, at or datetime.now(UTC), candidates)

    # -- event handlers ----------------------------------------------------------------------
    def _on_newchannel(self, call: TrackedCall, event: Mapping[str, str], at: datetime):
        uniqueid = event.get("Uniqueid", "")
        channel = event.get("Channel", "")
        call.legs[uniqueid] = channel
        if uniqueid == call.linkedid:
            call.channel = channel
        return self._join(call, event, at) + self._learn_number(call, event, at)

    def _join(self, call: TrackedCall, channel: Mapping[str, str], at: datetime,
              default_role: str = "other") -> list[CallEvent]:
        """Fold a channel (a Newchannel or CoreShowChannel) into its leg, a Local pair being one
        leg; publish the leg once its role is known (a queue member's comes with AgentCalled).
        """
        uniqueid, name = channel.get("Uniqueid", ""), channel.get("Channel", "")
        key = leg_key(name)
        leg = call.parties.get(key)
        if leg is not None:
            leg.uniqueids.add(uniqueid)
            return []
        expected = self.expected.pop(channel.get("Linkedid", ""), None)
        if uniqueid == call.linkedid or (call.channel and leg_key(call.channel) == key):
            role, dial = "caller", None
        elif expected is not None:
            role, dial = expected[1], expected[2]
        elif (originated := parse_leg_id(channel.get("Linkedid", ""))) is not None:
            role, dial = originated[1], None
        elif tap_uuid(name) or channel.get("Context") in TAP_CONTEXTS:
            role, dial = "tap", key
        else:
            role, dial = default_role, None
        leg = call.parties[key] = Leg(key, role, name, at, dial=dial, uniqueids={uniqueid})
        return self._leg_event(call, leg, at) if role != "other" else []

    def _leg_of(self, call: TrackedCall, uniqueid: str) -> Leg | None:
        return next((leg for leg in call.parties.values() if uniqueid in leg.uniqueids), None)

    def _set_role(self, call: TrackedCall, uniqueid: str, role: str, dial: str | None,
                  at: datetime) -> list[CallEvent]:
        leg = self._leg_of(call, uniqueid)
        if leg is None or leg.role == "caller" or (leg.role == role and not dial):
            return []
        leg.role = role
        leg.dial = dial or leg.dial
        return self._leg_event(call, leg, at)

    def _on_agent_called(self, call: TrackedCall, event: Mapping[str, str], at: datetime):
        return self._set_role(call, event.get("DestUniqueid", ""), "call_taker",
                              event.get("Interface") or None, at)

    def _leg_event(self, call: TrackedCall, leg: Leg, at: datetime) -> list[CallEvent]:
        """``call.leg``; held back until ``call.ringing`` so a call always starts with it."""
        if not call.ringing_published:
            if leg not in call.unpublished:
                call.unpublished.append(leg)
            return []
        state = "left" if leg.left_at else f"joined-{leg.role}"
        return [self._emit(call, "call.leg", at, {"leg": leg.as_dict()},
                           id_suffix=f"{leg.key}:{state}")]

    def _on_callerid(self, call: TrackedCall, event: Mapping[str, str], at: datetime):
        return self._learn_number(call, event, at)

    def _on_newstate(self, call: TrackedCall, event: Mapping[str, str], at: datetime):
        out = self._learn_number(call, event, at)
        leg = self._leg_of(call, event.get("Uniqueid", ""))
        if event.get("ChannelState") == CHANNEL_STATE_UP and not (leg and leg.role == "tap"):
            out += self._answer(call, at)
        return out

    def _on_varset(self, call: TrackedCall, event: Mapping[str, str], at: datetime):
        variable = (event.get("Variable") or "").upper()
        if variable == ROLE_VARIABLE:
            return self._set_role(call, event.get("Uniqueid", ""), event.get("Value", "other"),
                                  None, at)
        if variable == DIAL_VARIABLE:
            leg = self._leg_of(call, event.get("Uniqueid", ""))
            if leg is not None:
                leg.dial = event.get("Value") or leg.dial
            return []
        if variable != self.uuid_variable:
            return []
        value = (event.get("Value") or "").strip()
        if not value or value == call.audiosocket_uuid:
            return []
        call.audiosocket_uuid = value
        return [self._emit(call, "call.audiosocket_linked", at)]

    def _on_dtmf_end(self, call: TrackedCall, event: Mapping[str, str], at: datetime):
        if event.get("Direction", "Received") != "Received":
            return []
        leg = self._leg_of(call, event.get("Uniqueid", ""))
        if leg is not None and leg.role != "caller":
            return []  # a call-taker's or SHO's keypad is not the caller's
        digit = event.get("Digit", "")
        call.dtmf.append(digit)
        extra = f"{event.get('Uniqueid', '')}:{event.get('Timestamp') or at.isoformat()}"
        return [self._emit(call, "call.dtmf", at, {"digit": digit}, id_suffix=extra)]

    def _on_hangup(self, call: TrackedCall, event: Mapping[str, str], at: datetime):
        uniqueid = event.get("Uniqueid", "")
        cause = _cause(event.get("Cause"))
        call.hangup_causes.append((uniqueid, cause or 0, event.get("Cause-txt", "")))
        call.legs.pop(uniqueid, None)
        out: list[CallEvent] = []
        leg = self._leg_of(call, uniqueid)
        if leg is not None:
            leg.uniqueids.discard(uniqueid)
            if not leg.uniqueids and leg.left_at is None:
                leg.left_at = at
                out += self._leg_event(call, leg, at)
        if call.legs:
            return out
        nonzero = [c for c in call.hangup_causes if c[1]]
        caller = [c for c in call.hangup_causes if c[0] == call.linkedid]
        chosen = nonzero[0] if nonzero else (caller[0] if caller else call.hangup_causes[0])
        return out + self._end(call, at, cause=chosen[1], cause_text=chosen[2] or None)

    # -- transitions -------------------------------------------------------------------------
    def _learn_number(self, call: TrackedCall, event: Mapping[str, str], at: datetime):
        if call.caller_number is None and event.get("Uniqueid") == call.linkedid:
            number = _number(event.get("CallerIDNum"))
            if number is not None:
                call.caller_number = number
        if call.caller_number is not None and not call.ringing_published:
            return self._ring(call, call.ringing_at or at)
        return []

    def _ring(self, call: TrackedCall, at: datetime) -> list[CallEvent]:
        if call.ringing_published:
            return []
        call.ringing_published = True
        out = [self._emit(call, "call.ringing", call.ringing_at or at)]
        for leg in call.unpublished:
            out += self._leg_event(call, leg, leg.joined_at)
        call.unpublished.clear()
        return out

    def _answer(self, call: TrackedCall, at: datetime) -> list[CallEvent]:
        if call.state != "ringing":
            return []
        out = self._ring(call, at)
        call.state = "answered"
        call.answered_at = at
        out.append(self._emit(call, "call.answered", at))
        return out

    def _end(
        self, call: TrackedCall, at: datetime, *, cause: int | None, cause_text: str | None
    ) -> list[CallEvent]:
        out = self._ring(call, at)
        for leg in call.parties.values():
            if leg.left_at is None:  # gone while the link was down
                leg.left_at = at
                leg.uniqueids.clear()
                out += self._leg_event(call, leg, at)
        call.state = "ended"
        call.ended_at = at
        call.cause = cause
        call.cause_text = cause_text
        self.active.pop(call.linkedid, None)
        self.ended[call.linkedid] = call
        while len(self.ended) > self._ended_memory:
            _, gone = self.ended.popitem(last=False)
            for alias in gone.aliases:
                self.aliases.pop(alias, None)
        out.append(self._emit(call, "call.ended", at, {"cause": cause, "cause_text": cause_text}))
        return out

    @staticmethod
    def _emit(
        call: TrackedCall,
        event_type: str,
        at: datetime,
        extra: dict | None = None,
        id_suffix: str = "",
    ) -> CallEvent:
        data = call.base_data(at) | (extra or {})
        suffix = f":{id_suffix}" if id_suffix else ""
        data["event_id"] = f"{call.linkedid}:{event_type}{suffix}"
        return event_type, data


_HANDLERS = {
    "Newchannel": CallTracker._on_newchannel,
    "NewCallerid": CallTracker._on_callerid,
    "NewConnectedLine": CallTracker._on_callerid,
    "Newstate": CallTracker._on_newstate,
    "VarSet": CallTracker._on_varset,
    "DTMFEnd": CallTracker._on_dtmf_end,
    "Hangup": CallTracker._on_hangup,
    "AgentCalled": CallTracker._on_agent_called,
}

# Event names the tracker acts on; the AMI protocol parses only these in full.
TRACKED_EVENTS = frozenset(_HANDLERS)
