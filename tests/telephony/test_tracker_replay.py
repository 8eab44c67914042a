"""Replay every real AMI capture through the call tracker and check the calls it reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.ami.tracker import LINK_DOWN_CAUSE_TEXT, CallTracker
from telephony.ami.transcript import read_transcript
from tests.conftest import require_data

CALLER = "03001234567"

# capture -> (AudioSocket UUID from its VarSet, hang-up cause, DTMF digits)
EXPECTED = {
    "single_call.txt": ("7c36a601-2852-466c-b508-85ccb27d5fcc", 0, []),
    "single_call_run2.txt": ("867b1287-ca5c-406a-947c-2a5a5fd60829", 0, []),
    "extra_dtmf.txt": ("e8a9552f-3fd4-422a-9a98-d772b7991833", 16, ["1", "5", "#"]),
    "extra_server_hangup_frame.txt": ("4f3940c8-94b8-4e00-9f46-efbb066f38d5", 16, []),
    "extra_server_sends_audio.txt": ("8e68fc40-9b7e-401f-8669-8ef2e2e0e34f", 0, []),
    "extra_silent_caller.txt": ("45fad5b9-4409-4c7f-ad36-3c78e063d45a", 0, []),
    "extra_silent_caller_server_sends_audio.txt": (
        "2e4ebe3a-17ca-41a4-b677-d55e5d9f7449",
        16,
        [],
    ),
    "fault_no_audiosocket_server.txt": ("79fbfee0-6382-4dd0-9f72-a164aa2af94c", 0, []),
}


def lifecycle(published: list[tuple[str, dict]]) -> list[str]:
    """The call's own events, without its ``call.leg`` events."""
    return [t for t, _ in published if t != "call.leg"]


def replay(path: Path, tracker: CallTracker, client: str | None = None) -> list[tuple[str, dict]]:
    published: list[tuple[str, dict]] = []
    for block in read_transcript(path):
        if block.direction == "RX" and block.get("Event") and client in (None, block.client):
            published += tracker.handle(block.as_dict())
    return published


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capture_yields_one_complete_call(name: str) -> None:
    uuid, cause, digits = EXPECTED[name]
    tracker = CallTracker()
    published = replay(require_data(f"asterisk/ami/{name}"), tracker)

    types = [event_type for event_type, _ in published]
    assert types[0] == "call.ringing"
    assert types[-1] == "call.ended"
    assert types.count("call.answered") == 1
    assert types.count("call.dtmf") == len(digits)
    assert not tracker.active
    (call,) = tracker.ended.values()
    assert call.caller_number == CALLER
    assert call.channel is not None and call.channel.endswith(";1")
    assert call.audiosocket_uuid == uuid
    assert call.cause == cause
    assert call.dtmf == digits
    assert call.ringing_at <= call.answered_at <= call.ended_at
    ended = published[-1][1]
    assert ended["cause"] == cause and ended["audiosocket_uuid"] == uuid
    assert ended["linkedid"] == call.linkedid
    # event ids are unique so a consumer can dedupe replays of the same stream
    assert len({data["event_id"] for _, data in published}) == len(published)


def test_every_capture_is_covered_or_has_no_call() -> None:
    folder = require_data("asterisk/ami")
    for path in sorted(folder.glob("*.txt")):
        tracker = CallTracker()
        replay(path, tracker)
        calls = list(tracker.ended.values()) + list(tracker.active.values())
        if path.name in EXPECTED or path.name.startswith(("fault_reconnect", "panoramisk_single")):
            assert len(calls) == 1, path.name
        else:
            # login faults and the wrong secret carry no call events
            assert calls == [], path.name


def test_panoramisk_capture_yields_the_same_call() -> None:
    tracker = CallTracker()
    published = replay(require_data("asterisk/ami/panoramisk_single_call_events.txt"), tracker)
    assert lifecycle(published) == [
        "call.ringing",
        "call.audiosocket_linked",
        "call.answered",
        "call.ended",
    ]
    (call,) = tracker.ended.values()
    assert call.caller_number == CALLER and call.cause == 0
    # the Local pair is one caller leg: joined after ringing, left before the end
    legs = [(t, d["leg"]) for t, d in published if t == "call.leg"]
    assert [t for t, _ in published].index("call.leg") == 1
    assert [(leg["role"], leg["left_at"] is None) for _, leg in legs] == [
        ("caller", True), ("caller", False)]
    assert published[-2][0] == "call.leg" and legs[0][1]["channel"].endswith(";1")


def _reconnect_blocks():
    path = require_data("asterisk/ami/fault_reconnect_mid_call.txt")
    blocks = [b for b in read_transcript(path) if b.direction == "RX" and b.get("Event")]
    before = [b.as_dict() for b in blocks if b.client == "client-A"]
    listing = [b.as_dict() for b in blocks if b.get("Event") == "CoreShowChannel"]
    after = [
        b.as_dict()
        for b in blocks
        if b.client == "client-B" and b.get("ActionID") is None and b.get("Event") != "Status"
    ]
    return before, listing, after


