"""Scripted call scenarios for the emulator (TOML or JSON), for tests, the demo and training.

Example (``calls.toml``)::

    [[call]]
    caller = "03001234567"
    wav = "accident_report.wav"     # relative to the script file
    at = 0.0                        # seconds after the script starts
    count = 20                      # a burst: this many concurrent callers (numbers +1 each)
    silence_before = 0.0            # caller silent before speaking (Asterisk sends no frames)
    hold_after = 0.0                # stay on the line after the audio
    dtmf = [[1.0, "1"], [1.5, "5"]] # [seconds after audio start, digit]
    fault = "malformed_frame"       # or "truncated_frame"; omit for a normal call
    drop_first_frame = true         # as in 6 of 29 real captures: first 20 ms never sent

    [[fault]]
    at = 2.0
    kind = "drop_ami"               # cut every AMI client ...
    refuse_for = 3.0                # ... and refuse reconnects for 3 s
"""

from __future__ import annotations

import asyncio
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from telephony.emulator.calls import CallOutcome
from telephony.emulator.emulator import AsteriskEmulator

CALL_FAULTS = {None, "malformed_frame", "truncated_frame"}
SCRIPT_FAULTS = {"drop_ami", "ignore_pings", "answer_pings"}


class ScriptError(ValueError):
    """A script that cannot be run; the message names the entry and the problem."""


@dataclass
class ScriptedCall:
    caller: str
    wav: Path | None
    at: float = 0.0
    count: int = 1
    silence_before: float = 0.0
    hold_after: float = 0.0
    dtmf: list[tuple[float, str]] = field(default_factory=list)
    fault: str | None = None
    drop_first_frame: bool = False


@dataclass
class ScriptedFault:
    at: float
    kind: str
    refuse_for: float = 0.0


@dataclass
class Script:
    calls: list[ScriptedCall]
    faults: list[ScriptedFault] = field(default_factory=list)


def load_script(path: Path) -> Script:
    """Read and validate a script; WAV paths are resolved against the script's folder."""
    text = path.read_text(encoding="utf-8")
    try:
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScriptError(f"{path}: not valid {path.suffix[1:] or 'toml'}: {exc}") from exc
    calls = []
    for number, entry in enumerate(raw.get("call", raw.get("calls", [])), start=1):
        where = f"{path}: call #{number}"
        if "caller" not in entry:
            raise ScriptError(f"{where}: 'caller' is required")
        wav = Path(entry["wav"]) if entry.get("wav") else None
        if wav is not None and not wav.is_absolute():
            wav = path.parent / wav
        if wav is not None and not wav.is_file():
            raise ScriptError(f"{where}: WAV file {wav} not found")
        if entry.get("fault") not in CALL_FAULTS:
            raise ScriptError(f"{where}: unknown fault {entry.get('fault')!r}")
        calls.append(
            ScriptedCall(
                caller=str(entry["caller"]),
                wav=wav,
                at=float(entry.get("at", 0.0)),
                count=int(entry.get("count", 1)),
                silence_before=float(entry.get("silence_before", 0.0)),
                hold_after=float(entry.get("hold_after", 0.0)),
                dtmf=[(float(t), str(d)) for t, d in entry.get("dtmf", [])],
                fault=entry.get("fault"),
                drop_first_frame=bool(entry.get("drop_first_frame", False)),
            )
        )
    faults = []
    for number, entry in enumerate(raw.get("fault", raw.get("faults", [])), start=1):
        if entry.get("kind") not in SCRIPT_FAULTS:
            raise ScriptError(f"{path}: fault #{number}: kind must be one of {SCRIPT_FAULTS}")
        faults.append(
            ScriptedFault(
                float(entry.get("at", 0.0)), entry["kind"], float(entry.get("refuse_for", 0))
            )
        )
    return Script(calls, faults)


def _next_number(caller: str, offset: int) -> str:
    """Burst callers get consecutive numbers so each call is distinguishable."""
    if offset == 0 or not caller.isdigit():
        return caller
    return str(int(caller) + offset).zfill(len(caller))


async def run_script(emulator: AsteriskEmulator, script: Script) -> list[CallOutcome]:
    """Play a script against a started emulator; returns every call's outcome."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    linkedids: list[str] = []

    async def place(entry: ScriptedCall) -> None:
        await asyncio.sleep(max(0.0, start + entry.at - loop.time()))
        for offset in range(entry.count):
            linkedids.append(
                await emulator.place_call(
                    _next_number(entry.caller, offset),
                    entry.wav,
                    silence_before_s=entry.silence_before,
                    hold_after_s=entry.hold_after,
                    dtmf=list(entry.dtmf),
                    fault=entry.fault,
                    drop_first_frame=entry.drop_first_frame,
                )
            )

    async def inject(fault: ScriptedFault) -> None:
        await asyncio.sleep(max(0.0, start + fault.at - loop.time()))
        if fault.kind == "drop_ami":
            await emulator.drop_ami_clients(refuse_for=fault.refuse_for)
        else:
            emulator.ami.answer_pings = fault.kind == "answer_pings"

    await asyncio.gather(*(place(c) for c in script.calls), *(inject(f) for f in script.faults))
    return [await emulator.wait_call(linkedid, timeout=3600) for linkedid in linkedids]
