"""Faults on a real Asterisk 22: a killed gateway, a cut AMI link, a wrong secret, a late switch."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
import wave
from pathlib import Path

from dispatch.calls.service import LINK_DOWN_CAUSE_TEXT, get_call
from dispatch.context import AppContext
from tests.conftest import TEST_SECRET
from tests.telephony.asterisk import clip, production_dialplan, queues_with_members, wait_until
from tests.telephony.real_rig import RealRig, TcpProxy, pcm_of
from tests.telephony.test_real_asterisk_production import persisted_call

HELPLINE15 = Path(sys.executable).parent / "helpline15"


async def _gateway_process(rig: RealRig, settings, log: Path) -> asyncio.subprocess.Process:  # type: ignore[no-untyped-def]
    """``helpline15 gateway --no-speech`` as an operator runs it, logging to ``log``."""
    env = os.environ | {
        "AMI_HOST": "127.0.0.1", "AMI_PORT": str(rig.asterisk.ami_port), "AMI_SECRET": "dispatch",
        "AUDIOSOCKET_BIND": rig.asterisk.audiosocket, "REDIS_URL": settings.redis_url,
        "DATABASE_URL": settings.database_url, "SECRET_KEY": TEST_SECRET,
        "RECORDINGS_DIR": str(rig.recordings),
    }
    out = log.open("ab")
    proc = await asyncio.create_subprocess_exec(str(HELPLINE15), "gateway", "--no-speech",
                                                env=env, stdout=out, stderr=out)
    out.close()
    await wait_until(lambda: "AMI ready" in log.read_text(errors="replace"), 60)
    return proc


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 15)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_gateway_sigkilled_mid_call_restarts_ends_the_call_and_keeps_a_valid_wav(
    real_rig: RealRig, ctx: AppContext, settings, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    real_rig.start_asterisk(dialplan=production_dialplan(), queues=queues_with_members())
    first_log, second_log = tmp_path / "gateway-1.log", tmp_path / "gateway-2.log"
    first = await _gateway_process(real_rig, settings, first_log)
    second = None
    try:
        voice = clip("en1_tel8k")
        await real_rig.call("03003330001", play=voice)
        linked = await real_rig.wait_event("call.audiosocket_linked", number="03003330001")
        await asyncio.sleep(2.0)  # two seconds of the caller's words are recorded
        first.kill()  # SIGKILL: no clean-up, no call.ended
        await first.wait()
        await real_rig.wait_event("call.answered", linkedid=linked["linkedid"])
        assert not [k for k, d in await real_rig.events()
                    if k == "call.ended" and d.get("linkedid") == linked["linkedid"]]

        restarted = time.monotonic()
        second = await _gateway_process(real_rig, settings, second_log)
        call_id = await persisted_call(ctx, linked["linkedid"], timeout=30)
        assert time.monotonic() - restarted < 30
        with ctx.sessions() as session:
            call = get_call(session, call_id=call_id)
            assert call.hangup_cause_text == LINK_DOWN_CAUSE_TEXT and call.hangup_cause is None
            assert all(leg.left_at is not None for leg in call.legs)

        # the evidence: a WAV that opens and holds the caller's words, bit-exact
        path = real_rig.recordings / f"{uuid.UUID(linked['audiosocket_uuid'])}.wav"
        with wave.open(str(path)) as wav:
            audio = wav.readframes(wav.getnframes())
        assert len(audio) >= 16000 and audio.strip(b"\0") in pcm_of(voice)
        assert path.stat().st_size == 44 + len(audio)

        # an operator can follow both processes in their logs
        first_text, second_text = first_log.read_text(), second_log.read_text()
        for line in ("AMI link up", "AMI login accepted", "AMI resync:",
                     f"call {linked['linkedid']} from 03003330001: ringing",
                     f"audio is AudioSocket {linked['audiosocket_uuid']}",
                     f"recording to {path}"):
            assert line in first_text, line
        assert "AMI resync: 0 channel(s) live in Asterisk, 0 call(s) live" in second_text
    finally:
        await _stop(first)
        if second is not None:
            await _stop(second)


async def test_a_wrong_ami_secret_is_refused_loudly_and_retried(real_rig: RealRig) -> None:
    real_rig.start_asterisk(dialplan=production_dialplan(), queues=queues_with_members())
    gateway = await real_rig.start_gateway(secret="not-the-secret")
    await wait_until(lambda: gateway.ami.stats.login_failures >= 2, 20)
    assert not gateway.ami.ready.is_set() and gateway.ami.stats.connects == 0
    assert "AMI login refused for user 'dispatch'" in (gateway.ami.last_error or "")
    assert "AMI_SECRET" in (gateway.ami.last_error or "")


async def test_asterisk_started_after_the_gateway_is_found_and_calls_are_tracked(
    real_rig: RealRig,
) -> None:
    gateway = await real_rig.start_gateway()
    await wait_until(lambda: gateway.ami.stats.connect_failures >= 2, 20)
    real_rig.start_asterisk(dialplan=production_dialplan(), queues=queues_with_members())
    await asyncio.wait_for(gateway.ami.ready.wait(), 20)
    await real_rig.call("03007770001", play=clip("en3_tel8k"))
    ended = await real_rig.wait_event("call.ended", number="03007770001", timeout=30)
    assert ended["cause"] is not None and ended["cause_text"] != LINK_DOWN_CAUSE_TEXT


async def test_ami_link_cut_mid_call_resyncs_and_the_call_ends_normally(
    real_rig: RealRig,
) -> None:
    real_rig.start_asterisk(dialplan=production_dialplan(taker_clip=clip("en2_tel8k")),
                            queues=queues_with_members("Local/taker@h15test-calltaker/n"))
    proxy = await TcpProxy(real_rig.asterisk.ami_port).start()
    real_rig.ami_port = proxy.port
    try:
        gateway = await real_rig.start_gateway()
        await asyncio.wait_for(gateway.ami.ready.wait(), 15)
        await real_rig.call("03008880001", context="helpline", play=clip("en1_tel8k"))
        answered = await real_rig.wait_event("call.answered", number="03008880001")
        await wait_until(lambda: len(real_rig.sinks) == 1)
        proxy.cut(refuse_for=1.0)
        resynced = await real_rig.wait_event("call.resynced", linkedid=answered["linkedid"])
        assert resynced["adopted"] is False and resynced["state"] == "answered"
        ended = await real_rig.wait_event("call.ended", linkedid=answered["linkedid"], timeout=30)
        assert ended["cause_text"] != LINK_DOWN_CAUSE_TEXT  # its Hangup was seen, not guessed
        events = await real_rig.events()
        assert [k for k, d in events if k == "call.ended"] == ["call.ended"]
        assert gateway.ami.stats.disconnects + gateway.ami.stats.ping_timeouts >= 1
        (sink,) = real_rig.sinks.values()
        await asyncio.wait_for(sink.done.wait(), 10)
        assert bytes(sink.pcm).strip(b"\0") in pcm_of(clip("en1_tel8k"))  # audio never paused
    finally:
        await proxy.close()
