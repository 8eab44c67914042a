"""The gateway against a real Asterisk 22 (the lab bundle), lab context: one call, a burst."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

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


CLIPS = [f"{lang}{i}_tel8k" for lang, n in (("en", 5), ("hi", 4), ("ur", 6), ("ko", 3))
         for i in range(1, n + 1)]


async def test_lab_burst_of_twenty_calls_each_recorded_with_only_its_own_audio(
    real_rig: RealRig,
) -> None:
    real_rig.start_asterisk(dialplan=production_dialplan(), queues=queues_with_members())
    await real_rig.start_gateway()
    await _ready(real_rig)
    voices = {f"0300444{i:04d}": clip(CLIPS[i % len(CLIPS)]) for i in range(20)}
    await asyncio.gather(*(real_rig.call(n, play=v) for n, v in voices.items()))
    ended = {n: await real_rig.wait_event("call.ended", number=n, timeout=60) for n in voices}
    assert len({d["linkedid"] for d in ended.values()}) == 20
    assert len({d["audiosocket_uuid"] for d in ended.values()}) == 20
    for number, data in ended.items():
        sink = real_rig.sinks[uuid.UUID(data["audiosocket_uuid"])]
        await asyncio.wait_for(sink.done.wait(), 10)
        got, sent = bytes(sink.pcm), pcm_of(voices[number])
        assert len(got) > len(sent) - 1000 and got in sent, number  # its own words, no others'
        assert read_wav(real_rig.recordings / f"{data['audiosocket_uuid']}.wav") == got
    assert real_rig.gateway is not None
    assert real_rig.gateway.audiosocket.stats.frames_dropped == 0
    assert not real_rig.gateway.tracker.active


async def test_dtmf_reaches_the_stream_in_both_contexts_and_the_sink_in_the_lab(
    real_rig: RealRig,
) -> None:
    real_rig.start_asterisk(dialplan=production_dialplan(),
                            queues=queues_with_members("Local/taker@h15test-calltaker/n"))
    await real_rig.start_gateway()
    await _ready(real_rig)
    await real_rig.call("03005550001", caller_context=("h15test-caller", "dtmf"))
    await real_rig.call("03005550002", context="helpline",
                        caller_context=("h15test-caller", "dtmf"))
    for number in ("03005550001", "03005550002"):
        ended = await real_rig.wait_event("call.ended", number=number, timeout=30)
        digits = [d["digit"] for k, d in await real_rig.events()
                  if k == "call.dtmf" and d["linkedid"] == ended["linkedid"]]
        assert digits == ["1", "5", "#"], number
        if number == "03005550001":  # the lab's AudioSocket carries the digits too
            sink = real_rig.sinks[uuid.UUID(ended["audiosocket_uuid"])]
            await asyncio.wait_for(sink.done.wait(), 10)
            assert sink.digits == ["1", "5", "#"]


async def test_a_silent_caller_is_kept_for_ten_seconds(real_rig: RealRig) -> None:
    """Asterisk drops an AudioSocket idle for 2 s; the gateway's silence frames keep it."""
    real_rig.start_asterisk(dialplan=production_dialplan(), queues=queues_with_members())
    await real_rig.start_gateway()
    await _ready(real_rig)
    await real_rig.call("03006660001", wait_s=10)
    ended = await real_rig.wait_event("call.ended", number="03006660001", timeout=30)
    answered = await real_rig.wait_event("call.answered", number="03006660001")
    held = datetime.fromisoformat(ended["at"]) - datetime.fromisoformat(answered["at"])
    assert held.total_seconds() >= 9.5
    sink = real_rig.sinks[uuid.UUID(ended["audiosocket_uuid"])]
    await asyncio.wait_for(sink.done.wait(), 10)
    # a Wait()ing caller sends no frames at all; the connection lived on our silence frames
    assert sink.reason == "eof"
    assert real_rig.gateway is not None
    assert real_rig.gateway.audiosocket.stats.silence_frames_sent >= 9 * 50
