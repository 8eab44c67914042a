"""Punjab Emergency I: bring the SHO's phone into a live 15 call (Asterisk ConfBridge).

The first request moves the caller and the call-taker out of the queue's two-party bridge into
a conference named after the call (AMI ``Redirect`` to ``[helpline-conference]``: ``C<linkedid>``
for the caller, ``S<linkedid>`` for staff), then rings the SHO's dial string into it with AMI
``Originate`` and the ChannelId ``<linkedid>-sho<n>``, so the tracker knows the new channel
for a leg of the call. The caller is the conference's marked user and staff are ``end_marked``:
the call-taker may leave while caller and SHO talk on, and when the caller hangs up the
conference ends. The caller's tap follows the caller (Redirect keeps the channel), so the
caller's transcript never holds the SHO's words.

Outcomes are ``call.conference`` events on ``h15:calls``: ``ringing``, then ``answered`` or
``unanswered`` (with AMI's reason) or ``failed``; joins and leaves are the tracker's
``call.leg`` events.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telephony.ami.client import AmiClient, AmiNotConnected, Publish
from telephony.ami.legs import leg_id
from telephony.ami.tracker import CALLS_STREAM, CallTracker, TrackedCall

log = logging.getLogger(__name__)

CONFERENCE_CONTEXT = "helpline-conference"
# Originate's Reason codes (AMI): why a phone did not come into the call
ORIGINATE_REASONS = {"0": "failed", "1": "hung up", "3": "no answer", "5": "busy",
                     "8": "congestion or unreachable"}


@dataclass
class ConferenceRequest:
    linkedid: str
    dial: str
    request_id: str
    role: str = "sho"
    label: str | None = None  # who is being called, for the console ("SHO Civil Lines")
    answer_timeout_s: float = 30.0


def _dialplan_channel(call: TrackedCall, role: str, half: str) -> str | None:
    """The live channel of a leg that sits in the bridge (a Local pair's ``half``)."""
    channels = [c for leg in call.parties.values() if leg.role == role and leg.left_at is None
                for uid, c in call.legs.items() if uid in leg.uniqueids]
    return next((c for c in channels if c.endswith(half)), channels[0] if channels else None)


async def redirect(client: AmiClient, channel: str, *, context: str, exten: str,
                   extra: tuple[str, str] | None = None) -> dict:
    """AMI ``Redirect``: move a channel (and ``extra``: (channel, exten) in the same context)
    out of its bridge to ``context,exten,1``; Asterisk 22 keeps the channels (no masquerade),
    so a ChanSpy tap on the caller follows it."""
    manager = client._manager
    if manager is None or not client.ready.is_set():
        raise AmiNotConnected("no authenticated AMI link")
    action = {"Action": "Redirect", "Channel": channel, "Context": context, "Exten": exten,
              "Priority": "1"}
    if extra is not None:
        action |= {"ExtraChannel": extra[0], "ExtraContext": context, "ExtraExten": extra[1],
                   "ExtraPriority": "1"}
    reply = await asyncio.wait_for(manager.send_action(action), client.login_timeout)
    return dict(reply[0] if isinstance(reply, list) else reply)


class Conference:
    """Runs conference requests on the gateway's AMI link; see the module docstring."""

    def __init__(self, ami: AmiClient, tracker: CallTracker, publish: Publish,
                 stream: str = CALLS_STREAM) -> None:
        self.ami, self.tracker, self.publish, self.stream = ami, tracker, publish, stream
        self.conferenced: set[str] = set()

    async def _report(self, request: ConferenceRequest, status: str, **extra: object) -> None:
        data = {"linkedid": request.linkedid, "request_id": request.request_id,
                "role": request.role, "dial": request.dial, "label": request.label,
                "status": status, "event_id": f"{request.request_id}:{status}"} | extra
        log.info("call %s: %s %s (%s) %s%s", request.linkedid, request.role,
                 request.label or "", request.dial, status,
                 f": {extra['reason']}" if extra.get("reason") else "")
        await self.publish(self.stream, "call.conference", data)

    async def add(self, request: ConferenceRequest) -> str:
        """Bring ``request.dial`` into the call; returns the final status."""
        self.conferenced &= set(self.tracker.active)
        call = self.tracker.active.get(request.linkedid)
        if call is None:
            await self._report(request, "failed", reason="the call is not live")
            return "failed"
        try:
            if request.linkedid not in self.conferenced:
                await self._into_conference(call)
            n = 1 + sum(1 for leg in call.parties.values() if leg.role == request.role)
            channel_id = leg_id(call.linkedid, request.role, n)
            self.tracker.expect_leg(linkedid=channel_id, call_linkedid=call.linkedid,
                                    role=request.role, dial=request.dial)
            await self._report(request, "ringing", channel_id=channel_id)
            result = await self.ami.originate(
                request.dial, context=CONFERENCE_CONTEXT, exten=f"S{call.linkedid}",
                caller_id=f'"15 {call.caller_number or ""}" <15>', channel_id=channel_id,
                timeout_s=request.answer_timeout_s, variables={"H15_ROLE": request.role},
            )
        except (AmiNotConnected, TimeoutError) as exc:
            await self._report(request, "failed", reason=f"AMI: {exc or 'timeout'}")
            return "failed"
        if result.success:
            await self._report(request, "answered", channel_id=channel_id)
            return "answered"
        self.tracker.expected.pop(channel_id, None)
        reason = ORIGINATE_REASONS.get(result.reason or "", result.message or "failed")
        await self._report(request, "unanswered", reason=reason, ami_reason=result.reason)
        return "unanswered"

    async def _into_conference(self, call: TrackedCall) -> None:
        caller = _dialplan_channel(call, "caller", ";2")
        if caller is None:
            raise AmiNotConnected("the caller's channel is gone")
        taker = _dialplan_channel(call, "call_taker", ";1")
        reply = await redirect(self.ami, caller, context=CONFERENCE_CONTEXT,
                               exten=f"C{call.linkedid}",
                               extra=(taker, f"S{call.linkedid}") if taker else None)
        if reply.get("Response") != "Success":
            raise AmiNotConnected(f"Redirect refused: {reply.get('Message')}")
        self.conferenced.add(call.linkedid)
