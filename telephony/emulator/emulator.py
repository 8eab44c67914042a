"""A protocol-faithful Asterisk stand-in: AMI server plus AudioSocket client.

Used by the tests, the demo and call-taker training where no Asterisk runs. In-process use::

    emulator = AsteriskEmulator("127.0.0.1", 0, "127.0.0.1:9092", "dispatch", "secret")
    await emulator.start()                 # emulator.ami_port holds the bound port
    linkedid = await emulator.place_call("03001234567", Path("report.wav"))
    outcome = await emulator.wait_call(linkedid)
    await emulator.stop()
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import wave
from pathlib import Path

from telephony.emulator.ami_server import AmiServer, AmiSession, Pairs
from telephony.emulator.calls import CallOutcome, CallPlan, EmulatedCall
from telephony.emulator.outbound import OutboundCall

log = logging.getLogger(__name__)
_CALLERID = re.compile(r'^\s*"?(?P<name>[^"<]*?)"?\s*<(?P<number>[^>]*)>\s*$')


def read_wav_pcm(path: Path) -> bytes:
    """8 kHz mono s16le PCM of a WAV file; anything else is refused with a clear error."""
    with wave.open(str(path), "rb") as wav:
        if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (8000, 1, 2):
            raise ValueError(
                f"{path}: need 8 kHz mono 16-bit WAV (slin), got {wav.getframerate()} Hz, "
                f"{wav.getnchannels()} channel(s), {8 * wav.getsampwidth()}-bit"
            )
        return wav.readframes(wav.getnframes())


def parse_callerid(value: str) -> tuple[str, str]:
    """``"Caller" <03001234567>`` -> (name, number)."""
    match = _CALLERID.match(value or "")
    if not match:
        return "", (value or "").strip()
    return match["name"].strip(), match["number"].strip()


class AsteriskEmulator:
    """AMI on ``ami_host:ami_port`` and calls streamed to the AudioSocket server."""

    def __init__(
        self,
        ami_host: str = "127.0.0.1",
        ami_port: int = 5038,
        audiosocket_addr: str = "127.0.0.1:9092",
        username: str = "dispatch",
        secret: str = "dispatch",
        *,
        default_wav: Path | None = None,
        auth_fail_delay: float = 1.0,
        silence_timeout: float = 2.0,
        context: str = "helpline",
        exten: str = "15",
    ) -> None:
        host, _, port = audiosocket_addr.rpartition(":")
        self.audiosocket = (host or "127.0.0.1", int(port))
        self.ami = AmiServer(
            ami_host, ami_port, {username: secret}, auth_fail_delay=auth_fail_delay
        )
        self.default_wav = default_wav
        self.silence_timeout = silence_timeout
        self.context = context
        self.exten = exten
        self.calls: dict[str, EmulatedCall] = {}
        self.finished: dict[str, CallOutcome] = {}
        self.outbound: dict[str, OutboundCall] = {}
        self.unreachable: set[str] = set()  # Originate channels that do not answer
        self._tasks: set[asyncio.Task] = set()
        self._index = 0
        self._sequence = 0
        self._uniqueid_base = int(time.time())
        self.ami.extra_actions.update(
            originate=self._action_originate,
            hangup=self._action_hangup,
            coreshowchannels=self._action_core_show_channels,
            status=self._action_status,
        )

    @property
    def ami_port(self) -> int:
        return self.ami.port

    async def start(self) -> None:
        await self.ami.start()

    async def stop(self) -> None:
        for call in [*self.calls.values(), *self.outbound.values()]:
            call.request_hangup(16)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        await self.ami.stop()

    # calls --------------------------------------------------------------------------------
    async def place_call(
        self,
        caller_number: str,
        wav_path: Path | None = None,
        *,
        caller_name: str = "Caller",
        pcm: bytes | None = None,
        silence_before_s: float = 0.0,
        hold_after_s: float = 0.0,
        dtmf: list[tuple[float, str]] | None = None,
        fault: str | None = None,
        drop_first_frame: bool = False,
        originate_action_id: str | None = None,
        application_data: str | None = None,
    ) -> str:
        """Start an inbound call to 15 and return its Linkedid (the call runs in background)."""
        if pcm is None:
            source = wav_path or self.default_wav
            pcm = read_wav_pcm(source) if source is not None else b""
        plan = CallPlan(
            caller_number=caller_number,
            caller_name=caller_name,
            pcm=pcm,
            silence_before_s=silence_before_s,
            hold_after_s=hold_after_s,
            dtmf=dtmf or [],
            fault=fault,
            drop_first_frame=drop_first_frame,
            originate_action_id=originate_action_id,
        )
        if application_data is not None:
            plan.application_data = application_data
        call = EmulatedCall(
            self.ami,
            plan,
            index=self._index,
            uniqueid_base=self._uniqueid_base,
            sequence=self._sequence,
            audiosocket=self.audiosocket,
            context=self.context,
            exten=self.exten,
            silence_timeout=self.silence_timeout,
        )
        self._index += 1
        self._sequence += 2
        self.calls[call.linkedid] = call
        task = asyncio.create_task(self._run(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.sleep(0)
        return call.linkedid

    async def _run(self, call: EmulatedCall) -> None:
        try:
            await call.run()
        except Exception:
            log.exception("emulated call %s failed", call.linkedid)
        finally:
            self.calls.pop(call.linkedid, None)
            self.finished[call.linkedid] = call.outcome

    async def wait_call(self, linkedid: str, timeout: float = 60.0) -> CallOutcome:
        """Wait for a call to end; returns what the caller side saw."""
        call = self.calls.get(linkedid)
        if call is None:
            return self.finished[linkedid]
        await asyncio.wait_for(call.outcome.done.wait(), timeout)
        return call.outcome

    async def hangup(self, linkedid: str, cause: int = 16) -> bool:
        """Hang a call up from the switch side; False if it is not up."""
        outbound = self.outbound.get(linkedid)
        if outbound is not None:
            outbound.request_hangup(cause)
            return True
        call = self.calls.get(linkedid)
        if call is None:
            return False
        call.request_hangup(cause)
        await call.outcome.done.wait()
        return True

    async def drop_ami_clients(self, refuse_for: float = 0.0) -> None:
        """Cut every AMI connection; optionally refuse new ones for ``refuse_for`` seconds."""
        if refuse_for > 0:
            await self.ami.stop_listening()
        self.ami.drop_sessions()
        if refuse_for > 0:
            await asyncio.sleep(refuse_for)
            await self.ami.start()

    # AMI actions --------------------------------------------------------------------------
    async def _action_originate(self, session: AmiSession, action: dict[str, str]) -> None:
        head: Pairs = [("ActionID", action["actionid"])] if "actionid" in action else []
        channel = action.get("channel", "")
        if not channel.lower().startswith(f"local/{self.exten}@{self.context}"):
            if "/" not in channel:
                session.send([("Response", "Error"), *head, ("Message", "Invalid channel")])
                return
            session.send(
                [("Response", "Success"), *head, ("Message", "Originate successfully queued")]
            )
            self._start_outbound(channel, action)
            return
        name, number = parse_callerid(action.get("callerid", ""))
        data = action.get("data", "")
        wav = Path(data) if data and Path(data).is_file() else self.default_wav
        if wav is None and data and Path(data + ".wav").is_file():
            wav = Path(data + ".wav")
        session.send([("Response", "Success"), *head, ("Message", "Originate successfully queued")])
        await self.place_call(
            number or "<unknown>",
            wav,
            caller_name=name or "<unknown>",
            originate_action_id=action.get("actionid"),
            application_data=data,
        )

    def _start_outbound(self, channel: str, action: dict[str, str]) -> None:
        name, number = parse_callerid(action.get("callerid", ""))
        call = OutboundCall(
            self.ami,
            channel=channel,
            index=self._index,
            uniqueid=f"{self._uniqueid_base}.{self._sequence}",
            caller=(name or "<unknown>", number or "<unknown>"),
            context=action.get("context", "default"),
            exten=action.get("exten", "s"),
            action_id=action.get("actionid"),
            reachable=channel not in self.unreachable,
        )
        self._index += 1
        self._sequence += 1
        self.outbound[call.linkedid] = call
        task = asyncio.create_task(call.run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _t: self.outbound.pop(call.linkedid, None))

    async def _action_hangup(self, session: AmiSession, action: dict[str, str]) -> None:
        head: Pairs = [("ActionID", action["actionid"])] if "actionid" in action else []
        channel = action.get("channel", "")
        for call in [*self.calls.values(), *self.outbound.values()]:
            if channel in {leg.channel for leg in call.legs()}:
                call.request_hangup(int(action.get("cause", "16") or 16))
                session.send([("Response", "Success"), *head, ("Message", "Channel Hungup")])
                return
        session.send([("Response", "Error"), *head, ("Message", "No such channel")])

    def _legs(self):
        calls = [*self.calls.values(), *self.outbound.values()]
        return [leg for call in calls for leg in call.legs()]

    def _duration(self, linkedid: str) -> int:
        return max(0, int(time.time()) - int(float(linkedid)))

    async def _action_core_show_channels(self, session: AmiSession, action: dict[str, str]):
        action_id = action.get("actionid", "")
        session.send(
            [
                ("Response", "Success"),
                ("ActionID", action_id),
                ("EventList", "start"),
                ("Message", "Channels will follow"),
            ]
        )
        legs = self._legs()
        for leg in legs:
            seconds = self._duration(leg.linkedid)
            session.send(
                [
                    ("Event", "CoreShowChannel"),
                    ("ActionID", action_id),
                    *leg.fields(),
                    ("Application", leg.application),
                    ("ApplicationData", leg.app_data),
                    ("Duration", time.strftime("%H:%M:%S", time.gmtime(seconds))),
                    ("BridgeId", ""),
                ]
            )
        session.send(
            [
                ("Event", "CoreShowChannelsComplete"),
                ("ActionID", action_id),
                ("EventList", "Complete"),
                ("ListItems", str(len(legs))),
            ]
        )

    async def _action_status(self, session: AmiSession, action: dict[str, str]) -> None:
        action_id = action.get("actionid", "")
        session.send(
            [
                ("Response", "Success"),
                ("ActionID", action_id),
                ("EventList", "start"),
                ("Message", "Channel status will follow"),
            ]
        )
        legs = self._legs()
        for leg in legs:
            session.send(
                [
                    ("Event", "Status"),
                    ("Privilege", "Call"),
                    *leg.fields(),
                    ("Type", "Local"),
                    ("DNID", ""),
                    ("EffectiveConnectedLineNum", leg.connected_num),
                    ("EffectiveConnectedLineName", leg.connected_name),
                    ("TimeToHangup", "0"),
                    ("BridgeID", ""),
                    ("Application", leg.application),
                    ("Data", leg.app_data),
                    ("Nativeformats", "(slin)"),
                    ("Readformat", "slin"),
                    ("Readtrans", ""),
                    ("Writeformat", "slin"),
                    ("Writetrans", ""),
                    ("Callgroup", "0"),
                    ("Pickupgroup", "0"),
                    ("Seconds", str(self._duration(leg.linkedid))),
                    ("ActionID", action_id),
                ]
            )
        session.send(
            [
                ("Event", "StatusComplete"),
                ("ActionID", action_id),
                ("EventList", "Complete"),
                ("ListItems", str(len(legs))),
                ("Items", str(len(legs))),
            ]
        )
