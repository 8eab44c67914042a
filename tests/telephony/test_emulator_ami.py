"""The emulator's AMI output compared with what a real Asterisk 22 sent."""

from __future__ import annotations

import asyncio
import time
import wave
from pathlib import Path

from telephony.ami.transcript import read_transcript
from telephony.audiosocket import AudioSocketServer
from telephony.emulator import AsteriskEmulator
from tests.conftest import require_data
from tests.telephony.helpers import PROMPT, RawAmi, normalise


def capture_messages(name: str, client: str) -> list[list[tuple[str, str]]]:
    blocks = read_transcript(require_data(f"asterisk/ami/{name}"))
    return [b.pairs for b in blocks if b.direction == "RX" and b.client == client]


def capture_actions(name: str, client: str) -> list[list[tuple[str, str]]]:
    blocks = read_transcript(require_data(f"asterisk/ami/{name}"))
    return [b.pairs for b in blocks if b.direction == "TX" and b.client == client]


async def test_single_call_matches_the_capture_field_by_field(tmp_path: Path) -> None:
    prompt = require_data(PROMPT)
    server = AudioSocketServer("127.0.0.1:9092".replace("9092", "0"), recordings_dir=tmp_path)
    await server.start()
    emulator = AsteriskEmulator("127.0.0.1", 0, f"127.0.0.1:{server.port}", default_wav=prompt)
    await emulator.start()
    ami = await RawAmi.connect(emulator.ami_port)
    try:
        login, originate, logoff = capture_actions("single_call.txt", "single")
        ami.send(*login)
        received = await ami.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
        ami.send(*originate)
        received += await ami.read_until(
            lambda m: m.get("Event") == "Hangup" and m.get("Channel", "").endswith(";1")
        )
        ami.send(*logoff)
        received.append(await ami.read())
        assert await ami.closed()
    finally:
        ami.close()
        await emulator.stop()
        await server.stop()

    assert ami.banner == "Asterisk Call Manager/11.0.0"
    expected = normalise(capture_messages("single_call.txt", "single"))
    got = normalise(received)
    assert [dict(m).get("Event") or dict(m).get("Response") for m in got] == [
        dict(m).get("Event") or dict(m).get("Response") for m in expected
    ]
    for index, (mine, real) in enumerate(zip(got, expected, strict=True)):
        # the capture's AudioSocket address is Asterisk's config; ours is the test server's
        real = [(k, v.replace("127.0.0.1:9092", f"127.0.0.1:{server.port}")) for k, v in real]
        assert mine == real, f"message {index} differs"

    # and the audio Asterisk would have streamed arrived bit-exact
    (recording,) = tmp_path.glob("*.wav")
    with wave.open(str(recording)) as got_wav, wave.open(str(prompt)) as prompt_wav:
        assert got_wav.readframes(10**6) == prompt_wav.readframes(10**6)
    real_received = require_data("asterisk/audio/received_via_audiosocket_single_call.wav")
    with wave.open(str(real_received)) as real_wav, wave.open(str(recording)) as got_wav:
        real_pcm = real_wav.readframes(10**6)
        assert got_wav.readframes(10**6).startswith(real_pcm)


async def test_login_faults_behave_like_asterisk() -> None:
    emulator = AsteriskEmulator("127.0.0.1", 0, "127.0.0.1:9", "dispatch", "dispatch")
    await emulator.start()
    watcher = await RawAmi.connect(emulator.ami_port)
    prelogin = await RawAmi.connect(emulator.ami_port)
    badlogin = await RawAmi.connect(emulator.ami_port)
    try:
        watcher.send(
            ("Action", "Login"),
            ("ActionID", "watcher-1"),
            ("Username", "dispatch"),
            ("Secret", "dispatch"),
            ("Events", "on"),
        )
        await watcher.read_until(lambda m: m.get("Event") == "SuccessfulAuth")

        # actions before login: Permission denied, socket stays open
        for pairs in capture_actions("fault_bad_login.txt", "prelogin"):
            prelogin.send(*pairs)
        replies = [await prelogin.read(), await prelogin.read()]
        assert [dict(r) for r in replies] == [
            dict(m) for m in capture_messages("fault_bad_login.txt", "prelogin")
        ]
        assert not await prelogin.closed(timeout=0.5)

        # wrong secret: refused after about 1 s, then Asterisk closes the connection
        (bad,) = capture_actions("fault_bad_login.txt", "badlogin")
        started = time.monotonic()
        badlogin.send(*bad)
        reply = await badlogin.read()
        waited = time.monotonic() - started
        assert reply == capture_messages("fault_bad_login.txt", "badlogin")[0]
        assert waited >= 0.9
        assert await badlogin.closed()

        # the logged-in session saw the security events
        seen = await watcher.read_until(lambda m: m.get("Event") == "InvalidPassword")
        kinds = [dict(m).get("Event") for m in seen]
        assert kinds.count("RequestNotAllowed") == 2
        real = capture_messages("fault_bad_login_seen_by_other_session.txt", "watcher")
        real_keys = {dict(m)["Event"]: [k for k, _ in m] for m in real if "Event" in dict(m)}
        for message in seen:
            name = dict(message)["Event"]
            assert [k for k, _ in message] == real_keys[name], name
    finally:
        for client in (watcher, prelogin, badlogin):
            client.close()
        await emulator.stop()


async def test_resync_lists_have_the_captured_shape() -> None:
    prompt = require_data(PROMPT)
    server = AudioSocketServer("127.0.0.1:0")
    await server.start()
    emulator = AsteriskEmulator("127.0.0.1", 0, f"127.0.0.1:{server.port}", default_wav=prompt)
    await emulator.start()
    ami = await RawAmi.connect(emulator.ami_port)
    try:
        ami.send(
            ("Action", "Login"),
            ("ActionID", "client-B-1"),
            ("Username", "dispatch"),
            ("Secret", "dispatch"),
            ("Events", "off"),
        )
        await ami.read()
        linkedid = await emulator.place_call("03001234567", prompt)
        await asyncio.sleep(0.3)
        ami.send(("Action", "CoreShowChannels"), ("ActionID", "client-B-2"))
        got = await ami.read_until(lambda m: m.get("Event") == "CoreShowChannelsComplete")
        ami.send(("Action", "Status"), ("ActionID", "client-B-3"))
        got += await ami.read_until(lambda m: m.get("Event") == "StatusComplete")
        await emulator.hangup(linkedid)
    finally:
        ami.close()
        await emulator.stop()
        await server.stop()
    real = capture_messages("fault_reconnect_mid_call.txt", "client-B")[3:11]
    assert [[k for k, _ in m] for m in got] == [[k for k, _ in m] for m in real]
    items = [dict(m) for m in got]
    assert items[3]["ListItems"] == "2" and items[3]["EventList"] == "Complete"
    assert items[2]["Application"] == "AudioSocket"
    assert items[2]["ApplicationData"].split(",")[0] == emulator.finished[linkedid].audiosocket_uuid
