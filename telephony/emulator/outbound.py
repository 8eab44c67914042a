"""Outbound calls placed through the emulator's AMI ``Originate`` (a call-back to the caller,
an SHO's phone brought into the call).

The captures hold only the ``Local/15@helpline`` form; for other channels the emulator plays
the same shape (``Newchannel`` Down, ``Newstate`` Up, ``OriginateResponse`` Success with
Reason 4, then ``Hangup`` when hung up). A destination listed in ``unreachable`` gets an
``OriginateResponse`` with ``Response: Failure`` and Reason 3 (no answer), as AMI documents it.
"""

from __future__ import annotations

import asyncio

from telephony.emulator.ami_server import AmiServer
from telephony.emulator.calls import Leg


class OutboundCall:
    """One originated leg: rings, answers, stays up until hung up."""

    def __init__(
        self,
        ami: AmiServer,
        *,
        channel: str,
        index: int,
        uniqueid: str,
        caller: tuple[str, str],
        context: str,
        exten: str,
        action_id: str | None,
        answer_after: float = 0.2,
        reachable: bool = True,
    ) -> None:
        self.ami = ami
        self.leg = Leg(f"{channel}-{index:08x}", uniqueid, uniqueid, 0, context, exten)
        self.leg.caller_name, self.leg.caller_num = caller
        self.action_id = action_id
        self.answer_after = answer_after
        self.reachable = reachable
        self.ended = asyncio.Event()
        self.cause = 16

    @property
    def linkedid(self) -> str:
        return self.leg.linkedid

    def legs(self) -> list[Leg]:
        return [self.leg] if self.leg.up else []

    def request_hangup(self, cause: int = 16) -> None:
        self.cause = cause
        self.ended.set()

    def _response(self, result: str, reason: str) -> None:
        fields = [("ActionID", self.action_id)] if self.action_id is not None else []
        fields += [
            ("Response", result),
            ("Channel", self.leg.channel),
            ("Context", self.leg.context),
            ("Exten", self.leg.exten),
            ("Reason", reason),
            ("Uniqueid", self.leg.uniqueid if result == "Success" else "<null>"),
            ("CallerIDNum", self.leg.caller_num),
            ("CallerIDName", self.leg.caller_name),
        ]
        self.ami.broadcast("OriginateResponse", "call", fields)

    async def run(self) -> None:
        if not self.reachable:
            await asyncio.sleep(self.answer_after)
            self.leg.up = False
            self._response("Failure", "3")
            return
        self.ami.broadcast("Newchannel", "call", self.leg.fields())
        await asyncio.sleep(self.answer_after)
        self.leg.state = 6
        self.ami.broadcast("Newstate", "call", self.leg.fields())
        self._response("Success", "4")
        await self.ended.wait()
        text = "Normal Clearing" if self.cause == 16 else "Unknown"
        self.ami.broadcast(
            "Hangup", "call", self.leg.fields() + [("Cause", str(self.cause)), ("Cause-txt", text)]
        )
        self.leg.up = False
