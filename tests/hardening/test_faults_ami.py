"""Fault: the AMI link is cut mid-call while calls flow into the database.

The emulated Asterisk places six concurrent calls; the gateway publishes their events to
`h15:calls`; the dispatch persister folds them into PostgreSQL. The AMI connection is cut
(and refused for a moment) while every call is up. Afterwards each call is stored exactly once,
ended, with its caller number, and its audio reached the gateway in full.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from dispatch.calls.models import Call
from dispatch.calls.persister import Persister
from dispatch.context import AppContext
from telephony.emulator import read_wav_pcm
from tests.conftest import require_data
from tests.telephony.helpers import PROMPT
from tests.telephony.test_gateway_emulated import Rig

pytestmark = pytest.mark.faults
CALLS = 6


@pytest.fixture
async def rig(redis_url: str, ctx: AppContext) -> AsyncIterator[Rig]:
    rig = Rig(redis_url)
    await rig.start()
    assert rig.gateway is not None
    await asyncio.wait_for(rig.gateway.ami.ready.wait(), 5)
    yield rig
    await rig.stop()


async def test_ami_cut_mid_call_stores_every_call_once(rig: Rig, ctx: AppContext,
                                                       record_property) -> None:  # type: ignore[no-untyped-def]
    pcm = read_wav_pcm(require_data(PROMPT))[:24000]  # 1.5 s each
    linkedids = [await rig.emulator.place_call(f"030012345{i:02d}", pcm=pcm)
                 for i in range(CALLS)]
    for linkedid in linkedids:
        await rig.wait_for_event("call.answered", linkedid)
    await rig.emulator.drop_ami_clients(refuse_for=0.5)
    for linkedid in linkedids:
        await rig.emulator.wait_call(linkedid)
        await rig.wait_for_event("call.ended", linkedid)

    persister = Persister(sessions=ctx.sessions, streams=ctx.events, consumer="hardening")
    for _ in range(20):
        await asyncio.to_thread(persister.poll_once, 200)
        with ctx.sessions() as session:
            calls = list(session.scalars(select(Call)))
        if len(calls) >= CALLS and all(c.state == "ended" for c in calls):
            break
    stored = sorted(c.linkedid for c in calls)
    print(f"ami cut: {CALLS} calls, {len(set(linkedids) - set(stored))} lost, "
          f"{len(stored) - len(set(stored))} doubled")
    record_property("ami_cut_calls_lost", len(set(linkedids) - set(stored)))
    assert stored == sorted(linkedids)
    assert all(c.state == "ended" and c.ended_at is not None for c in calls)
    assert sorted(c.caller_number for c in calls) == [f"030012345{i:02d}" for i in range(CALLS)]
    assert rig.gateway is not None and rig.gateway.ami.stats.disconnects >= 1
    sinks = list(rig.sinks.values())
    for sink in sinks:
        await asyncio.wait_for(sink.done.wait(), 10)
    assert len(sinks) == CALLS and all(bytes(s.pcm) == pcm for s in sinks)