def test_reconnect_resync_continues_a_live_call_then_sees_its_hangup() -> None:
    before, listing, after = _reconnect_blocks()
    tracker = CallTracker()
    for event in before:
        tracker.handle(event)
    (call,) = tracker.active.values()
    assert call.state == "answered"

    resynced = tracker.resync(listing)
    assert lifecycle(resynced) == ["call.resynced"]
    assert resynced[0][1]["adopted"] is False
    assert call.state == "answered" and set(call.legs) == {"1795318221.6", "1795318221.7"}

    published = [e for event in after for e in tracker.handle(event)]
    assert lifecycle(published) == ["call.ended"]
    assert call.cause == 0


def test_call_that_ended_while_link_was_down_is_closed_as_link_down() -> None:
    before, _, _ = _reconnect_blocks()
    tracker = CallTracker()
    for event in before:
        tracker.handle(event)
    published = tracker.resync([])  # ListItems: 0
    assert [t for t, _ in published] == ["call.leg", "call.ended"]
    assert published[0][1]["leg"]["left_at"] == published[1][1]["at"]
    data = published[1][1]
    assert data["cause"] is None and data["cause_text"] == LINK_DOWN_CAUSE_TEXT
    assert data["caller_number"] == CALLER
    assert not tracker.active


def test_resync_adopts_a_call_first_seen_in_the_listing() -> None:
    _, listing, after = _reconnect_blocks()
    tracker = CallTracker()
    published = tracker.resync(listing)
    types = lifecycle(published)
    assert types == ["call.audiosocket_linked", "call.ringing", "call.answered", "call.resynced"]
    call = tracker.call("1795318221.6")
    assert call is not None
    assert call.caller_number == CALLER
    assert call.audiosocket_uuid == "be67e618-b42a-4175-be8d-bb16a5ff3a33"
    for event in after:
        tracker.handle(event)
    assert call.state == "ended"


def test_late_events_of_an_ended_call_do_not_resurrect_it() -> None:
    tracker = CallTracker()
    path = require_data("asterisk/ami/single_call.txt")
    replay(path, tracker)
    assert replay(path, tracker) == []
    assert len(tracker.ended) == 1 and not tracker.active


def test_resync_does_not_close_a_call_that_began_after_the_link_came_back() -> None:
    before, _, _ = _reconnect_blocks()
    tracker = CallTracker()
    for event in before:
        tracker.handle(event)
    active_before_reconnect = set(tracker.active)
    # a new call's Newchannel arrives between login and the CoreShowChannels reply
    first_newchannel = next(e for e in before if e["Event"] == "Newchannel")
    newcomer = dict(first_newchannel, Linkedid="1795318999.9", Uniqueid="1795318999.9")
    tracker.handle(newcomer)
    published = tracker.resync([], candidates=active_before_reconnect)
    assert lifecycle(published) == ["call.ended"]
    assert published[-1][1]["linkedid"] == "1795318221.6"
    assert "1795318999.9" in tracker.active


def test_a_restarted_gateway_folds_a_live_production_tap_into_its_callers_call() -> None:
    """After a restart the tracker knows no UUID: the tap's ChanSpy names the caller's channel."""
    uuid = "8dc013dd-05d6-4402-8aa6-34fa098bffd5"
    tap = f"Local/{uuid}@helpline-tap-00000001"

    def channel(name: str, uniqueid: str, linkedid: str, app: str, data: str = "") -> dict:
        return {"Event": "CoreShowChannel", "Channel": name, "Uniqueid": uniqueid,
                "Linkedid": linkedid, "Application": app, "ApplicationData": data,
                "ChannelState": "6", "CallerIDNum": CALLER, "Context": "helpline"}

    listing = [
        channel("Local/15@helpline-00000000;1", "10.0", "10.0", "Playback"),
        channel("Local/15@helpline-00000000;2", "10.1", "10.0", "Queue", "calltakers,tT"),
        channel(f"{tap};1", "10.2", "10.2", "ChanSpy", "Local/15@helpline-00000000;2,qEo"),
        channel(f"{tap};2", "10.3", "10.2", "AudioSocket", f"{uuid},127.0.0.1:9092"),
        channel("PJSIP/calltaker01-00000004", "10.4", "10.0", "AppQueue", "(Outgoing Line)"),
    ]
    tracker = CallTracker(contexts={"helpline"})
    published = tracker.resync(listing)
    assert list(tracker.active) == ["10.0"]
    call = tracker.active["10.0"]
    assert call.audiosocket_uuid == uuid and call.caller_number == CALLER
    legs = [d["leg"] for t, d in published if t == "call.leg"]
    assert sorted((leg["role"], leg["channel"].split(";")[0]) for leg in legs) == [
        ("call_taker", "PJSIP/calltaker01-00000004"), ("caller", "Local/15@helpline-00000000"),
        ("tap", tap)]
    # the tap's hang-up (its own Linkedid) is a leg of the call, not an unknown call
    hangups = [dict(c, Event="Hangup", Cause="16") for c in listing]
    ends = [e for event in hangups for e in tracker.handle(event)]
    assert lifecycle(ends) == ["call.ended"] and tracker.unknown_call_events == 0
