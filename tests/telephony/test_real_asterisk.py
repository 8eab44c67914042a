"""The gateway against a real Asterisk 22 (the lab bundle), lab context: one call, a burst."""

from __future__ import annotations

import asyncio
import uuid

from tests.telephony.asterisk import clip, production_dialplan, queues_with_members, wait_until
from tests.telephony.real_rig import RealRig, pcm_of, read_wav


async def _ready(rig: RealRig) -> None:
    assert rig.gateway is not None
    await asyncio.wait_for(rig.gateway.ami.ready.wait(), 15)


async def test_lab_single_call_is_tracked_recorded_and_bit_exact(real_rig: RealRig) -> None:
    real_rig.start_asterisk(dialplan=production_dialplan(), queues=queues_with_members())
    await real_rig.start_gateway()
    await _ready(real_rig)
    voice = clip("en1_tel8k")
    await real_rig.call("03001110001", play=voice)
    ended = await real_rig.wait_event("call.ended", number="03001110001")
    linkedid = ended["linkedid"]
    kinds = [k for k, d in await real_rig.events() if d.get("linkedid") == linkedid]
    assert kinds[0] == "call.ringing" and kinds[-1] == "call.ended"
    assert {"call.audiosocket_linked", "call.answered"} <= set(kinds)
    call_uuid = uuid.UUID(ended["audiosocket_uuid"])
    sink = await wait_until(lambda: real_rig.sinks.get(call_uuid))
    await asyncio.wait_for(sink.done.wait(), 10)
    sent, got = pcm_of(voice), bytes(sink.pcm)
    # bit-exact: what arrived is the clip, at most the first frame and last 2.75 ms missing
    assert len(got) > len(sent) - 1000
    assert sent.find(got[:3200]) in (0, 320), "audio does not start at the clip's start"
    assert got in sent
    assert read_wav(real_rig.recordings / f"{call_uuid}.wav") == got
