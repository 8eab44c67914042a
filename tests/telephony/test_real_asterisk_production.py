"""The production context ``[helpline]`` on a real Asterisk 22: queue, call-taker and tap."""

from __future__ import annotations

import asyncio
import uuid

from tests.telephony.asterisk import clip, production_dialplan, queues_with_members, wait_until
from tests.telephony.real_rig import RealRig, frames_found, pcm_of, read_wav

TAKER = "Local/late@h15test-calltaker/n"


async def _start(rig: RealRig, *members: str) -> None:
    rig.start_asterisk(dialplan=production_dialplan(taker_clip=clip("en2_tel8k")),
                       queues=queues_with_members(*members))
    gateway = await rig.start_gateway()
    await asyncio.wait_for(gateway.ami.ready.wait(), 15)


async def test_caller_talks_to_a_call_taker_while_the_tap_streams_only_the_caller(
    real_rig: RealRig,
) -> None:
    await _start(real_rig, TAKER)
    voice, taker_voice = clip("en1_tel8k"), clip("en2_tel8k")
    await real_rig.call("03002220001", context="helpline", play=voice)
    ended = await real_rig.wait_event("call.ended", number="03002220001", timeout=30)
    events = await real_rig.events()
    # one call: the tap and the call-taker are legs of it, never calls of their own
    assert {d["linkedid"] for k, d in events if k == "call.ringing"} == {ended["linkedid"]}
    assert {d["linkedid"] for _, d in events} == {ended["linkedid"]}
    legs = {}
    for kind, data in events:
        if kind == "call.leg":
            legs[data["leg"]["channel"].split(";")[0]] = data["leg"]
    roles = sorted(leg["role"] for leg in legs.values())
    assert roles == ["call_taker", "caller", "tap"], legs
    (taker,) = [leg for leg in legs.values() if leg["role"] == "call_taker"]
    assert taker["dial"] == TAKER and taker["left_at"] is not None
    (tap,) = [leg for leg in legs.values() if leg["role"] == "tap"]
    assert tap["channel"].startswith(f"Local/{ended['audiosocket_uuid']}@helpline-tap")
    assert all(leg["left_at"] for leg in legs.values())

    call_uuid = uuid.UUID(ended["audiosocket_uuid"])
    sink = await wait_until(lambda: real_rig.sinks.get(call_uuid))
    await asyncio.wait_for(sink.done.wait(), 10)
    got = bytes(sink.pcm).strip(b"\0")
    sent = pcm_of(voice)
    # everything that arrived is the caller's clip, bit-exact and in order: no music on hold
    # (the caller waited 2 s for the call-taker) and none of the call-taker's words mixed in
    assert len(got) > len(sent) // 2
    assert got in sent
    assert frames_found(bytes(sink.pcm), pcm_of(taker_voice))[0] == 0
    assert read_wav(real_rig.recordings / f"{call_uuid}.wav") == bytes(sink.pcm)
    assert "Channel is not answered" not in real_rig.asterisk.log()
