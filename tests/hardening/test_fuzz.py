"""Hostile input to the parsers: random, truncated, oversized and binary; never a crash or hang.

Each test runs a hypothesis search inside it and prints how many inputs it tried
(`pytest -s` shows the lines; they are also attached to the test report as properties).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.intake.aml import AmlParseError, parse_aml
from telephony.ami.client import _Manager
from telephony.ami.fastproto import FastAMIProtocol
from telephony.ami.tracker import TRACKED_EVENTS, CallTracker
from telephony.ami.transcript import read_transcript
from telephony.audiosocket import (
    FRAME_BYTES,
    KIND_AUDIO,
    KIND_DTMF,
    KIND_UUID,
    AudioSocketServer,
    encode_frame,
)
from telephony.emulator.ami_server import encode
from tests.conftest import require_data

FAST = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def report(record_property: Callable[[str, object], None], name: str, tried: int,
           crashes: int = 0) -> None:
    print(f"fuzzed {tried} inputs into {name}: {crashes} crashes")
    record_property(f"fuzzed_{name}", tried)


# --- AMI ------------------------------------------------------------------------------------


class _Transport:
    """Where the protocol writes; AMI replies are not under test here."""

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def _ami_protocol(loop: asyncio.AbstractEventLoop, sink: list[dict[str, str]]) -> FastAMIProtocol:
    manager = _Manager(loop=loop)
    manager.fast_events = TRACKED_EVENTS
    tracker = CallTracker()

    def on_event(fields: dict[str, str]) -> None:
        sink.append(fields)
        # AmiClient counts these as bad events; any other exception type is a crash
        with contextlib.suppress(ValueError, KeyError, TypeError):
            tracker.handle(fields)

    manager.on_fast_event = on_event
    protocol = FastAMIProtocol()
    protocol.connection_made(_Transport())
    protocol.factory = manager
    return protocol


def _capture_stream() -> bytes:
    blocks = read_transcript(require_data("asterisk/ami/single_call.txt"))
    received = [b.pairs for b in blocks if b.direction == "RX"]
    return b"Asterisk Call Manager/11.0.0\r\n" + b"".join(encode(p) for p in received)


ami_field = st.tuples(
    st.sampled_from(["Event", "Linkedid", "Uniqueid", "Channel", "CallerIDNum",
                     "ChannelState", "Cause", "Variable", "Value", "Digit", "Timestamp",
                     "ActionID", "Response"]) | st.text(max_size=20),
    st.text(max_size=60) | st.sampled_from(sorted(TRACKED_EVENTS)),
)
ami_message = st.lists(ami_field, min_size=1, max_size=12).map(
    lambda pairs: "".join(f"{k}: {v}\r\n" for k, v in pairs).encode("utf-8", "ignore") + b"\r\n")
ami_input = st.one_of(
    st.binary(max_size=2048),
    st.lists(ami_message, max_size=8).map(b"".join),
    st.builds(lambda m, n: m * n, ami_message, st.integers(1, 200)),  # floods
    st.just(b"Event: Newchannel\r\nLinkedid: " + b"9" * 500_000 + b"\r\n\r\n"),  # oversized
)


def test_ami_parser_survives_hostile_bytes(record_property) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.new_event_loop()
    tried = 0
    try:
        @FAST
        @given(ami_input, st.lists(st.integers(1, 4096), max_size=6))
        def fuzz(data: bytes, cuts: list[int]) -> None:
            nonlocal tried
            tried += 1
            protocol = _ami_protocol(loop, [])
            start = 0
            for size in [*cuts, len(data)]:
                protocol.data_received(data[start:start + size])
                start += size
            protocol.data_received(b"\r\n\r\n")  # whatever is pending must flush safely

        fuzz()
    finally:
        loop.close()
    report(record_property, "ami_parser", tried)
    assert tried >= 300


# The capture's FullyBooted makes panoramisk schedule a coroutine on a loop that never runs.
@pytest.mark.filterwarnings("ignore:coroutine 'Manager.send_awaiting_actions':RuntimeWarning")
def test_ami_capture_parses_the_same_however_it_is_split(record_property) -> None:  # type: ignore[no-untyped-def]
    """TCP may cut a real Asterisk stream anywhere; the events delivered must not change."""
    stream = _capture_stream()
    loop = asyncio.new_event_loop()
    whole: list[dict[str, str]] = []
    _ami_protocol(loop, whole).data_received(stream)
    assert len(whole) >= 10, "the capture should contain the tracked call events"
    tried = 0
    try:
        @FAST
        @given(st.lists(st.integers(0, len(stream)), max_size=30))
        def fuzz(cuts: list[int]) -> None:
            nonlocal tried
            tried += 1
            got: list[dict[str, str]] = []
            protocol = _ami_protocol(loop, got)
            edges = [0, *sorted(cuts), len(stream)]
            for a, b in zip(edges, edges[1:], strict=False):
                protocol.data_received(stream[a:b])
            assert got == whole

        fuzz()
    finally:
        loop.close()
    report(record_property, "ami_capture_splits", tried)


# --- AudioSocket ----------------------------------------------------------------------------

frame = st.one_of(
    st.builds(encode_frame, st.just(KIND_AUDIO), st.binary(max_size=FRAME_BYTES * 2)),
    st.builds(encode_frame, st.just(KIND_DTMF), st.binary(max_size=3)),
    st.builds(encode_frame, st.just(KIND_UUID), st.binary(min_size=15, max_size=17)),
    st.builds(encode_frame, st.integers(0, 255), st.binary(max_size=64)),
    st.binary(max_size=8),  # garbage and truncated headers
)
audiosocket_input = st.one_of(
    st.lists(frame, max_size=20).map(lambda frames: encode_frame(KIND_UUID, uuid.uuid4().bytes)
                                     + b"".join(frames)),
    st.lists(frame, max_size=20).map(b"".join),
    st.binary(max_size=4096),
    st.just(bytes([KIND_AUDIO, 0xFF, 0xFF]) + bytes(1000)),  # declares 64 KiB, sends 1 KB
)


class _Sink:
    def __init__(self) -> None:
        self.closed_reasons: list[str] = []

    async def audio(self, pcm: bytes) -> None:
        pass

    async def dtmf(self, digit: str) -> None:
        pass

    async def closed(self, reason: str) -> None:
        self.closed_reasons.append(reason)


def test_audiosocket_server_survives_hostile_peers(record_property) -> None:  # type: ignore[no-untyped-def]
    """Over real TCP: every hostile connection ends, and the server still takes a good call."""
    loop = asyncio.new_event_loop()
    sinks: list[_Sink] = []

    def on_call(_: uuid.UUID) -> _Sink:
        sinks.append(_Sink())
        return sinks[-1]

    server = AudioSocketServer("127.0.0.1:0", on_call=on_call, send_silence=False)
    loop.run_until_complete(server.start())
    tried = 0

    async def talk(data: bytes) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(data)
        writer.write_eof()
        await asyncio.wait_for(reader.read(), timeout=5)  # the server must close its side
        writer.close()

    try:
        @settings(max_examples=150, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(audiosocket_input)
        def fuzz(data: bytes) -> None:
            nonlocal tried
            tried += 1
            loop.run_until_complete(talk(data))

        fuzz()
        good = (encode_frame(KIND_UUID, uuid.uuid4().bytes)
                + encode_frame(KIND_AUDIO, bytes(FRAME_BYTES)) * 5)
        loop.run_until_complete(talk(good))
        loop.run_until_complete(asyncio.sleep(0.2))
        assert sinks and sinks[-1].closed_reasons == ["eof"]
        stats = server.stats
        assert stats.connections_total == tried + 1
    finally:
        loop.run_until_complete(server.stop())
        loop.close()
    assert server.stats.connections_active == 0
    report(record_property, "audiosocket", tried)


# --- AML ------------------------------------------------------------------------------------

AML_KEYS = ["A\"ML", "lt", "lg", "rd", "top", "lc", "pm", "si", "ei", "mcc", "mnc", "ml"]
aml_field = st.tuples(st.sampled_from(AML_KEYS) | st.text(max_size=6),
                      st.text(max_size=30) | st.from_regex(r"[+-]?\d{1,3}\.\d{1,6}",
                                                           fullmatch=True))
aml_body = st.one_of(
    st.text(max_size=400),
    st.binary(max_size=400).map(lambda b: b.decode("latin-1")),
    st.lists(aml_field, max_size=14).map(lambda fs: ";".join(f"{k}={v}" for k, v in fs)),
    st.builds(lambda n: 'A"ML=1;lt=+31.5;lg=+74.3;rd=' + "9" * n, st.integers(1, 100_000)),
)


def test_aml_parser_never_crashes(record_property) -> None:  # type: ignore[no-untyped-def]
    tried = accepted = 0

    @settings(max_examples=1500, deadline=None, derandomize=True, database=None)
    @given(aml_body)
    def fuzz(body: str) -> None:
        nonlocal tried, accepted
        tried += 1
        try:
            fix = parse_aml(body)
        except AmlParseError as exc:
            assert str(exc)  # a reason a person can read
            return
        accepted += 1
        assert -90 <= fix.lat <= 90 and -180 <= fix.lon <= 180 and fix.radius_m >= 0

    fuzz()
    report(record_property, "aml", tried)
    assert tried >= 1000


@pytest.mark.parametrize("body", [None, 42, b'A"ML=1'])
def test_aml_parser_refuses_non_text_clearly(body: object) -> None:
    with pytest.raises(AmlParseError):
        parse_aml(body)  # type: ignore[arg-type]
