"""One emulated inbound call: the AMI event sequence of ``ami/single_call.txt`` and the
AudioSocket stream Asterisk sends, with the fault behaviour the captures show.

The call is the Local channel pair Asterisk creates for ``Originate Local/15@helpline``:
``;1`` plays the caller's audio, ``;2`` runs the ``helpline`` dialplan (NoOp, Set AS_UUID,
Answer, AudioSocket). Endings reproduce the captures:

* audio finished -> the socket is closed (no hangup frame), causes 0 (``single_call``);
* the server sent a HANGUP frame -> dialplan NoOp/Hangup, cause 16 (``server_hangup_frame``);
* nothing listening, or 2 s with no frame either way -> hung up, cause 0
  (``fault_no_audiosocket_server``, ``extra_silent_caller``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuid_module
from collections.abc import Sequence
from dataclasses import dataclass, field

from telephony.audiosocket import FRAME_BYTES, KIND_AUDIO, KIND_DTMF, KIND_HANGUP, encode_frame
from telephony.emulator.ami_server import AmiServer, Pairs

log = logging.getLogger(__name__)
FRAME_SECONDS = FRAME_BYTES / 16000
STATE_DESC = {0: "Down", 4: "Ring", 6: "Up"}


@dataclass
class Leg:
    """One channel of the Local pair."""

    channel: str
    uniqueid: str
    linkedid: str
    state: int
    context: str
    exten: str
    priority: int = 1
    caller_num: str = "<unknown>"
    caller_name: str = "<unknown>"
    connected_num: str = "<unknown>"
    connected_name: str = "<unknown>"
    application: str = ""
    app_data: str = ""
    up: bool = True

    def fields(self, prefix: str = "") -> Pairs:
        """The channel block every call event carries, in Asterisk's order."""
        pairs = [
            ("Channel", self.channel),
            ("ChannelState", str(self.state)),
            ("ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            ("CallerIDNum", self.caller_num),
            ("CallerIDName", self.caller_name),
            ("ConnectedLineNum", self.connected_num),
            ("ConnectedLineName", self.connected_name),
            ("Language", "en"),
            ("AccountCode", ""),
            ("Context", self.context),
            ("Exten", self.exten),
            ("Priority", str(self.priority)),
            ("Uniqueid", self.uniqueid),
            ("Linkedid", self.linkedid),
        ]
        return [(prefix + key, value) for key, value in pairs]


@dataclass
class CallPlan:
    """What the caller does: speak a PCM buffer, stay silent, press keys, or misbehave."""

    caller_number: str
    caller_name: str = "Caller"
    pcm: bytes = b""
    silence_before_s: float = 0.0
    hold_after_s: float = 0.0
    dtmf: Sequence[tuple[float, str]] = ()  # (seconds after audio starts, digit)
    fault: str | None = None  # "malformed_frame" | "truncated_frame" | None
    drop_first_frame: bool = False  # 6 of 29 real connections lost their first 20 ms
    application: str = "Playback"
    application_data: str = "/var/lib/asterisk/sounds/custom/accident_report"
    originate_action_id: str | None = None


@dataclass
class CallOutcome:
    """What happened, for tests and the demo."""

    linkedid: str
    audiosocket_uuid: str
    bytes_sent: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    end: str = ""
    cause: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


class EmulatedCall:
    """Runs one call against an :class:`AmiServer` and an AudioSocket server."""

    def __init__(
        self,
        ami: AmiServer,
        plan: CallPlan,
        *,
        index: int,
        uniqueid_base: int,
        sequence: int,
        audiosocket: tuple[str, int],
        context: str = "helpline",
        exten: str = "15",
        uuid_variable: str = "AS_UUID",
        silence_timeout: float = 2.0,
    ) -> None:
        self.ami = ami
        self.plan = plan
        self.audiosocket = audiosocket
        self.uuid_variable = uuid_variable
        self.silence_timeout = silence_timeout
        linkedid = f"{uniqueid_base}.{sequence}"
        base = f"Local/{exten}@{context}-{index:08x}"
        self.one = Leg(f"{base};1", linkedid, linkedid, 0, context, exten)
        self.two = Leg(f"{base};2", f"{uniqueid_base}.{sequence + 1}", linkedid, 4, context, exten)
        self.uuid = str(uuid_module.uuid4())
        self.outcome = CallOutcome(linkedid=linkedid, audiosocket_uuid=self.uuid)
        self._hangup_request: int | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def linkedid(self) -> str:
        return self.one.linkedid

    def legs(self) -> list[Leg]:
        return [leg for leg in (self.one, self.two) if leg.up]

    def event(self, name: str, event_class: str, fields: Pairs) -> None:
        self.ami.broadcast(name, event_class, fields)

    def request_hangup(self, cause: int = 16) -> None:
        """AMI ``Hangup`` action: end the call from the switch side."""
        self._hangup_request = cause
        if self._writer is not None:
            self._writer.close()

    # set-up -------------------------------------------------------------------------------
    def _setup_events(self) -> None:
        one, two, plan = self.one, self.two, self.plan
        self.event("Newchannel", "call", one.fields())
        self.event("Newchannel", "call", two.fields())
        self.event(
            "Newexten",
            "dialplan",
            one.fields()
            + [
                ("Extension", one.exten),
                ("Application", "AppDial2"),
                ("AppData", "(Outgoing Line)"),
            ],
        )
        one.caller_num, one.caller_name = plan.caller_number, plan.caller_name
        self.event(
            "NewCallerid",
            "call",
            one.fields() + [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
        )
        one.connected_num, one.connected_name = plan.caller_number, plan.caller_name
        self.event("NewConnectedLine", "call", one.fields())
        two.caller_num, two.caller_name = plan.caller_number, plan.caller_name
        two.connected_num, two.connected_name = plan.caller_number, plan.caller_name
        self.event(
            "NewCallerid",
            "call",
            two.fields() + [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
        )
        self.event("NewConnectedLine", "call", two.fields())
        self.event(
            "LocalBridge",
            "call",
            one.fields("LocalOne")
            + two.fields("LocalTwo")
            + [("Context", one.context), ("Exten", one.exten), ("LocalOptimization", "Yes")],
        )
        self.event(
            "DialBegin", "call", one.fields("Dest") + [("DialString", f"{one.exten}@{one.context}")]
        )
        callerid = f'"{plan.caller_name}" <{plan.caller_number}>'
        self._newexten(two, 1, "NoOp", f"Helpline 15 call from {callerid}")
        self._newexten(two, 2, "Set", f"{self.uuid_variable}={self.uuid}")
        self.event(
            "VarSet",
            "dialplan",
            two.fields() + [("Variable", self.uuid_variable), ("Value", self.uuid)],
        )
        self._newexten(two, 3, "Answer", "")
        one.state = 6
        self.event("Newstate", "call", one.fields())
        self.event("DialEnd", "call", one.fields("Dest") + [("DialStatus", "ANSWER")])
        two.state = 6
        self.event("Newstate", "call", two.fields())
        one.application, one.app_data = plan.application, plan.application_data
        if plan.originate_action_id is not None:
            self.event(
                "OriginateResponse",
                "call",
                [
                    ("ActionID", plan.originate_action_id),
                    ("Response", "Success"),
                    ("Channel", one.channel),
                    ("Application", plan.application),
                    ("Data", plan.application_data),
                    ("Reason", "4"),
                    ("Uniqueid", one.uniqueid),
                    ("CallerIDNum", plan.caller_number),
                    ("CallerIDName", plan.caller_name),
                ],
            )
        host, port = self.audiosocket
        self._newexten(two, 4, "AudioSocket", f"{self.uuid},{host}:{port}")

    def _newexten(self, leg: Leg, priority: int, application: str, data: str) -> None:
        leg.priority, leg.application, leg.app_data = priority, application, data
        self.event(
            "Newexten",
            "dialplan",
            leg.fields()
            + [("Extension", leg.exten), ("Application", application), ("AppData", data)],
        )

    # run ----------------------------------------------------------------------------------
    async def run(self) -> CallOutcome:
        try:
            self._setup_events()
            try:
                reader, writer = await asyncio.open_connection(*self.audiosocket)
            except OSError as exc:
                log.warning(
                    "Failed to connect to AudioSocket service %s: %s", self.audiosocket, exc
                )
                self.outcome.end = "audiosocket refused"
                self._end_failed()
                return self.outcome
            self._writer = writer
            end = await self._stream(reader, writer)
            self.outcome.end = end
            if self._hangup_request is not None:
                self._end_requested(self._hangup_request)
            elif end == "server hangup frame":
                self._end_dialplan_hangup()
            elif end in ("inactivity timeout", "server closed"):
                self._end_failed()
            else:
                self._end_normal()
            return self.outcome
        finally:
            self.outcome.done.set()

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
        loop = asyncio.get_running_loop()
        last_activity = [loop.time()]
        hangup_frame = asyncio.Event()
        listener = asyncio.create_task(self._listen(reader, last_activity, hangup_frame))
        plan = self.plan
        try:
            writer.write(encode_frame(0x01, uuid_module.UUID(self.uuid).bytes))
            chunks = [plan.pcm[i : i + FRAME_BYTES] for i in range(0, len(plan.pcm), FRAME_BYTES)]
            dtmf = sorted(plan.dtmf)
            start = loop.time() + plan.silence_before_s
            total = len(chunks) * FRAME_SECONDS + plan.hold_after_s
            sent_index = 0
            while True:
                if hangup_frame.is_set():
                    return "server hangup frame"
                if self._hangup_request is not None or writer.is_closing():
                    return "hangup requested"
                if listener.done() and not hangup_frame.is_set():
                    return "server closed"
                now = loop.time()
                if now - last_activity[0] > self.silence_timeout:
                    return "inactivity timeout"
                elapsed = now - start
                while dtmf and elapsed >= dtmf[0][0]:
                    self._send_dtmf(writer, dtmf.pop(0)[1])
                    last_activity[0] = now
                due = min(len(chunks), int(elapsed / FRAME_SECONDS) + 1) if elapsed >= 0 else 0
                while sent_index < due:
                    chunk = chunks[sent_index]
                    sent_index += 1
                    if sent_index == 1 and plan.drop_first_frame:
                        continue
                    writer.write(encode_frame(KIND_AUDIO, chunk))
                    self.outcome.frames_sent += 1
                    self.outcome.bytes_sent += len(chunk)
                    last_activity[0] = now
                if elapsed >= total and not dtmf:
                    break
                await asyncio.sleep(FRAME_SECONDS / 2 if elapsed >= 0 else min(-elapsed, 0.01))
            if plan.fault == "malformed_frame":
                writer.write(bytes([0x7E, 0, 4]) + b"junk")
            elif plan.fault == "truncated_frame":
                writer.write(bytes([KIND_AUDIO, 0x01, 0x40]) + bytes(100))
            with contextlib.suppress(ConnectionError):
                await writer.drain()
                # half-close and read what the server still sends, so closing does not turn
                # unread silence frames into a TCP reset that could cost the last audio
                if writer.can_write_eof():
                    writer.write_eof()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(listener), 1.0)
            return plan.fault or "caller finished"
        except ConnectionError:
            return "server closed"
        finally:
            writer.close()
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, EOFError):
                await listener

    def _send_dtmf(self, writer: asyncio.StreamWriter, digit: str) -> None:
        fields = self.two.fields() + [("Digit", digit), ("Direction", "Received")]
        self.event("DTMFBegin", "dtmf", fields)
        writer.write(encode_frame(KIND_DTMF, digit.encode()))
        self.event(
            "DTMFEnd",
            "dtmf",
            self.two.fields()
            + [("Digit", digit), ("DurationMs", "100"), ("Direction", "Received")],
        )

    async def _listen(self, reader: asyncio.StreamReader, last: list[float], hangup: asyncio.Event):
        """Frames the server sends back (silence keeps the call alive; HANGUP ends it)."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                header = await reader.readexactly(3)
                length = int.from_bytes(header[1:3], "big")
                if length:
                    await reader.readexactly(length)
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # the server closed its side
            self.outcome.frames_received += 1
            last[0] = loop.time()
            if header[0] == KIND_HANGUP:
                hangup.set()
                return

    # endings (event order as captured) -----------------------------------------------------
    def _hangup(self, leg: Leg, cause: int) -> None:
        text = "Normal Clearing" if cause == 16 else "Unknown"
        self.event("Hangup", "call", leg.fields() + [("Cause", str(cause)), ("Cause-txt", text)])
        leg.up = False
        self.outcome.cause = cause

    def _playback_status(self) -> None:
        self.event(
            "VarSet",
            "dialplan",
            self.one.fields() + [("Variable", "PLAYBACKSTATUS"), ("Value", "SUCCESS")],
        )

    def _end_normal(self) -> None:
        self._playback_status()
        self.event("HangupRequest", "call", self.two.fields() + [("Cause", "0")])
        self.event("SoftHangupRequest", "call", self.two.fields() + [("Cause", "16")])
        self._hangup(self.two, 0)
        self._hangup(self.one, 0)

    def _end_failed(self) -> None:
        self.event("SoftHangupRequest", "call", self.two.fields() + [("Cause", "16")])
        self.event("HangupRequest", "call", self.one.fields() + [("Cause", "0")])
        self._playback_status()
        self._hangup(self.two, 0)
        self._hangup(self.one, 0)

    def _end_dialplan_hangup(self) -> None:
        self._newexten(self.two, 5, "NoOp", "AudioSocket returned, hanging up")
        self._newexten(self.two, 6, "Hangup", "")
        self.event("SoftHangupRequest", "call", self.two.fields() + [("Cause", "16")])
        self.event("HangupRequest", "call", self.one.fields() + [("Cause", "16")])
        self._hangup(self.two, 16)
        self._playback_status()
        self._hangup(self.one, 16)

    def _end_requested(self, cause: int) -> None:
        self.event("HangupRequest", "call", self.one.fields() + [("Cause", str(cause))])
        self._hangup(self.two, cause)
        self._hangup(self.one, cause)
