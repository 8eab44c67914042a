"""Resync after a (re)connect: the tracker's calls against Asterisk's ``CoreShowChannels``.

Calls absent from the listing ended while the link was down: they are closed with cause
``None`` / "cause unknown (link down)". Calls present continue; calls never seen are adopted,
with their legs: a tap is folded into its caller's call by the channel its ChanSpy names (a
gateway that just started knows no AudioSocket UUID yet), an SHO leg by its ChannelId, and the
other legs of a caller waiting in a queue or a conference are call-takers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from telephony.ami.legs import leg_key, parse_leg_id
from telephony.ami.tracker import (
    CHANNEL_STATE_UP,
    LINK_DOWN_CAUSE_TEXT,
    CallEvent,
    CallTracker,
    TrackedCall,
    _number,
)


def resync(tracker: CallTracker, channels: Iterable[Mapping[str, str]], at: datetime,
           candidates: set[str] | None) -> list[CallEvent]:
    """See :meth:`CallTracker.resync`."""
    by_call: dict[str, list[Mapping[str, str]]] = {}
    for channel in channels:
        linkedid = channel.get("Linkedid")
        if linkedid:
            originated = parse_leg_id(linkedid)  # an SHO leg: its call's Linkedid is in it
            owner = tracker.aliases.get(linkedid) or (originated[0] if originated else linkedid)
            by_call.setdefault(owner, []).append(channel)
    _fold_taps(tracker, by_call)
    out: list[CallEvent] = []
    for linkedid in list(tracker.active):
        if linkedid not in by_call and (candidates is None or linkedid in candidates):
            call = tracker.active[linkedid]
            out += tracker._end(call, at, cause=None, cause_text=LINK_DOWN_CAUSE_TEXT)
    for linkedid, legs in by_call.items():
        if linkedid in tracker.ended:
            continue
        call = tracker.active.get(linkedid)
        adopted = call is None
        if call is None:
            if not any(leg.get("Uniqueid") == linkedid for leg in legs) or (
                tracker.contexts is not None
                and not any(leg.get("Context") in tracker.contexts for leg in legs)
            ):
                continue  # a tap or SHO leg whose call is gone, or not a 15 call
            call = tracker.active[linkedid] = TrackedCall(linkedid=linkedid, ringing_at=at)
            call.aliases = [a for a, owner in tracker.aliases.items() if owner == linkedid]
        call.legs = {
            leg["Uniqueid"]: leg.get("Channel", "") for leg in legs if "Uniqueid" in leg
        }
        # legs other than the caller's and the tap's are call-takers while the caller is in
        # the queue or its conference (a Local caller runs the Queue on its ;2 half)
        queued = any(leg.get("Application") in ("Queue", "ConfBridge") for leg in legs)
        for leg in sorted(legs, key=lambda leg: leg.get("Uniqueid") != linkedid):
            if leg.get("Uniqueid") == linkedid:
                call.channel = leg.get("Channel")
            call.caller_number = call.caller_number or _number(leg.get("CallerIDNum"))
            if leg.get("Application") == "AudioSocket" and not call.audiosocket_uuid:
                uuid_text = (leg.get("ApplicationData") or leg.get("Data") or "").split(",")[0]
                if uuid_text:
                    call.audiosocket_uuid = uuid_text.strip()
                    out.append(tracker._emit(call, "call.audiosocket_linked", at))
        live_keys = set()
        for leg in sorted(legs, key=lambda leg: leg.get("Uniqueid") != linkedid):
            live_keys.add(leg_key(leg.get("Channel", "")))
            out += tracker._join(call, leg, at, "call_taker" if queued else "other")
        for party in call.parties.values():
            if party.key not in live_keys and party.left_at is None:
                party.left_at, party.uniqueids = at, set()
                out += tracker._leg_event(call, party, at)
        if any(leg.get("ChannelState") == CHANNEL_STATE_UP for leg in legs):
            out += tracker._answer(call, at)
        else:
            out += tracker._ring(call, at)
        data = call.base_data(at) | {"state": call.state, "adopted": adopted}
        data["event_id"] = f"{linkedid}:call.resynced:{at.isoformat()}"
        out.append(("call.resynced", data))
    return out


def _fold_taps(tracker: CallTracker, by_call: dict[str, list[Mapping[str, str]]]) -> None:
    """Move each listed tap into its caller's group: the tap's ChanSpy names the caller's
    channel (a gateway that just started knows no AudioSocket UUID yet)."""
    owner_of = {leg.get("Channel", ""): lid for lid, legs in by_call.items() for leg in legs}
    for linkedid in list(by_call):
        for leg in by_call[linkedid]:
            if leg.get("Application") != "ChanSpy":
                continue
            spied = (leg.get("ApplicationData") or leg.get("Data") or "").split(",")[0]
            owner = owner_of.get(spied.strip())
            if owner and owner != linkedid and owner in by_call:
                by_call[owner].extend(by_call.pop(linkedid))
                tracker.aliases[linkedid] = owner
                if owner in tracker.active:
                    tracker.active[owner].aliases.append(linkedid)
                break
