"""The gateway against the emulated Asterisk, publishing to a real Redis stream."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from telephony.ami.tracker import LINK_DOWN_CAUSE_TEXT
from telephony.emulator import AsteriskEmulator, read_wav_pcm
from telephony.gateway import Gateway
from tests.conftest import require_data
from tests.telephony.helpers import PROMPT, RecordingSink


class Rig:
    """Emulator + gateway + Redis stream, wired the way ``dispatch`` wires them."""

    def __init__(self, redis_url: str, secret: str = "dispatch") -> None:
        self.redis = aioredis.Redis.from_url(redis_url)
        self.sinks: dict[uuid.UUID, RecordingSink] = {}
        self.emulator = AsteriskEmulator("127.0.0.1", 0, "127.0.0.1:0", "dispatch", "dispatch")
        self.secret = secret
        self.gateway: Gateway | None = None

    async def publish(self, stream: str, event_type: str, data: dict) -> str:
        fields = {"type": event_type, "data": json.dumps(data)}
        return (await self.redis.xadd(stream, fields)).decode()

    async def start(self, **gateway_options) -> None:
        await self.emulator.start()
        self.gateway = Gateway(
            ami_host="127.0.0.1",
            ami_port=self.emulator.ami_port,
            ami_username="dispatch",
            ami_secret=self.secret,
            audiosocket_bind="127.0.0.1:0",
            publish=self.publish,
            on_call=lambda call_uuid: self.sinks.setdefault(call_uuid, RecordingSink()),
            **(
                {"ping_interval": 0.5, "ping_timeout": 0.5, "backoff_initial": 0.2}
                | gateway_options
            ),
        )
        await self.gateway.start()
        self.emulator.audiosocket = ("127.0.0.1", self.gateway.audiosocket.port)

    async def events(self) -> list[tuple[str, dict]]:
        entries = await self.redis.xrange("h15:calls")
        return [(f[b"type"].decode(), json.loads(f[b"data"])) for _, f in entries]

    async def wait_for_event(self, event_type: str, linkedid: str, timeout: float = 15.0) -> dict:
        async def poll() -> dict:
            while True:
                for kind, data in await self.events():
                    if kind == event_type and data["linkedid"] == linkedid:
                        return data
                await asyncio.sleep(0.05)

        return await asyncio.wait_for(poll(), timeout)

    async def stop(self) -> None:
        if self.gateway is not None:
            await self.gateway.stop()
        await self.emulator.stop()
        await self.redis.aclose()


@pytest.fixture
async def rig(redis_url: str) -> AsyncIterator[Rig]:
    rig = Rig(redis_url)
    await rig.start()
    assert rig.gateway is not None
    await asyncio.wait_for(rig.gateway.ami.ready.wait(), 5)
    yield rig
    await rig.stop()


async def test_fifty_concurrent_calls_tracked_and_every_byte_in_order(rig: Rig) -> None:
    prompt = read_wav_pcm(require_data(PROMPT))
    # each caller speaks a different 1 s slice, so a crossed stream would be caught
    slices = {f"0300{5550000 + i}": prompt[i * 320 : i * 320 + 16000] for i in range(50)}
    linkedids = {
        number: await rig.emulator.place_call(number, pcm=pcm) for number, pcm in slices.items()
    }
    outcomes = await asyncio.gather(*(rig.emulator.wait_call(lid) for lid in linkedids.values()))
    for number, linkedid in linkedids.items():
        ended = await rig.wait_for_event("call.ended", linkedid)
        assert ended["caller_number"] == number and ended["cause"] == 0
    by_uuid = {o.audiosocket_uuid: o for o in outcomes}
    await asyncio.gather(*(sink.done.wait() for sink in rig.sinks.values()))
    assert len(rig.sinks) == 50
    events = await rig.events()
    for number, linkedid in linkedids.items():
        kinds = [k for k, d in events if d.get("linkedid") == linkedid and k != "call.leg"]
        assert kinds == ["call.ringing", "call.audiosocket_linked", "call.answered", "call.ended"]
        legs = [d["leg"] for k, d in events if d.get("linkedid") == linkedid and k == "call.leg"]
        assert [leg["role"] for leg in legs] == ["caller", "caller"] and legs[1]["left_at"]
        linked = next(
            d for k, d in events if k == "call.audiosocket_linked" and d["linkedid"] == linkedid
        )
        sink = rig.sinks[uuid.UUID(linked["audiosocket_uuid"])]
        assert bytes(sink.pcm) == slices[number], number
        assert sink.reason == "eof"
        assert by_uuid[linked["audiosocket_uuid"]].end == "caller finished"
    assert rig.gateway.audiosocket.stats.frames_dropped == 0


async def test_dtmf_reaches_the_stream_and_the_sink(rig: Rig) -> None:
    pcm = read_wav_pcm(require_data(PROMPT))[:8000]
    linkedid = await rig.emulator.place_call("03001234567", pcm=pcm, dtmf=[(0.1, "1"), (0.2, "5")])
    await rig.emulator.wait_call(linkedid)
    await rig.wait_for_event("call.ended", linkedid)
    digits = [d["digit"] for k, d in await rig.events() if k == "call.dtmf"]
    assert digits == ["1", "5"]
    (sink,) = rig.sinks.values()
    await sink.done.wait()
    assert sink.digits == ["1", "5"] and bytes(sink.pcm) == pcm


async def test_ami_drop_mid_call_resync_continues_the_call(rig: Rig) -> None:
    pcm = read_wav_pcm(require_data(PROMPT))[:32000]  # 2 s
    linkedid = await rig.emulator.place_call("03001234567", pcm=pcm)
    await rig.wait_for_event("call.answered", linkedid)
    await rig.emulator.drop_ami_clients(refuse_for=0.3)
    resynced = await rig.wait_for_event("call.resynced", linkedid)
    assert resynced["state"] == "answered" and resynced["adopted"] is False
    ended = await rig.wait_for_event("call.ended", linkedid)
    assert ended["cause"] == 0  # the real Hangup was seen after the reconnect
    assert rig.gateway.ami.stats.disconnects >= 1 and rig.gateway.ami.stats.connects >= 2


async def test_call_that_ends_while_ami_is_down_is_closed_as_link_down(rig: Rig) -> None:
    pcm = read_wav_pcm(require_data(PROMPT))[:8000]  # 0.5 s
    linkedid = await rig.emulator.place_call("03001234567", pcm=pcm)
    await rig.wait_for_event("call.answered", linkedid)
    drop = asyncio.create_task(rig.emulator.drop_ami_clients(refuse_for=1.5))
    outcome = await rig.emulator.wait_call(linkedid)
    assert outcome.end == "caller finished"
    await drop
    ended = await rig.wait_for_event("call.ended", linkedid)
    assert ended["cause"] is None and ended["cause_text"] == LINK_DOWN_CAUSE_TEXT
    assert ended["caller_number"] == "03001234567"
    # the sink still got the whole call: audio does not depend on AMI
    (sink,) = rig.sinks.values()
    await sink.done.wait()
    assert bytes(sink.pcm) == pcm


async def test_unanswered_pings_force_a_reconnect(rig: Rig) -> None:
    rig.emulator.ami.answer_pings = False
    stats = rig.gateway.ami.stats
    for _ in range(60):
        if stats.ping_timeouts:
            break
        await asyncio.sleep(0.1)
    assert stats.ping_timeouts >= 1
    rig.emulator.ami.answer_pings = True
    for _ in range(60):
        if stats.connects >= 2 and rig.gateway.ami.ready.is_set():
            break
        await asyncio.sleep(0.1)
    assert stats.connects >= 2 and rig.gateway.ami.ready.is_set()


async def test_wrong_secret_is_reported_and_retried_with_backoff(redis_url: str) -> None:
    rig = Rig(redis_url, secret="wrong-secret")
    rig.emulator.ami.auth_fail_delay = 0.2
    await rig.start(backoff_initial=0.1, backoff_max=0.4)
    try:
        await asyncio.sleep(1.5)
        ami = rig.gateway.ami
        assert ami.stats.login_failures >= 2
        assert not ami.ready.is_set() and ami.stats.connects == 0
        assert "login refused for user 'dispatch'" in (ami.last_error or "")
        assert "Authentication failed" in (ami.last_error or "")
    finally:
        await rig.stop()


async def test_originate_replies_are_matched_by_action_id(rig: Rig, tmp_path: Path) -> None:
    rig.emulator.default_wav = require_data(PROMPT)
    numbers = ["03001111111", "03002222222", "03003333333"]
    results = await asyncio.gather(
        *(
            rig.gateway.ami.originate(
                "Local/15@helpline",
                application="Playback",
                data="x",
                caller_id=f'"SHO" <{n}>',
                timeout_s=5,
            )
            for n in numbers
        )
    )
    assert all(r.success and r.reason == "4" for r in results)
    assert len({r.action_id for r in results}) == 3 and len({r.uniqueid for r in results}) == 3
    tracked = {rig.gateway.tracker.call(r.uniqueid).caller_number for r in results}
    assert tracked == set(numbers)
    for result in results:
        await rig.emulator.hangup(result.uniqueid)

    # an SHO's phone: answered, tracked as its own call, hung up with cause 16
    sho = await rig.gateway.ami.originate(
        "PJSIP/sho-cantt", context="helpline", exten="15", caller_id='"H15" <15>', timeout_s=5
    )
    assert sho.success and sho.channel.startswith("PJSIP/sho-cantt-")
    await rig.wait_for_event("call.answered", sho.uniqueid)
    await rig.emulator.hangup(sho.uniqueid)
    assert (await rig.wait_for_event("call.ended", sho.uniqueid))["cause"] == 16

    rig.emulator.unreachable.add("PJSIP/sho-off")
    refused = await rig.gateway.ami.originate("PJSIP/sho-off", context="x", exten="1", timeout_s=5)
    assert not refused.success and refused.reason == "3"
    invalid = await rig.gateway.ami.originate("nowhere", application="Playback", timeout_s=2)
    assert not invalid.success and invalid.message == "Invalid channel"


async def test_run_gateway_entry_point_runs_until_stopped(redis_url: str, tmp_path: Path) -> None:
    """The function ``helpline15 gateway`` calls: records evidence, publishes, stops cleanly."""
    import socket

    from telephony.gateway import run_gateway

    with socket.socket() as probe:  # a free port for AUDIOSOCKET_BIND
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rig = Rig(redis_url)
    await rig.emulator.start()
    rig.emulator.audiosocket = ("127.0.0.1", port)
    stop = asyncio.Event()
    sinks: dict[uuid.UUID, RecordingSink] = {}
    gateway = asyncio.create_task(
        run_gateway(
            ami_host="127.0.0.1",
            ami_port=rig.emulator.ami_port,
            ami_username="dispatch",
            ami_secret="dispatch",
            audiosocket_bind=f"127.0.0.1:{port}",
            publish=rig.publish,
            recordings_dir=tmp_path,
            on_call=lambda u: sinks.setdefault(u, RecordingSink()),
            stop=stop,
        )
    )
    try:
        pcm = read_wav_pcm(require_data(PROMPT))[:8000]
        for _ in range(100):  # until the gateway has logged in
            if any(session.logged_in for session in rig.emulator.ami.sessions):
                break
            await asyncio.sleep(0.05)
        linkedid = await rig.emulator.place_call("03001234567", pcm=pcm)
        ended = await rig.wait_for_event("call.ended", linkedid)
        recording = tmp_path / f"{ended['audiosocket_uuid']}.wav"
        for _ in range(50):
            if recording.exists() and next(iter(sinks.values())).done.is_set():
                break
            await asyncio.sleep(0.05)
        assert read_wav_pcm(recording) == pcm
    finally:
        stop.set()
        await asyncio.wait_for(gateway, 10)
        await rig.stop()
