"""A real Asterisk 22 for the tests: the lab bundle in ``../shared/asterisk`` (beside the data).

Tests run the project's own ``docker/asterisk/extensions.conf`` and ``queues.conf`` with
test-only contexts appended: stand-in callers, call-takers and SHO phones made of Local
channels that answer and play a clip. Calls are placed with AMI ``Originate`` of
``Local/15@<context>``, as the bundle's README describes. Under ``CI=true`` a missing bundle
fails the test; elsewhere it is a skip that says why.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bench import asterisk_lab as lab
from bench.asterisk_lab import DOCKER_ASTERISK, RealAsterisk, free_port, queues_with_members
from tests.conftest import data_dir

__all__ = ["RealAsterisk", "free_port", "queues_with_members"]
SAMPLES = "speech/samples"


def bundle_dir() -> Path:
    """The Asterisk bundle: a sibling of the shared data folder."""
    bundle = lab.bundle_dir()
    if bundle is None:
        message = (f"real Asterisk bundle missing: {data_dir().parent / 'asterisk'}/start "
                   "(it lives beside H15_DATA_DIR)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return bundle


def clip(name: str) -> Path:
    """A spoken clip from ``speech/samples`` without its extension (Playback adds ``.wav``)."""
    from tests.conftest import require_data

    return require_data(f"{SAMPLES}/{name}.wav").with_suffix("")


def stand_in_contexts(*, taker_clip: Path | None = None, sho_clip: Path | None = None,
                      caller_clips: tuple[Path, ...] = ()) -> str:
    """Dialplan appended in tests only: stand-in phones made of Local channels."""
    taker = f" same => n,Playback({taker_clip})\n" if taker_clip else ""
    sho = f" same => n,Playback({sho_clip})\n" if sho_clip else ""
    talk = "".join(f" same => n,Playback({c})\n" for c in caller_clips)
    return f"""
; ---- test-only contexts (tests/telephony/asterisk.py) ----
[h15test-calltaker]
exten => taker,1,Answer()
{taker} same => n,Wait(60)
 same => n,Hangup()
exten => late,1,Wait(2)                 ; the caller hears music on hold meanwhile
 same => n,Answer()
{taker} same => n,Wait(60)
 same => n,Hangup()
exten => leaver,1,Answer()
{taker} same => n,Hangup()

[h15test-sho]
exten => sho,1,Answer()
{sho} same => n,Wait(60)
 same => n,Hangup()
exten => noanswer,1,Wait(60)
 same => n,Hangup()

[h15test-caller]
exten => talk,1,Answer()
{talk} same => n,Wait(8)
 same => n,Hangup()
exten => dtmf,1,Playback(prompt_accident_report_8k_mono_s16)
 same => n,SendDTMF(15#,250)
 same => n,Wait(1)
 same => n,Hangup()
"""


def production_dialplan(**clips) -> str:  # type: ignore[no-untyped-def]
    """The project's extensions.conf plus the test-only contexts."""
    return (DOCKER_ASTERISK / "extensions.conf").read_text() + stand_in_contexts(**clips)


async def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll an (async or plain) predicate until it returns something truthy."""
    async def poll():  # type: ignore[no-untyped-def]
        while True:
            value = predicate()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            await asyncio.sleep(interval)

    return await asyncio.wait_for(poll(), timeout)
